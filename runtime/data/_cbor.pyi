"""Type stub for the C accelerator (runtime/data/_cbor_*.c); see cbor_pure for the rules."""

from typing import Any

from lexforge.runtime.data.cid import CID

def decode(
    data: bytes | bytearray | memoryview,
    *,
    max_depth: int = 32,
    max_container_len: int = 131072,
    max_key_len: int = 8192,
    require_blessed_cids: bool = False,
) -> Any: ...
def decode_prefix(
    data: bytes | bytearray | memoryview,
    offset: int = 0,
    *,
    max_depth: int = 32,
    max_container_len: int = 131072,
    max_key_len: int = 8192,
    require_blessed_cids: bool = False,
) -> tuple[Any, int]: ...
def encode(
    value: object,
    *,
    max_depth: int = 32,
    max_container_len: int = 131072,
    max_key_len: int = 8192,
) -> bytes: ...
def b32_encode(data: bytes, /) -> str: ...
def b32_decode(text: str, /) -> bytes: ...
def sha256_digest(data: bytes, /, *, portable: bool = False) -> bytes: ...
def sha256_implementation() -> str: ...
def cid_for_cbor(block: bytes, /) -> CID: ...
def cid_for_raw(data: bytes, /) -> CID: ...
def cid_from_bytes(binary: bytes, /) -> CID: ...
def cid_parse_b32(text: str, /) -> CID: ...
def mst_key_layer(key: str | bytes, /) -> int: ...
def mst_key_layers(keys: list[str], /) -> list[int]: ...
def mst_register(node_type: type, /) -> None: ...
def mst_fill(
    node: object,
    block: bytes,
    layer: int | None,
    lo: str | None,
    hi: str | None,
    max_entries: int,
    max_height: int,
    /,
) -> bool: ...
def mst_encode(keys: list[str], vals: list[CID], left: object, rights: list[Any], /) -> bytes: ...
def read_car_slice(data: bytes, max_blocks: int, /) -> tuple[CID, dict[CID, bytes]] | None: ...
def mst_node_cid(node: Any, /) -> CID: ...
def mst_node_block(node: Any, /) -> bytes: ...

class CIDBase:
    """C-level ``__hash__``/``__eq__``/``__ne__`` for ``cid.CID`` (its only subclass)."""

def mst_put(
    root: Any,
    key: str,
    gen: int,
    get_block: Any,
    load: Any,
    max_entries: int,
    max_height: int,
    layer: int,
    value: CID,
    /,
) -> tuple[Any, CID | None]: ...
def mst_delete(
    root: Any,
    key: str,
    gen: int,
    get_block: Any,
    load: Any,
    max_entries: int,
    max_height: int,
    /,
) -> tuple[Any, CID | None]: ...
def mst_new_blocks(root: Any, gen: int, max_entries: int, /) -> dict[CID, bytes] | None: ...
def mst_covering_proof(
    root: Any,
    key: str,
    gen: int,
    get_block: Any,
    load: Any,
    max_entries: int,
    max_height: int,
    /,
) -> list[Any]: ...
def mst_add_covering_proof(
    root: Any,
    key: str,
    gen: int,
    get_block: Any,
    load: Any,
    max_entries: int,
    max_height: int,
    into: dict[CID, bytes],
    /,
) -> None: ...

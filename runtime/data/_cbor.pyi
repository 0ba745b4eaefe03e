"""Type stub for the C accelerator (runtime/data/_cbor.c); see cbor_pure for the rules."""

from typing import Any

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

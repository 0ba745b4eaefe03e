"""Streaming CAR v1 writer.

:class:`CarWriter` writes the header when it is created and each block as soon as
:meth:`CarWriter.write` is called, so a 100k-record repository export never has to be
held in memory. We write only what every reader accepts (the TypeScript reference
assumes 36-byte block CIDs): block CIDs must be CIDv1, SHA-256, dag-cbor or raw codec;
each block is checked against its CID before it is written (a CAR we emit must never
fail someone's verification), and sections are kept within the readers' 8 MiB cap. The
header is canonical DAG-CBOR, ``{"roots": [...], "version": 1}`` in that key order.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from hashlib import sha256
from typing import Protocol

from lexforge.runtime.car.errors import CarBlockMismatchError, CarCidError, CarLimitError
from lexforge.runtime.car.reader import DEFAULT_MAX_SECTION_SIZE
from lexforge.runtime.car.varint import encode_varint
from lexforge.runtime.data import CID, encode

__all__ = ["BinaryWritable", "CarWriter", "write_car"]

_CID_LEN = 36
_PREFIXES = (b"\x01\x71\x12\x20", b"\x01\x55\x12\x20")
# Section lengths below 2^14 fit a two-byte varint: precomputed for the common case.
_SMALL_VARINTS = tuple(encode_varint(n) for n in range(1 << 14))


class BinaryWritable(Protocol):
    """Anything with ``write(bytes)``: files, ``BytesIO``, response bodies."""

    def write(self, data: bytes, /) -> object: ...


def _check_cid(cid: object, what: str) -> CID:
    if not isinstance(cid, CID):
        raise TypeError(f"{what} must be a CID, not {type(cid).__name__}")
    binary = cid.bytes
    if len(binary) != _CID_LEN or binary[:4] not in _PREFIXES:
        raise CarCidError(
            f"{what} {cid} is not a CIDv1 sha2-256 dag-cbor/raw CID; atproto CARs carry only those"
        )
    return cid


def _check_roots(roots: object) -> list[CID]:
    if isinstance(roots, CID) or not isinstance(roots, Sequence):
        raise TypeError(f"roots must be a sequence of CIDs, not {type(roots).__name__}")
    return [_check_cid(root, "root") for root in roots]


class CarWriter:
    """Write a CAR v1 stream: the header now, then one section per :meth:`write` call.

    The writer never closes ``stream``. ``verify=False`` skips re-hashing each block for
    callers that computed the CID from these very bytes a moment ago; everything else
    should leave it on.
    """

    def __init__(
        self,
        stream: BinaryWritable,
        roots: Sequence[CID],
        *,
        verify: bool = True,
        max_section_size: int = DEFAULT_MAX_SECTION_SIZE,
    ) -> None:
        root_list = _check_roots(roots)
        self._stream = stream
        self._verify = verify
        self._max_section_size = max_section_size
        self.blocks_written = 0
        header = encode({"roots": root_list, "version": 1})
        stream.write(encode_varint(len(header)) + header)

    def write(self, cid: CID, data: bytes | bytearray | memoryview) -> None:
        """Append one block. Raises before writing anything if the block is refused."""
        binary = _check_cid(cid, "block CID").bytes
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"block data must be bytes, not {type(data).__name__}")
        length = _CID_LEN + len(data)
        if length > self._max_section_size:
            raise CarLimitError(
                f"block of {len(data)} bytes exceeds the section cap of "
                f"{self._max_section_size} bytes"
            )
        if self._verify and sha256(data).digest() != binary[4:]:
            raise CarBlockMismatchError(f"block bytes do not match CID {cid}")
        prefix = _SMALL_VARINTS[length] if length < 1 << 14 else encode_varint(length)
        self._stream.write(prefix + binary)
        self._stream.write(bytes(data) if not isinstance(data, bytes) else data)
        self.blocks_written += 1


def write_car(
    roots: Sequence[CID],
    blocks: Mapping[CID, bytes] | Iterable[tuple[CID, bytes]],
    *,
    verify: bool = True,
) -> bytes:
    """Build a whole CAR in memory: header with ``roots``, then ``blocks`` in order."""
    out = io.BytesIO()
    writer = CarWriter(out, roots, verify=verify)
    items = blocks.items() if isinstance(blocks, Mapping) else blocks
    for cid, data in items:
        writer.write(cid, data)
    return out.getvalue()

"""Helpers to build CAR files byte by byte, including malformed ones."""

from __future__ import annotations

import hashlib
import io

from lexforge.runtime.car.varint import encode_varint
from lexforge.runtime.data import CID, encode


def block(i: int, size: int = 0) -> tuple[CID, bytes]:
    """A distinct DAG-CBOR block and its CID; ``size`` pads it with a string."""
    data = encode({"i": i, "pad": "x" * size})
    return CID.for_cbor(data), data


def header(roots: list[CID], version: object = 1) -> bytes:
    return encode({"roots": roots, "version": version})


def section(cid_bytes: bytes, data: bytes) -> bytes:
    return encode_varint(len(cid_bytes) + len(data)) + cid_bytes + data


def car_bytes(header_bytes: bytes, *sections: bytes) -> bytes:
    return encode_varint(len(header_bytes)) + header_bytes + b"".join(sections)


def cid_v1(codec: int, hash_code: int, digest: bytes) -> bytes:
    """Binary CIDv1 with arbitrary codec/multihash (for building refused CIDs)."""
    return (
        b"\x01"
        + encode_varint(codec)
        + encode_varint(hash_code)
        + encode_varint(len(digest))
        + digest
    )


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


class RecordingReader(io.RawIOBase):
    """A stream that serves ``data`` in reads of at most ``max_read`` bytes and records
    every request and how much it has handed out."""

    def __init__(self, data: bytes, max_read: int | None = None) -> None:
        self._data = data
        self._pos = 0
        self._max_read = max_read
        self.requests: list[int] = []
        self.served = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        self.requests.append(size)
        if size < 0:
            size = len(self._data) - self._pos
        if self._max_read is not None:
            size = min(size, self._max_read)
        chunk = self._data[self._pos : self._pos + size]
        self._pos += len(chunk)
        self.served += len(chunk)
        return chunk


class RecordingWriter:
    """A sink that keeps every ``write`` call separately."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes, /) -> int:
        self.writes.append(bytes(data))
        return len(data)

    def getvalue(self) -> bytes:
        return b"".join(self.writes)

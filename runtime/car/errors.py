"""Typed errors raised while reading or writing CAR v1 files.

Every problem with an untrusted CAR surfaces as a subclass of :class:`CarError` (itself a
``ValueError``), so a server can map "bad CAR" to a 400 response with one ``except``
clause and never sees a crash, a ``MemoryError`` or a hang from malformed input.
Errors found while reading carry the byte ``offset`` where the offending item starts.
"""

from __future__ import annotations

__all__ = [
    "CarBlockMismatchError",
    "CarCidError",
    "CarError",
    "CarHeaderError",
    "CarLimitError",
    "CarRootsError",
    "CarTruncatedError",
    "CarVarintError",
]


class CarError(ValueError):
    """Base class of every CAR error.

    ``offset`` is the byte position in the CAR stream where the problem was found (the
    start of the varint, header or section concerned), or ``None`` when writing.
    """

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        self.message = message
        self.offset = offset
        super().__init__(message if offset is None else f"{message} (at byte {offset})")


class CarVarintError(CarError):
    """A length prefix is not a minimal unsigned LEB128 varint below 2^63."""


class CarTruncatedError(CarError):
    """The stream ended inside a varint, the header or a block section."""


class CarLimitError(CarError):
    """A declared size or the block count exceeds the reader's caps.

    Raised before any buffer of the declared size is allocated.
    """


class CarHeaderError(CarError):
    """The header is not a DAG-CBOR map with exactly ``version: 1`` and ``roots: [CID...]``."""


class CarRootsError(CarHeaderError):
    """The header's roots do not meet the caller's requirement (exactly one root)."""


class CarCidError(CarError):
    """A block's CID is malformed or not one we accept.

    Accepted block CIDs are CIDv1 with the dag-cbor (0x71) or raw (0x55) codec and a
    32-byte SHA-256 multihash: exactly the 36-byte binary CIDs atproto writes.
    """


class CarBlockMismatchError(CarError):
    """A block's bytes do not hash to the digest in its CID."""

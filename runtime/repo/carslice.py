"""Reading the CAR slices of commit events (and other small, single-root CARs) fast.

A relay reads one slice per ``#commit``: a canonical one-root header and a handful of
blocks, each under a 36-byte CIDv1 sha-256 CID. :func:`read_slice` reads exactly that
shape in one pass over the bytes (each block hashed once; the whole pass is in the C
codec when it is built)
and hands anything else to :func:`lexforge.runtime.car.read_car`, so the result, and
every error (:class:`~lexforge.runtime.car.errors.CarError`), is what ``read_car(data,
require_single_root=True)`` would give; only the common case is faster.
"""

from __future__ import annotations

from collections.abc import Callable
from hashlib import sha256
from typing import Final

from lexforge.runtime.car import read_car
from lexforge.runtime.data import BACKEND, CID
from lexforge.runtime.repo.cids import cid_from_blessed

__all__ = ["DEFAULT_MAX_SLICE_BLOCKS", "read_slice"]

#: Block cap for slices: a 2,000,000-byte slice of blocks of at least ~40 bytes.
DEFAULT_MAX_SLICE_BLOCKS: Final = 50_000

# The canonical header with one root: varint(58) {"roots": [tag42(0x00 ++ cid)], "version": 1}
_HEAD_START: Final = b"\x3a\xa2\x65roots\x81\xd8\x2a\x58\x25\x00"
_HEAD_END: Final = b"\x67version\x01"
_HEAD_LEN: Final = len(_HEAD_START) + 36 + len(_HEAD_END)
_ROOT_AT: Final = len(_HEAD_START)
# CIDv1 dag-cbor / raw, sha2-256, 32-byte digest
_BLESSED_PREFIXES: Final = frozenset((b"\x01\x71\x12\x20", b"\x01\x55\x12\x20"))


def read_slice(
    data: bytes, *, max_blocks: int = DEFAULT_MAX_SLICE_BLOCKS
) -> tuple[CID, dict[CID, bytes]]:
    """``(root, {cid: block})`` of a single-root CAR, every block hash-checked.

    Raises :class:`~lexforge.runtime.car.errors.CarError` for anything ``read_car``
    refuses (more or fewer than one root, a block whose bytes do not match its CID, a
    truncated section, more than ``max_blocks`` blocks, ...).
    """
    fast = _read_plain(data, max_blocks)
    if fast is not None:
        return fast
    roots, blocks = read_car(data, require_single_root=True, max_blocks=max_blocks)
    return roots[0], blocks


def _read_fast(data: bytes, max_blocks: int) -> tuple[CID, dict[CID, bytes]] | None:
    """The slice, or None when it is not the plain shape (the full reader decides).

    The reference for the C codec's ``read_car_slice``, used in its place with the
    pure-Python codec (tests/repo/test_mst_c.py compares the two).
    """
    if type(data) is not bytes or len(data) < _HEAD_LEN:
        return None
    root_bytes = data[_ROOT_AT : _ROOT_AT + 36]
    if (
        not data.startswith(_HEAD_START)
        or not data.startswith(_HEAD_END, _ROOT_AT + 36)
        or root_bytes[:4] not in _BLESSED_PREFIXES
    ):
        return None
    blocks: dict[CID, bytes] = {}
    end_of_data = len(data)
    pos = _HEAD_LEN
    count = 0
    while pos < end_of_data:
        # minimal LEB128 section length, up to three bytes (sections below 2 MiB)
        length = data[pos]
        if length < 0x80:
            pos += 1
        elif pos + 1 < end_of_data and 0 < data[pos + 1] < 0x80:
            length = (length & 0x7F) | (data[pos + 1] << 7)
            pos += 2
        elif pos + 2 < end_of_data and data[pos + 1] >= 0x80 and 0 < data[pos + 2] < 0x80:
            length = (length & 0x7F) | ((data[pos + 1] & 0x7F) << 7) | (data[pos + 2] << 14)
            pos += 3
        else:
            return None
        end = pos + length
        count += 1
        if end > end_of_data or length < 36 or count > max_blocks:
            return None
        cid_end = pos + 36
        if data[pos : pos + 4] not in _BLESSED_PREFIXES:
            return None
        block = data[cid_end:end]
        if sha256(block).digest() != data[pos + 4 : cid_end]:
            return None
        blocks[cid_from_blessed(data[pos:cid_end])] = block
        pos = end
    root = cid_from_blessed(root_bytes)
    return root, blocks


_read_plain: Callable[[bytes, int], tuple[CID, dict[CID, bytes]] | None] = _read_fast
if BACKEND == "c":
    from lexforge.runtime.data import _cbor

    _read_plain = _cbor.read_car_slice

"""CIDs of blocks on the hot paths (MST nodes, commits, CAR slices).

Every write hashes each new MST node and every verified event hashes each block of its
slice, so building the :class:`~lexforge.runtime.data.CID` object matters: the C codec
builds one from its binary form (while decoding a tag-42 link) in about a third of the
time ``CID.for_cbor`` / ``CID.from_bytes`` take in Python. With the pure-Python codec
(``LEXFORGE_CBOR_BACKEND=python``) these fall back to the ``CID`` constructors.
"""

from __future__ import annotations

from collections.abc import Callable
from hashlib import sha256
from typing import Final

from lexforge.runtime.data import BACKEND, CID, decode

__all__ = ["cbor_cid", "cid_from_blessed", "raw_cid"]

#: Tag 42, a 37-byte byte string, the 0x00 multibase prefix: a blessed CID follows.
_LINK_HEAD: Final = b"\xd8\x2a\x58\x25\x00"
_CBOR_HEAD: Final = _LINK_HEAD + b"\x01\x71\x12\x20"
_RAW_HEAD: Final = _LINK_HEAD + b"\x01\x55\x12\x20"


def _cbor_cid_c(block: bytes) -> CID:
    cid: CID = decode(_CBOR_HEAD + sha256(block).digest())
    return cid


def _raw_cid_c(data: bytes) -> CID:
    cid: CID = decode(_RAW_HEAD + sha256(data).digest())
    return cid


def _from_blessed_c(binary: bytes) -> CID:
    cid: CID = decode(_LINK_HEAD + binary)
    return cid


#: ``cbor_cid(block)``: the CIDv1 dag-cbor sha-256 of ``block`` (= ``CID.for_cbor``).
cbor_cid: Callable[[bytes], CID] = CID.for_cbor
#: ``raw_cid(data)``: the CIDv1 raw sha-256 of ``data`` (= ``CID.for_raw``).
raw_cid: Callable[[bytes], CID] = CID.for_raw
#: ``cid_from_blessed(binary)``: the CID of a 36-byte binary CID already known to be
#: v1/sha-256/dag-cbor-or-raw (= ``CID.from_bytes``, which still validates it).
cid_from_blessed: Callable[[bytes], CID] = CID.from_bytes

if BACKEND == "c":
    cbor_cid = _cbor_cid_c
    raw_cid = _raw_cid_c
    cid_from_blessed = _from_blessed_c

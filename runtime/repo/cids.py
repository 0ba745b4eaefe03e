"""CIDs of blocks on the hot paths (MST nodes, commits, CAR slices).

``CID.for_cbor`` / ``for_raw`` / ``from_bytes`` already use the C codec's constructors
(hash and build in one call); these names are those C functions themselves, saving the
classmethod dispatch on paths that run once per block. With the pure-Python codec
(``LEXFORGE_CBOR_BACKEND=python``) they are the ``CID`` constructors.
"""

from __future__ import annotations

from collections.abc import Callable

from lexforge.runtime.data import BACKEND, CID

__all__ = ["cbor_cid", "cid_from_blessed", "raw_cid"]

#: ``cbor_cid(block)``: the CIDv1 dag-cbor sha-256 of ``block`` (= ``CID.for_cbor``).
cbor_cid: Callable[[bytes], CID] = CID.for_cbor
#: ``raw_cid(data)``: the CIDv1 raw sha-256 of ``data`` (= ``CID.for_raw``).
raw_cid: Callable[[bytes], CID] = CID.for_raw
#: ``cid_from_blessed(binary)``: the CID of a 36-byte binary CID already known to be
#: v1/sha-256/dag-cbor-or-raw (= ``CID.from_bytes``, which still validates it).
cid_from_blessed: Callable[[bytes], CID] = CID.from_bytes

if BACKEND == "c":
    from lexforge.runtime.data import _cbor

    cbor_cid = _cbor.cid_for_cbor
    raw_cid = _cbor.cid_for_raw
    cid_from_blessed = _cbor.cid_from_bytes

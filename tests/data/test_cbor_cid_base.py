"""``CID``'s C-level hash and equality (``_cbor.CIDBase``) against its pure methods.

With the accelerator active, ``CID`` inherits ``__hash__``, ``__eq__`` and ``__ne__``
from the C base class; ``cid._cid_hash_py``/``_cid_eq_py``/``_cid_ne_py`` are the
pure-Python definitions used without it. Both must give the same answers for CIDs of
every kind and for comparisons with other types.
"""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.runtime.data import BACKEND, CID, cid

_cbor = pytest.importorskip("lexforge.runtime.data._cbor")

binaries = st.one_of(
    st.binary(min_size=32, max_size=32).map(lambda d: b"\x01\x71\x12\x20" + d),
    st.binary(min_size=32, max_size=32).map(lambda d: b"\x01\x55\x12\x20" + d),
    st.binary(min_size=0, max_size=3).map(lambda d: b"\x01\x55\x00" + bytes([len(d)]) + d),
)
others: Any = st.sampled_from([None, 1, "b", b"\x01\x71\x12\x20", object(), 1.5])


def test_the_c_base_is_in_use() -> None:
    if BACKEND != "c":
        pytest.skip("pure-Python backend")
    assert CID.__mro__[1] is _cbor.CIDBase
    assert "__hash__" not in vars(CID)
    assert "__eq__" not in vars(CID)


@settings(max_examples=300, deadline=None)
@given(a=binaries, b=binaries, other=others)
def test_same_answers(a: bytes, b: bytes, other: object) -> None:
    x, y, x2 = CID.from_bytes(a), CID.from_bytes(b), CID.from_bytes(a)
    for p, q in [(x, y), (x, x2), (y, x), (x, x)]:
        assert (p == q) is cid._cid_eq_py(p, q) is (p.bytes == q.bytes)
        assert (p != q) is cid._cid_ne_py(p, q) is (p.bytes != q.bytes)
    assert hash(x) == cid._cid_hash_py(x) == hash(a) == hash(x2)
    assert cid._cid_eq_py(x, other) is NotImplemented
    assert cid._cid_ne_py(x, other) is NotImplemented
    assert x.__eq__(other) is NotImplemented
    assert x.__ne__(other) is NotImplemented
    assert (x == other) is False
    assert (x != other) is True
    assert len({x, x2, y}) == (1 if a == b else 2)


def test_copies_and_pickles_stay_equal() -> None:
    x = CID.for_cbor(b"\xa0")
    assert pickle.loads(pickle.dumps(x)) == x
    assert copy.deepcopy(x) is x
    assert hash(pickle.loads(pickle.dumps(x))) == hash(x)


def test_the_base_refuses_other_objects() -> None:
    base = _cbor.CIDBase()
    with pytest.raises(TypeError):
        hash(base)
    assert base.__eq__(_cbor.CIDBase()) is NotImplemented
    assert (CID.for_cbor(b"") == base) is False


def test_c_built_cids_are_not_tracked_by_the_collector() -> None:
    """They cannot be in a cycle (bytes, a tuple of ints, a str), so full collections of
    big repos need not walk them."""
    import gc

    for made in (
        _cbor.cid_for_cbor(b"x"),
        _cbor.cid_for_raw(b"x"),
        _cbor.cid_from_bytes(CID.for_cbor(b"y").bytes),
        _cbor.decode(b"\xd8\x2a\x58\x25\x00" + CID.for_cbor(b"z").bytes),
    ):
        assert type(made) is CID
        assert not gc.is_tracked(made)
        str(made)  # caches the text form (a str): still nothing to track
        assert made == CID.parse(str(made))

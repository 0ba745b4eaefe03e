"""Untrusted trees: every malformed node or tree is a typed error, never a crash (R3-R6).

Every test runs twice: with the node checks of the pure-Python reference alone, and with
the C codec's fast path in front of them (what a C build uses).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.runtime.data import BACKEND, CID, encode
from lexforge.runtime.repo import (
    InvalidMstError,
    MissingBlockError,
    MstLimitError,
    MstLimits,
    RepoError,
    Tree,
    decode_node,
    key_layer,
    mst,
)


@pytest.fixture(autouse=True, params=["reference", "c-fast-path"])
def _fill_backend(request: pytest.FixtureRequest) -> Iterator[None]:
    """Run the test with ``mst._fill`` = the reference checks, then the C dispatcher."""
    if request.param == "c-fast-path" and BACKEND != "c":
        pytest.skip("the C codec is not built")
    saved = mst._fill
    mst._fill = mst._fill_py if request.param == "reference" else mst._fill_c
    try:
        yield
    finally:
        mst._fill = saved


LEAF = CID.parse("bafyreie5cvv4h45feadgeuwhbcutmh6t2ceseocckahdoe6uat64zmz454")
RAW = CID.for_raw(b"x")


def keys_at(layer: int, count: int, collection: str = "com.example.record") -> list[str]:
    out = []
    i = 0
    while len(out) < count:
        key = f"{collection}/k{i:06d}"
        if key_layer(key) == layer:
            out.append(key)
        i += 1
    return out


def entry(prev: bytes, key: str, sub: CID | None = None, p: int | None = None) -> dict[str, Any]:
    raw = key.encode()
    if p is None:
        p = 0
        while p < min(len(prev), len(raw)) and prev[p] == raw[p]:
            p += 1
    return {"k": raw[p:], "p": p, "t": sub, "v": LEAF}


def node(keys: list[str], left: CID | None = None, subs: list[CID | None] | None = None) -> bytes:
    entries = []
    prev = b""
    for i, key in enumerate(keys):
        entries.append(entry(prev, key, None if subs is None else subs[i]))
        prev = key.encode()
    return encode({"e": entries, "l": left})


def load_all(root: bytes, *others: bytes, limits: MstLimits | None = None) -> list[str]:
    blocks = {CID.for_cbor(b): b for b in (root, *others)}
    tree = Tree.load(CID.for_cbor(root), blocks.get, limits=limits or MstLimits())
    return [k for k, _ in tree.items()]


def test_valid_leaf_loads() -> None:
    keys = keys_at(0, 3)
    assert load_all(node(keys)) == keys


def test_negative_prefix_length() -> None:
    a, b = keys_at(0, 2)
    block = encode({"e": [entry(b"", a), entry(a.encode(), b, p=-1)], "l": None})
    with pytest.raises(InvalidMstError, match="prefix length"):
        load_all(block)


def test_prefix_longer_than_previous_key() -> None:
    a, _b = keys_at(0, 2)
    block = encode(
        {"e": [entry(b"", a), {"k": b"x", "p": len(a) + 1, "t": None, "v": LEAF}], "l": None}
    )
    with pytest.raises(InvalidMstError, match="prefix length"):
        load_all(block)


def test_first_entry_prefix_must_be_zero() -> None:
    (a,) = keys_at(0, 1)
    with pytest.raises(InvalidMstError):
        load_all(encode({"e": [{"k": a.encode(), "p": 1, "t": None, "v": LEAF}], "l": None}))


def test_unsorted_and_duplicate_keys() -> None:
    a, b = keys_at(0, 2)
    with pytest.raises(InvalidMstError, match="order"):
        load_all(node([b, a]))
    with pytest.raises(InvalidMstError, match="order"):
        load_all(node([a, a]))


def test_wrong_layer_in_node() -> None:
    (hi,) = keys_at(1, 1)
    lo = keys_at(0, 1)
    with pytest.raises(InvalidMstError, match="layer"):
        load_all(node(sorted([hi, *lo])))


def test_subtree_must_be_one_layer_down() -> None:
    (top,) = keys_at(2, 1)
    low = [k for k in keys_at(0, 5) if k < top][:1]
    assert low
    child = node(low)  # layer 0 directly under layer 2: a skipped layer
    root = node([top], left=CID.for_cbor(child))
    with pytest.raises(InvalidMstError, match="layer"):
        load_all(root, child)


def test_keys_outside_their_gap() -> None:
    (top,) = keys_at(1, 1)
    above = [k for k in keys_at(0, 30) if k > top][:1]
    child = node(above)
    root = node([top], left=CID.for_cbor(child))  # left subtree holds a key above `top`
    with pytest.raises(InvalidMstError, match=r"subtree|order"):
        load_all(root, child)


def test_empty_non_root_node() -> None:
    (top,) = keys_at(1, 1)
    empty_leaf = encode({"e": [], "l": None})
    root = node([top], left=CID.for_cbor(empty_leaf))
    with pytest.raises(InvalidMstError, match="empty"):
        load_all(root, empty_leaf)


def test_root_that_only_points_down() -> None:
    leaf = node(keys_at(0, 2))
    root = encode({"e": [], "l": CID.for_cbor(leaf)})
    with pytest.raises(InvalidMstError, match="untrimmed root"):
        load_all(root, leaf)


def test_child_below_layer_zero() -> None:
    leaf = node(keys_at(0, 1))
    other = node(keys_at(0, 2)[1:])
    with pytest.raises(InvalidMstError, match="below layer 0"):
        load_all(encode({"e": decode_entries(leaf), "l": CID.for_cbor(other)}), other)


def decode_entries(block: bytes) -> list[Any]:
    from lexforge.runtime.data import decode

    value = decode(block)
    assert isinstance(value, dict)
    entries = value["e"]
    assert isinstance(entries, list)
    return entries


def test_link_must_be_dag_cbor_sha256() -> None:
    (top,) = keys_at(1, 1)
    with pytest.raises(InvalidMstError, match="dag-cbor"):
        load_all(node([top], left=RAW))


def test_shape_errors() -> None:
    (a,) = keys_at(0, 1)
    bad_blocks = [
        encode([]),
        encode({"e": []}),
        encode({"e": [], "l": None, "x": 1}),
        encode({"e": {}, "l": None}),
        encode({"e": [{"k": a, "p": 0, "t": None, "v": LEAF}], "l": None}),  # text key
        encode({"e": [{"k": a.encode(), "p": 0, "v": LEAF}], "l": None}),  # t missing
        encode({"e": [{"k": a.encode(), "p": True, "t": None, "v": LEAF}], "l": None}),
        encode({"e": [{"k": a.encode(), "p": 0, "t": None, "v": "x"}], "l": None}),
        encode({"e": [{"k": b"\xff/x", "p": 0, "t": None, "v": LEAF}], "l": None}),
        encode({"e": [{"k": b"noslash", "p": 0, "t": None, "v": LEAF}], "l": None}),
        encode({"e": [{"k": b"a/b/c", "p": 0, "t": None, "v": LEAF}], "l": None}),
        b"\xa2",
    ]
    for block in bad_blocks:
        with pytest.raises(InvalidMstError):
            load_all(block)


def test_missing_block() -> None:
    (top,) = keys_at(1, 1)
    root = node([top], left=LEAF)
    blocks = {CID.for_cbor(root): root}
    tree = Tree.load(CID.for_cbor(root), blocks.get)
    with pytest.raises(MissingBlockError):
        list(tree.items())


def test_entries_cap() -> None:
    keys = keys_at(0, 20)
    with pytest.raises(MstLimitError):
        load_all(node(keys), limits=MstLimits(max_entries=10))
    assert load_all(node(keys), limits=MstLimits(max_entries=20)) == keys
    tree = Tree.empty({}.get, limits=MstLimits(max_entries=10))
    for key in keys:
        tree.put(key, LEAF)
    with pytest.raises(MstLimitError):
        tree.check_new_nodes()


def test_height_cap() -> None:
    (top,) = keys_at(2, 1)
    with pytest.raises(MstLimitError):
        load_all(node([top]), limits=MstLimits(max_height=1))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_crash(block: bytes) -> None:
    with contextlib.suppress(InvalidMstError):
        decode_node(block, layer=None)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_valid_nodes_never_crash(data: st.DataObject) -> None:
    keys = keys_at(0, 4)
    block = bytearray(node(keys))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(block) - 1))
        block[i] = data.draw(st.integers(0, 255))
    blocks = {CID.for_cbor(bytes(block)): bytes(block)}
    try:
        tree = Tree.load(CID.for_cbor(bytes(block)), blocks.get)
        list(tree.items())
    except RepoError:
        pass

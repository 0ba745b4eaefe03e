"""The C codec's MST and CAR-slice fast paths against their pure-Python references.

``_cbor.mst_fill`` may accept a node block only when the reference checks
(``mst._fill_py``) accept it, and must then build exactly the node they build; when it
steps aside it must leave the node untouched. For the parameters used here (ASCII bounds,
small integer layers and caps) it must also accept *every* block the reference accepts,
so honest trees always take the fast path. ``mst_encode`` must write the bytes
``encode_parts`` writes (or raise the same error), ``read_car_slice`` must return what
``carslice._read_fast`` returns, and the key layers must match hashlib's.

Inputs: the nodes of random honest trees with their real bounds, the same with
perturbed layers, bounds and caps, byte-level mutations of them, random bytes, and
structurally malformed nodes (wrong prefix lengths, key bytes, link kinds, extra or
missing fields).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lexforge.runtime.car import write_car
from lexforge.runtime.data import BACKEND, CID, encode
from lexforge.runtime.repo import RepoError, keys, mst
from lexforge.runtime.repo.carslice import _read_fast
from lexforge.runtime.repo.mst import MstLimits, Node, Tree
from tests.data.test_cbor_properties import mutate
from tests.repo.helpers import make_repo, random_writes

_cbor = pytest.importorskip("lexforge.runtime.data._cbor")
if BACKEND != "c":
    pytest.skip("the C codec is built but not in use", allow_module_level=True)

LEAF = CID.for_cbor(b"\xa0")
NODE_LINK = CID.for_cbor(b"\x80")
RAW = CID.for_raw(b"raw")
ODD = CID.from_bytes(b"\x01\x80\x01\x12\x21" + bytes(33))  # valid, not blessed
LIMITS = MstLimits()

# -- nodes --------------------------------------------------------------------------------


def _child(node: Node | None) -> tuple[Any, ...] | None:
    if node is None:
        return None
    return (
        node._cid,
        node.layer,
        node.lo,
        node.hi,
        node.keys,
        node.gen,
        node.vals,
        node.rights,
        node.left,
        node._block,
        node._splice,
        node._ents,
    )


def snapshot(node: Node) -> tuple[Any, ...]:
    """Everything observable about a filled (or untouched) node, minus the entry cache."""
    return (
        node.layer,
        node.keys,
        node.vals,
        node._block,
        node.lo,
        node.hi,
        node.gen,
        node._cid,
        node._splice,
        _child(node.left),
        [_child(r) for r in node.rights],
    )


def fresh(lo: str | None, hi: str | None) -> Node:
    node = Node(0, None, None, [], [], 0)
    node.lo = lo
    node.hi = hi
    return node


def reference(
    block: bytes, layer: int | None, lo: str | None, hi: str | None, limits: MstLimits
) -> tuple[Any, ...]:
    node = fresh(lo, hi)
    try:
        mst._fill_py(node, block, layer, lo, hi, limits, keys._key_layers_py)
    except RepoError as exc:
        assert node.keys is None  # a refused block leaves a stub
        return ("error", type(exc), str(exc))
    return ("ok", snapshot(node))


def check_fill(
    block: bytes,
    layer: int | None,
    lo: str | None,
    hi: str | None,
    limits: MstLimits = LIMITS,
) -> bool:
    """Compare the two; returns whether the reference accepted the block."""
    expected = reference(block, layer, lo, hi, limits)
    node = fresh(lo, hi)
    untouched = snapshot(node)
    accepted = _cbor.mst_fill(node, block, layer, lo, hi, limits.max_entries, limits.max_height)
    if accepted:
        assert expected == ("ok", snapshot(node))
        assert node._ents is None
    else:
        assert snapshot(node) == untouched
        assert expected[0] == "error", "the fast path refused a node the reference accepts"
    # through the dispatcher: the same outcome as the reference, whoever decided
    node = fresh(lo, hi)
    try:
        mst._fill_c(node, block, layer, lo, hi, limits)
        got: tuple[Any, ...] = ("ok", snapshot(node))
    except RepoError as exc:
        got = ("error", type(exc), str(exc))
    assert got == expected
    return expected[0] == "ok"


def contexts(tree: Tree) -> list[tuple[bytes, int | None, str | None, str | None]]:
    """``(block, layer, lo, hi)`` of every node, as a loader meets them."""
    out: list[tuple[bytes, int | None, str | None, str | None]] = []

    def walk(node: Node, layer: int | None, lo: str | None, hi: str | None) -> None:
        assert node.keys is not None
        out.append((node.block, layer, lo, hi))
        bounds = [lo, *node.keys, hi]
        for i, child in enumerate([node.left, *node.rights]):
            if child is not None:
                walk(child, node.layer - 1, bounds[i], bounds[i + 1])

    walk(tree.root, None, None, None)
    return out


key_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz234567", min_size=1, max_size=8)
collections = st.sampled_from(["app.bsky.feed.post", "app.bsky.feed.like", "com.example.x"])
paths = st.builds(lambda c, r: f"{c}/{r}", collections, key_names)
mappings = st.dictionaries(paths, st.sampled_from([LEAF, RAW, ODD]), max_size=80)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mapping=mappings)
def test_honest_nodes_take_the_fast_path(mapping: dict[str, CID]) -> None:
    tree = Tree.build(mapping.items(), {}.get)
    for block, layer, lo, hi in contexts(tree):
        assert check_fill(block, layer, lo, hi)
        node = fresh(lo, hi)
        assert _cbor.mst_fill(node, block, layer, lo, hi, 256, 32)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mapping=mappings, seed=st.integers(0, 2**32))
def test_perturbed_context(mapping: dict[str, CID], seed: int) -> None:
    """Right blocks met with the wrong layer, bounds or caps."""
    rnd = random.Random(seed)
    tree = Tree.build(mapping.items(), {}.get)
    all_keys = sorted(mapping)
    for block, layer, lo, hi in contexts(tree):
        if rnd.random() < 0.5:
            layer = rnd.choice([None, 0, 1, 2, 3, (layer or 0) + 1, max((layer or 0) - 1, 0)])
        if rnd.random() < 0.5 and all_keys:
            lo = rnd.choice([None, *all_keys, "a", "app.bsky.feed.post/"])
        if rnd.random() < 0.5 and all_keys:
            hi = rnd.choice([None, *all_keys, "z", "app.bsky.feed.like/zz"])
        limits = LIMITS
        if rnd.random() < 0.3:
            limits = MstLimits(max_entries=rnd.randrange(0, 6), max_height=rnd.randrange(0, 4))
        check_fill(block, layer, lo, hi, limits)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mapping=mappings, seed=st.integers(0, 2**32), rounds=st.integers(1, 4))
def test_mutated_blocks(mapping: dict[str, CID], seed: int, rounds: int) -> None:
    rnd = random.Random(seed)
    tree = Tree.build(mapping.items(), {}.get)
    found = contexts(tree)
    block, layer, lo, hi = found[rnd.randrange(len(found))]
    check_fill(mutate(block, rnd, rounds), layer, lo, hi)


@settings(max_examples=300, deadline=None)
@given(block=st.binary(max_size=200), layer=st.sampled_from([None, 0, 1]))
def test_random_bytes(block: bytes, layer: int | None) -> None:
    check_fill(block, layer, None, None)


prefixes = st.integers(-2, 12)
suffixes = st.binary(max_size=6) | st.sampled_from(
    [b"a/b", b"com.x/y", b"/", b"x", b"\n", b"a/b\nc/d", b"\xff", b"A:~-_.", b"a" * 1030]
)
links = st.sampled_from([None, NODE_LINK, LEAF, RAW, ODD])
scalars = st.sampled_from([None, 0, 1, True, b"", "a/b", [], {}])


@st.composite
def raw_entries(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 19)) == 0:
        return draw(scalars)
    entry: dict[str, Any] = {
        "k": draw(suffixes),
        "p": draw(prefixes),
        "t": draw(links),
        "v": draw(links.filter(lambda x: x is not None)),
    }
    roll = draw(st.integers(0, 19))
    if roll == 0:
        del entry[draw(st.sampled_from(sorted(entry)))]
    elif roll == 1:
        entry[draw(st.sampled_from(["k", "p", "t", "v", "x"]))] = draw(scalars)
    return entry


@st.composite
def raw_nodes(draw: st.DrawFn) -> bytes:
    entries = draw(st.lists(raw_entries(), max_size=6))
    node: dict[str, Any] = {"e": entries, "l": draw(links)}
    roll = draw(st.integers(0, 19))
    if roll == 0:
        node["x"] = 1
    elif roll == 1:
        del node["l"]
    elif roll == 2:
        node["e"] = draw(scalars)
    return encode(node)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    block=raw_nodes(),
    layer=st.sampled_from([None, 0, 1, 2]),
    lo=st.sampled_from([None, "a", "com.x/a", "com.x/y"]),
    hi=st.sampled_from([None, "z", "com.x/b", "com.x/z"]),
)
def test_structurally_malformed_nodes(
    block: bytes, layer: int | None, lo: str | None, hi: str | None
) -> None:
    check_fill(block, layer, lo, hi)


@st.composite
def prefix_nodes(draw: st.DrawFn) -> bytes:
    """Valid key bytes, prefix lengths right or off by a little (canonical prefixes)."""
    keys_ = sorted(draw(st.sets(paths, min_size=1, max_size=6)))
    entries = []
    prev = b""
    for key in keys_:
        raw = key.encode()
        p = 0
        while p < min(len(prev), len(raw)) and prev[p] == raw[p]:
            p += 1
        shift = draw(st.sampled_from([0, 0, 0, -1, 1, -2]))
        q = max(p + shift, 0)
        entries.append({"k": raw[min(q, len(raw)) :], "p": q, "t": None, "v": LEAF})
        prev = raw
    return encode({"e": entries, "l": None})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(block=prefix_nodes(), layer=st.sampled_from([None, 0]))
def test_prefix_lengths(block: bytes, layer: int | None) -> None:
    check_fill(block, layer, None, None)


def test_untrusted_corpus_is_refused_by_the_fast_path() -> None:
    from tests.repo import test_mst_untrusted as corpus

    (a,) = corpus.keys_at(0, 1)
    blocks = [
        encode([]),
        encode({"e": []}),
        encode({"e": [], "l": None, "x": 1}),
        encode({"e": {}, "l": None}),
        encode({"e": [{"k": a, "p": 0, "t": None, "v": LEAF}], "l": None}),
        encode({"e": [{"k": a.encode(), "p": 0, "v": LEAF}], "l": None}),
        encode({"e": [{"k": a.encode(), "p": True, "t": None, "v": LEAF}], "l": None}),
        encode({"e": [{"k": a.encode(), "p": 0, "t": None, "v": "x"}], "l": None}),
        encode({"e": [{"k": b"\xff/x", "p": 0, "t": None, "v": LEAF}], "l": None}),
        encode({"e": [{"k": b"noslash", "p": 0, "t": None, "v": LEAF}], "l": None}),
        encode({"e": [{"k": b"a/b/c", "p": 0, "t": None, "v": LEAF}], "l": None}),
        encode({"e": [{"k": b"a/b", "p": 0, "t": RAW, "v": LEAF}], "l": None}),
        encode({"e": [], "l": RAW}),
        b"\xa2",
        b"",
    ]
    for block in blocks:
        for layer in (None, 0, 1):
            assert not check_fill(block, layer, None, None)
            assert not _cbor.mst_fill(fresh(None, None), block, layer, None, None, 256, 32)


def test_fill_arguments_the_fast_path_leaves_to_the_reference() -> None:
    tree = Tree.build([("com.x/a", LEAF), ("com.x/b", LEAF)], {}.get)
    block = tree.root.block
    assert _cbor.mst_fill(fresh(None, None), block, None, None, None, 256, 32)
    for args in [
        (bytearray(block), None, None, None, 256, 32),
        (block, True, None, None, 256, 32),
        (block, -1, None, None, 256, 32),
        (block, None, "\u00e9", None, 256, 32),
        (block, None, None, b"z", 256, 32),
        (block, None, None, None, -1, 32),
        (block, None, None, None, 256, 2**70),
    ]:
        node = fresh(None, None)
        assert not _cbor.mst_fill(node, *args)
        assert node.keys is None

    class Other:
        pass

    assert not _cbor.mst_fill(Other(), block, None, None, None, 256, 32)
    with pytest.raises(TypeError):
        _cbor.mst_fill(fresh(None, None), block)  # type: ignore[call-arg]


def test_register_refuses_a_class_without_the_slots() -> None:
    class NotANode:
        __slots__ = ("layer",)

    with pytest.raises(TypeError, match="not a __slots__ member"):
        _cbor.mst_register(NotANode)
    with pytest.raises(TypeError):
        _cbor.mst_register(1)  # type: ignore[arg-type]
    # the real class is still the registered one
    tree = Tree.build([("com.x/a", LEAF)], {}.get)
    assert _cbor.mst_fill(fresh(None, None), tree.root.block, None, None, None, 256, 32)


# -- encoding -----------------------------------------------------------------------------


class FakeNode:
    """A link whose ``cid`` property the encoder reads (like a child Node's)."""

    def __init__(self, cid: object) -> None:
        self._cid = cid

    @property
    def cid(self) -> object:
        return self._cid


def encode_outcome(fn: Any, *args: Any) -> tuple[Any, ...]:
    try:
        return ("ok", fn(*args))
    except (TypeError, ValueError) as exc:
        return ("error", type(exc), str(exc), getattr(exc, "path", None))


ascii_keys = st.text(alphabet="abc/.:-_~xyz09", max_size=12)
any_keys = ascii_keys | st.text(max_size=4) | st.sampled_from([1, b"a/b", None])
cid_vals = st.sampled_from([LEAF, RAW, ODD, NODE_LINK])
any_vals = cid_vals | st.sampled_from([None, b"x", "cid"])
link_objs = st.sampled_from([None, NODE_LINK, LEAF, ODD]) | st.builds(
    FakeNode, st.sampled_from([NODE_LINK, RAW, "not a cid"])
)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.tuples(ascii_keys, cid_vals, link_objs), max_size=8),
    link_objs,
)
def test_encode_valid_parts(entries: list[tuple[str, CID, Any]], left: Any) -> None:
    args = ([k for k, _, _ in entries], [v for _, v, _ in entries], left, [r for *_, r in entries])
    assert encode_outcome(_cbor.mst_encode, *args) == encode_outcome(mst.encode_parts, *args)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.tuples(any_keys, any_vals, link_objs), max_size=6),
    link_objs,
    st.integers(0, 9),
)
def test_encode_bad_parts(entries: list[tuple[Any, Any, Any]], left: Any, roll: int) -> None:
    args: list[Any] = [
        [k for k, _, _ in entries],
        [v for _, v, _ in entries],
        left,
        [r for *_, r in entries],
    ]
    if roll == 0 and entries:
        args[1] = args[1][1:]  # lengths differ
    a = encode_outcome(_cbor.mst_encode, *args)
    b = encode_outcome(mst.encode_parts, *args)
    if a[0] == "ok" or b[0] == "ok":
        assert a == b
    else:
        assert a[1] is b[1]
        assert a[2:] == b[2:] or a[1] is TypeError  # type names may be worded differently


def test_encode_matches_every_node_of_a_tree() -> None:
    rnd = random.Random(5)
    items = [(f"com.example.record/{rnd.randrange(10**9):09d}", LEAF) for _ in range(2000)]
    tree = Tree.build(items, {}.get)
    for node in tree.nodes():
        assert node.keys is not None
        block = node.block
        assert _cbor.mst_encode(node.keys, node.vals, node.left, node.rights) == block
        assert mst.encode_parts(node.keys, node.vals, node.left, node.rights) == block


def test_encode_refuses_non_lists() -> None:
    with pytest.raises(TypeError):
        _cbor.mst_encode(("a/b",), [LEAF], None, [None])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _cbor.mst_encode(["a/b"], [LEAF], None)  # type: ignore[call-arg]


# -- key layers ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=20) | st.binary(max_size=20), max_size=10))
def test_key_layers(items: list[str | bytes]) -> None:
    for item in items:
        try:
            expected: object = keys._key_layer_py(item)
        except UnicodeEncodeError:
            expected = UnicodeEncodeError
        try:
            got: object = _cbor.mst_key_layer(item)
        except UnicodeEncodeError:
            got = UnicodeEncodeError
        assert got == expected
    texts = [
        i for i in items if isinstance(i, str) and not any(0xD800 <= ord(c) < 0xE000 for c in i)
    ]
    assert _cbor.mst_key_layers(texts) == keys._key_layers_py(texts)


def test_key_layer_of_an_all_zero_prefix_digest() -> None:
    # keys with deep layers (leading zero bytes) agree too
    deep = [f"k{i}" for i in range(200_000) if keys._key_layer_py(f"k{i}") >= 6]
    assert deep
    assert _cbor.mst_key_layers(deep) == keys._key_layers_py(deep)


def test_key_layer_refuses_other_types() -> None:
    with pytest.raises(TypeError):
        _cbor.mst_key_layer(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _cbor.mst_key_layers(("a",))  # type: ignore[arg-type]


# -- CAR slices ---------------------------------------------------------------------------


def slices() -> list[bytes]:
    repo, _ = make_repo(30)
    rnd = random.Random(7)
    out = []
    for _ in range(12):
        out.append(repo.apply_writes(random_writes(repo, rnd)).car())
    out.append(write_car([LEAF], {LEAF: b"\xa0"}))
    out.append(write_car([RAW], {RAW: b"raw", LEAF: b"\xa0"}))
    out.append(write_car([LEAF], {}))
    return out


SLICES = slices()


def check_slice(data: bytes, max_blocks: int) -> None:
    expected = _read_fast(data, max_blocks)
    got = _cbor.read_car_slice(data, max_blocks)
    assert got == expected
    if got is not None and expected is not None:
        assert list(got[1]) == list(expected[1])  # same order


def test_slices_take_the_fast_path() -> None:
    for data in SLICES:
        assert _cbor.read_car_slice(data, 50_000) is not None
        check_slice(data, 50_000)
        check_slice(data, 2)
        check_slice(data, 0)


@settings(max_examples=500, deadline=None)
@given(
    index=st.integers(0, len(SLICES) - 1),
    seed=st.integers(0, 2**32),
    rounds=st.integers(1, 3),
    max_blocks=st.sampled_from([50_000, 3, 1]),
)
def test_mutated_slices(index: int, seed: int, rounds: int, max_blocks: int) -> None:
    check_slice(mutate(SLICES[index], random.Random(seed), rounds), max_blocks)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=120))
def test_random_slices(data: bytes) -> None:
    check_slice(SLICES[-1][:60] + data, 50_000)
    check_slice(data, 50_000)


def test_slice_arguments() -> None:
    assert _cbor.read_car_slice(bytearray(SLICES[0]), 10) is None  # type: ignore[arg-type]
    assert _cbor.read_car_slice(SLICES[0], -1) is None
    with pytest.raises(TypeError):
        _cbor.read_car_slice(SLICES[0], "10")  # type: ignore[arg-type]


# -- blocks and CIDs of in-memory nodes ------------------------------------------------------


def _dirty_tree(mapping: dict[str, CID], writes: list[tuple[str, CID | None]]) -> Tree:
    """A tree whose new nodes (splices pending, blocks and CIDs unknown) come from writes
    over loaded nodes (so many carry one-link splices)."""
    built = Tree.build(mapping.items(), {}.get)
    blocks = {node.cid: node.block for node in built.nodes()}
    tree = Tree.load(built.root_cid, blocks.get)
    for key, value in writes:
        if value is None:
            tree.delete(key)
        else:
            tree.put(key, value)
    return tree


@contextlib.contextmanager
def python_encoding() -> Iterator[None]:
    """Node blocks and CIDs computed by the pure-Python code alone (entry maps, encode)."""
    saved = mst.encode_node, mst._node_block, mst._node_cid
    mst.encode_node, mst._node_block, mst._node_cid = (
        mst._encode_node_py,
        mst._node_block_py,
        mst._node_cid_py,
    )
    try:
        yield
    finally:
        mst.encode_node, mst._node_block, mst._node_cid = saved


def _state(node: Node) -> tuple[Any, ...]:
    return (node._cid, node._block, node._splice)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mapping=mappings,
    writes=st.lists(st.tuples(paths, st.sampled_from([None, LEAF, RAW, ODD])), max_size=12),
    block_first=st.booleans(),
)
def test_node_cid_and_block_match_the_python_properties(
    mapping: dict[str, CID], writes: list[tuple[str, CID | None]], block_first: bool
) -> None:
    ours = _dirty_tree(mapping, writes)
    theirs = _dirty_tree(mapping, writes)
    new_ours = list(ours.new_nodes())
    new_theirs = list(theirs.new_nodes())
    assert len(new_ours) == len(new_theirs)
    with python_encoding():
        if block_first:
            assert _cbor.mst_node_block(ours.root) == mst._node_block_py(theirs.root)
        assert _cbor.mst_node_cid(ours.root) == mst._node_cid_py(theirs.root)
    for a, b in zip(new_ours, new_theirs, strict=True):
        if b._cid is None:  # the Python property leaves unreached nodes alone too
            assert a._cid is None
            continue
        assert _state(a) == _state(b)
        assert a._splice is None


def test_node_cid_errors() -> None:
    stub = Node.stub(LEAF, 0, None, None)
    stub._cid = None
    with pytest.raises(RuntimeError, match="stub"):
        _cbor.mst_node_cid(stub)
    with pytest.raises(RuntimeError, match="stub"):
        _cbor.mst_node_block(stub)
    with pytest.raises(TypeError):
        _cbor.mst_node_cid(FakeNode(LEAF))
    with pytest.raises(TypeError):
        _cbor.mst_node_block(LEAF)
    node = Node(0, None, ["com.x/a"], [LEAF], [FakeNode(LEAF)], 0)  # type: ignore[list-item]
    with pytest.raises(TypeError):
        _cbor.mst_node_cid(node)
    node = Node(0, None, ["com.x/a"], [LEAF], [None], 0)
    node._splice = (b"x", LEAF, "not a link")  # type: ignore[assignment]
    with pytest.raises(TypeError):
        _cbor.mst_node_cid(node)
    assert node._splice is None
    assert node._cid is None


def test_splice_applies_only_to_a_single_occurrence() -> None:
    node = Node(1, None, ["com.x/a", "com.x/b"], [LEAF, LEAF], [None, None], 0)
    twice = mst._encode_node_py(
        Node(1, None, ["com.x/a", "com.x/b"], [LEAF, LEAF], [None, None], 0)
    )
    node._splice = (twice, LEAF, RAW)  # LEAF occurs twice: the splice must not apply
    reference = Node(1, None, ["com.x/a", "com.x/b"], [LEAF, LEAF], [None, None], 0)
    reference._splice = (twice, LEAF, RAW)
    assert _cbor.mst_node_block(node) == mst._node_block_py(reference) == twice


# -- writes ---------------------------------------------------------------------------------


@contextlib.contextmanager
def python_writes() -> Iterator[None]:
    """Tree.put/delete through the Python methods alone."""
    saved = mst._mst_put, mst._mst_delete
    mst._mst_put = mst._mst_delete = None
    try:
        yield
    finally:
        mst._mst_put, mst._mst_delete = saved


def structure(tree: Tree) -> list[Any]:
    """Every loaded node, pre-order: what it holds and how it is linked."""
    out: list[Any] = []
    gen = tree.generation

    def walk(node: Node | None) -> None:
        if node is None:
            out.append(None)
            return
        if node.keys is None:
            out.append(("stub", node._cid, node.layer, node.lo, node.hi))
            return
        splice = node._splice
        out.append(
            (
                node.layer,
                node.keys,
                node.vals,
                node.gen == gen,
                node.gen == 0,
                node._cid,
                node._block,
                None if splice is None else (splice[0], splice[1]),
            )
        )
        walk(node.left)
        for right in node.rights:
            walk(right)

    walk(tree.root)
    return out


def run_writes(
    tree: Tree, writes: list[tuple[str, CID | None]]
) -> tuple[list[Any], list[Any], Any, CID | None]:
    answers: list[Any] = []
    for key, value in writes:
        before = tree.root
        try:
            answers.append(tree.delete(key) if value is None else tree.put(key, value))
        except RepoError as exc:
            answers.append((type(exc), str(exc)))
            assert tree.root is before  # a failed write leaves the tree alone
    shape = structure(tree)
    try:
        root: CID | None = tree.root_cid
    except RuntimeError:  # a root that is still a stub (every write failed on it)
        root = None
    return answers, shape, [n.cid for n in tree.new_nodes()], root


write_lists = st.lists(
    st.tuples(
        paths | st.sampled_from(["app.bsky.feed.post/" + "z" * 40, "a/b", "zzz/zzz"]),
        st.sampled_from([None, None, LEAF, RAW, ODD]),
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mapping=mappings,
    writes=write_lists,
    mode=st.sampled_from(["built", "loaded", "partial", "corrupt"]),
    seed=st.integers(0, 2**32),
)
def test_writes_match_the_python_methods(
    mapping: dict[str, CID], writes: list[tuple[str, CID | None]], mode: str, seed: int
) -> None:
    """Same answers, same nodes (and splices), same root, same errors with bad trees."""
    rnd = random.Random(seed)
    built = Tree.build(mapping.items(), {}.get)
    blocks = {node.cid: node.block for node in built.nodes()}
    if mode == "partial" and len(blocks) > 1:
        for cid in rnd.sample(
            sorted(blocks, key=lambda c: c.bytes), k=rnd.randint(1, len(blocks) - 1)
        ):
            if cid != built.root_cid:
                del blocks[cid]
    if mode == "corrupt" and len(blocks) > 1:
        cid = rnd.choice([c for c in blocks if c != built.root_cid])
        blocks[cid] = mutate(blocks[cid], rnd, 2)

    def make() -> Tree:
        if mode == "built":
            return Tree.build(mapping.items(), {}.get)
        return Tree.load(built.root_cid, dict(blocks).get)

    ours = run_writes(make(), writes)
    with python_writes():
        theirs = run_writes(make(), writes)
    assert ours == theirs


def test_writes_through_a_getter_that_is_not_a_dict() -> None:
    built = Tree.build([(f"com.x/k{i:04d}", LEAF) for i in range(300)], {}.get)
    blocks = {node.cid: node.block for node in built.nodes()}
    calls: list[CID] = []

    def getter(cid: CID) -> bytes | None:
        calls.append(cid)
        return blocks.get(cid)

    ours = Tree.load(built.root_cid, getter)
    with python_writes():
        theirs = Tree.load(built.root_cid, blocks.get)
        for tree in (theirs,):
            tree.put("com.x/k0100x", RAW)
            tree.delete("com.x/k0200")
    ours.put("com.x/k0100x", RAW)
    ours.delete("com.x/k0200")
    assert calls
    assert ours.root_cid == theirs.root_cid
    assert structure(ours) == structure(theirs)


def test_write_arguments() -> None:
    tree = Tree.build([("com.x/a", LEAF)], {}.get)
    args = (tree.root, "com.x/b", tree.generation, {}.get, tree._load, 256, 32)
    with pytest.raises(TypeError):
        _cbor.mst_delete(*args[:-1])  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        _cbor.mst_delete(LEAF, *args[1:])
    with pytest.raises(TypeError):
        _cbor.mst_put(*args, "x", LEAF)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _cbor.mst_put(*args, 0, "not a cid")  # type: ignore[arg-type]
    odd = Node(0, None, ["com.x/a"], [LEAF], [], 0)  # lists of different lengths
    with pytest.raises(TypeError):
        _cbor.mst_delete(odd, *args[1:])
    assert _cbor.mst_delete(*args) == (tree.root, None)


def test_many_writes_on_a_deep_tree() -> None:
    rnd = random.Random(11)
    keys_ = [f"app.bsky.feed.post/3k{rnd.randrange(10**12):012d}" for _ in range(3000)]
    built = Tree.build([(k, LEAF) for k in keys_], {}.get)
    blocks = {node.cid: node.block for node in built.nodes()}
    writes: list[tuple[str, CID | None]] = []
    for _ in range(400):
        roll = rnd.random()
        if roll < 0.4:
            writes.append((rnd.choice(keys_), None))
        elif roll < 0.7:
            writes.append((rnd.choice(keys_), rnd.choice([RAW, ODD])))
        else:
            writes.append((f"app.bsky.feed.post/3z{rnd.randrange(10**12):012d}", RAW))
    ours = run_writes(Tree.load(built.root_cid, blocks.get), writes)
    with python_writes():
        theirs = run_writes(Tree.load(built.root_cid, blocks.get), writes)
    assert ours == theirs
    assert built.root.layer >= 4


@contextlib.contextmanager
def python_walks() -> Iterator[None]:
    """new_blocks / covering_proof / add_covering_proof through the Python code alone."""
    names = ("_mst_new_blocks", "_mst_covering_proof", "_mst_add_covering_proof")
    saved = [getattr(mst, name) for name in names]
    for name in names:
        setattr(mst, name, None)
    try:
        yield
    finally:
        for name, value in zip(names, saved, strict=True):
            setattr(mst, name, value)


def walk_outcome(fn: Any) -> tuple[Any, ...]:
    try:
        return ("ok", fn())
    except RepoError as exc:
        return ("error", type(exc), str(exc))


@st.composite
def walk_cases(draw: st.DrawFn) -> tuple[Any, ...]:
    return (
        draw(mappings),
        draw(write_lists),
        draw(st.lists(paths, max_size=6)),
        draw(st.booleans()),
        draw(st.sampled_from([256, 3])),
        draw(st.integers(0, 2**32)),
    )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=walk_cases())
def test_walks_match_the_python_code(case: tuple[Any, ...]) -> None:
    mapping, writes, probes, partial, cap, seed = case
    rnd = random.Random(seed)
    built = Tree.build(mapping.items(), {}.get)
    blocks = {node.cid: node.block for node in built.nodes()}
    if partial:
        for cid in [c for c in blocks if c != built.root_cid and rnd.random() < 0.3]:
            del blocks[cid]
    probes = probes + [k for k, _ in writes[:3]] + sorted(mapping)[:3]

    def run() -> list[Any]:
        # the cap applies to what the tree creates; loading uses the default caps
        tree = Tree.load(built.root_cid, dict(blocks).get)
        tree.limits = MstLimits(max_entries=cap)
        for key, value in writes:
            with contextlib.suppress(RepoError):
                tree.delete(key) if value is None else tree.put(key, value)
        out: list[Any] = [walk_outcome(tree.new_blocks)]
        for key in probes:
            out.append(walk_outcome(lambda k=key: [n.cid for n in tree.covering_proof(k)]))
            into: dict[CID, bytes] = {}
            out.append(walk_outcome(lambda k=key, d=into: tree.add_covering_proof(k, d)))
            out.append(list(into.items()))  # what was added, in order, even after an error
        return out

    ours = run()
    with python_walks():
        theirs = run()
    assert ours == theirs


def test_walk_arguments() -> None:
    tree = Tree.build([("com.x/a", LEAF)], {}.get)
    with pytest.raises(TypeError):
        _cbor.mst_new_blocks(LEAF, 1, 256)
    with pytest.raises(TypeError):
        _cbor.mst_new_blocks(tree.root, "1", 256)  # type: ignore[arg-type]
    args = (tree.root, "com.x/a", tree.generation, {}.get, tree._load, 256, 32)
    with pytest.raises(TypeError):
        _cbor.mst_add_covering_proof(*args, [])  # type: ignore[arg-type]
    assert _cbor.mst_covering_proof(*args) == [tree.root]
    assert _cbor.mst_new_blocks(tree.root, tree.generation, 0) is None
    assert _cbor.mst_new_blocks(tree.root, tree.generation + 1, 256) == {}


def test_unusual_caps_are_left_to_the_python_code() -> None:
    built = Tree.build([(f"com.x/k{i:04d}", LEAF) for i in range(200)], {}.get)
    blocks = {node.cid: node.block for node in built.nodes()}
    for limits in (MstLimits(max_entries=-1), MstLimits(max_height=-1)):
        results = []
        for writes in (contextlib.nullcontext(), python_writes()):
            tree = Tree.load(built.root_cid, blocks.get)
            tree.limits = limits
            with writes:
                results.append(walk_outcome(lambda t=tree: t.delete("com.x/k0100")))
                results.append(walk_outcome(lambda t=tree: t.put("com.x/k0100x", RAW)))
                results.append(walk_outcome(tree.new_blocks))
        assert results[:3] == results[3:]
        assert any(r[0] == "error" for r in results)
    assert _cbor.mst_new_blocks(built.root, built.generation, -1) is None


def test_half_built_nodes_are_refused_not_crashed_on() -> None:
    tree = Tree.build([("com.x/a", LEAF), ("com.x/b", LEAF)], {}.get)
    args = (tree.generation, {}.get, tree._load, 256, 32)
    for missing in ("layer", "left", "keys", "vals", "rights", "_block"):
        node = Node(0, None, ["com.x/a"], [LEAF], [None], 0)
        delattr(node, missing)
        with pytest.raises((TypeError, AttributeError)):
            _cbor.mst_delete(node, "com.x/a", *args)
        with pytest.raises((TypeError, AttributeError)):
            _cbor.mst_put(node, "com.x/c", *args, 0, LEAF)
        with pytest.raises((TypeError, AttributeError, RuntimeError)):
            _cbor.mst_covering_proof(node, "com.x/a", *args)
        if missing not in {"_block", "layer"}:  # (encoding needs neither)
            with pytest.raises((TypeError, AttributeError, RuntimeError)):
                _cbor.mst_node_cid(node)

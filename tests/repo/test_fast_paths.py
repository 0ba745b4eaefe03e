"""The hot-path shortcuts give exactly what the plain definitions give.

Node encodings reuse cached entry maps and splice one changed link into the old block;
covering proofs come from one descent; CAR slices are read by a one-pass reader; CIDs
are built by the C codec; TID timestamps are read without a ``Tid``. Each is checked
here against the slow, obvious computation, including the cases where a shortcut must
step aside (a CID occurring twice in a block, unusual CARs).
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.runtime.car import CarError, read_car, write_car
from lexforge.runtime.data import CID, encode
from lexforge.runtime.repo import InvalidMstError, Node, Tree, key_layer
from lexforge.runtime.repo.carslice import read_slice
from lexforge.runtime.repo.cids import cbor_cid, cid_from_blessed, raw_cid
from lexforge.runtime.repo.fastsyntax import tid_timestamp_us
from lexforge.runtime.syntax import Tid, TidClock
from tests.repo.helpers import make_repo, random_writes

VALUES = [CID.for_cbor(bytes([0x60 + i])) for i in range(4)]
rkeys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz234567", min_size=1, max_size=6)
paths = st.builds(lambda c, r: f"com.example.{c}/{r}", st.sampled_from(["a", "b", "post"]), rkeys)
mappings = st.dictionaries(paths, st.sampled_from(VALUES), max_size=60)


def reference_block(node: Node) -> bytes:
    """The node's encoding computed from scratch (no cached maps, no splicing)."""
    assert node.keys is not None
    entries = []
    prev = b""
    for key, val, right in zip(node.keys, node.vals, node.rights, strict=True):
        raw = key.encode()
        p = 0
        while p < min(len(prev), len(raw)) and prev[p] == raw[p]:
            p += 1
        entries.append({"k": raw[p:], "p": p, "t": None if right is None else right.cid, "v": val})
        prev = raw
    return encode({"e": entries, "l": None if node.left is None else node.left.cid})


def stored(tree: Tree) -> dict[CID, bytes]:
    return {node.cid: node.block for node in tree.nodes()}


@settings(max_examples=200, deadline=None)
@given(
    mappings,
    st.lists(st.tuples(paths, st.sampled_from([None, *VALUES])), max_size=25),
    st.sampled_from(["reload", "commit", "batch"]),
)
def test_derived_nodes_encode_like_fresh_ones(
    mapping: dict[str, CID], writes: list[tuple[str, CID | None]], mode: str
) -> None:
    """Every node a write creates encodes to what a from-scratch encoding gives.

    ``reload``: each write starts from decoded nodes (they carry their entry maps);
    ``commit``: each write is a new generation over in-memory nodes, bulk-built ones
    first (they carry none); ``batch``: all writes in one generation, so later writes
    derive nodes from new ones not encoded yet.
    """
    built = Tree.build(mapping.items(), {}.get)
    blocks = stored(built)
    tree = Tree.load(built.root_cid, blocks.get) if mode == "reload" else built.copy()
    expected = dict(mapping)
    for key, value in writes:
        if mode == "commit":
            tree = tree.copy()
        if value is None:
            assert tree.delete(key) == expected.pop(key, None)
        else:
            assert tree.put(key, value) == expected.get(key)
            expected[key] = value
        if mode != "batch":
            for node in tree.new_nodes():
                assert node.block == reference_block(node)
            blocks.update(tree.new_blocks())
        if mode == "reload":
            tree = Tree.load(tree.root_cid, blocks.get)
    for node in tree.new_nodes():
        assert node.block == reference_block(node)
    assert tree.root_cid == Tree.build(expected.items(), {}.get).root_cid


def keys_at(layer: int, count: int, start: int = 0) -> list[str]:
    out = []
    i = start
    while len(out) < count:
        key = f"com.example.record/k{i:06d}"
        if key_layer(key) == layer:
            out.append(key)
        i += 1
    return out


def test_splice_steps_aside_when_the_old_cid_occurs_twice() -> None:
    # a layer-1 key whose *value* is the CID of the left subtree: replacing the subtree
    # must not also rewrite the value
    (top,) = keys_at(1, 1, start=5000)
    low = [k for k in keys_at(0, 40) if k < top][:3]
    assert len(low) == 3
    leaf = Tree.build([(k, VALUES[0]) for k in low[:2]], {}.get)
    leaf_cid = leaf.root_cid
    items = [*((k, VALUES[0]) for k in low[:2]), (top, leaf_cid)]
    built = Tree.build(items, {}.get)
    assert built.root.left is not None
    assert built.root.left.cid == leaf_cid
    assert built.root.block.count(leaf_cid.bytes) == 2
    tree = Tree.load(built.root_cid, stored(built).get)
    tree.put(low[2], VALUES[1])
    assert tree.root.block == reference_block(tree.root)
    assert tree.root.vals == [leaf_cid]
    assert tree.root_cid == Tree.build([*items, (low[2], VALUES[1])], {}.get).root_cid
    # an update whose old value also occurs as a link: same
    tree = Tree.load(built.root_cid, stored(built).get)
    assert tree.put(top, VALUES[2]) == leaf_cid
    assert tree.root.block == reference_block(tree.root)


def test_non_canonical_prefix_length_is_rejected() -> None:
    a, b = keys_at(0, 2)
    common = 0
    while a[common] == b[common]:
        common += 1
    assert common > 1
    short = common - 1  # a valid range, but not the whole shared prefix
    entries = [
        {"k": a.encode(), "p": 0, "t": None, "v": VALUES[0]},
        {"k": b.encode()[short:], "p": short, "t": None, "v": VALUES[0]},
    ]
    block = encode({"e": entries, "l": None})
    with pytest.raises(InvalidMstError, match="prefix length"):
        Tree.load(CID.for_cbor(block), {CID.for_cbor(block): block}.get)


@settings(max_examples=150, deadline=None)
@given(mappings, paths)
def test_covering_proof_is_the_paths_to_the_key_and_its_neighbours(
    mapping: dict[str, CID], key: str
) -> None:
    tree = Tree.build(mapping.items(), {}.get)
    tree = Tree.load(tree.root_cid, stored(tree).get)
    for probe in {key, *list(mapping)[:3]}:
        expected = {n.cid for n in tree.path(probe)}
        for other in tree.neighbours(probe):
            if other is not None:
                expected |= {n.cid for n in tree.path(other)}
        proof = [n.cid for n in tree.covering_proof(probe)]
        assert len(proof) == len(set(proof))
        assert set(proof) == expected


def test_cid_helpers_match_the_constructors() -> None:
    rnd = random.Random(3)
    for size in (0, 1, 55, 1000):
        data = rnd.randbytes(size)
        assert cbor_cid(data) == CID.for_cbor(data)
        assert raw_cid(data) == CID.for_raw(data)
        for cid in (CID.for_cbor(data), CID.for_raw(data)):
            again = cid_from_blessed(cid.bytes)
            assert again == cid
            assert str(again) == str(cid)
            assert type(again) is CID


def test_tid_timestamp() -> None:
    clock = TidClock()
    samples = [clock.next() for _ in range(200)]
    samples += ["2222222222222", "3kaaaaaaaaa22", "jzzzzzzzzzzzz", "7777777777777"]
    for tid in samples:
        assert tid_timestamp_us(tid) == Tid(tid).timestamp_us


# -- CAR slices -------------------------------------------------------------------------


def slices() -> list[bytes]:
    rnd = random.Random(11)
    repo, _ = make_repo(150)
    out = [repo.apply_writes(random_writes(repo, rnd)).car() for _ in range(15)]
    # a slice with a block over 16 KiB (a three-byte section length)
    big: dict[str, Any] = {"$type": "x", "blob": rnd.randbytes(40_000)}
    from lexforge.runtime.repo import Create

    out.append(repo.apply_writes([Create("app.bsky.feed.post", "big", big)]).car())
    return out


SLICES = slices()


def outcome(fn: Any, data: bytes) -> Any:
    try:
        root, blocks = fn(data)
    except CarError as exc:
        return type(exc)
    return root, blocks


def via_read_car(data: bytes) -> tuple[CID, dict[CID, bytes]]:
    roots, blocks = read_car(data, require_single_root=True)
    return roots[0], blocks


def test_read_slice_reads_what_read_car_reads() -> None:
    for data in SLICES:
        root, blocks = read_slice(data)
        assert (root, blocks) == via_read_car(data)
        assert all(type(c) is CID for c in blocks)


def test_read_slice_unusual_cars_go_to_the_full_reader() -> None:
    root, blocks = via_read_car(SLICES[0])
    first = next(iter(blocks))
    cases = [
        write_car([root, first], blocks),  # two roots
        write_car([], blocks),  # no root
        SLICES[0][:-1],  # truncated
        SLICES[0] + b"\x00",  # an empty section
        SLICES[0] + b"\x80\x00",  # a non-minimal section length
        write_car([root], blocks, verify=False)[:-1] + b"\x00",  # last byte changed
        b"",
    ]
    for data in cases:
        assert outcome(read_slice, data) == outcome(via_read_car, data)
        assert isinstance(outcome(read_slice, data), type)
    # duplicates and a raw block are fine, as for read_car
    dup = write_car([root], blocks) + write_car([root], blocks)[59:]
    raw = CID.for_raw(b"blob")
    with_raw = write_car([root], {**blocks, raw: b"blob"})
    for data in (dup, with_raw):
        assert outcome(read_slice, data) == outcome(via_read_car, data)
    with pytest.raises(CarError):
        read_slice(SLICES[0], max_blocks=2)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_read_slice_agrees_with_read_car_on_mutations(data: st.DataObject) -> None:
    car = bytearray(data.draw(st.sampled_from(SLICES)))
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(car) - 1))
        car[i] ^= data.draw(st.integers(1, 255))
    assert outcome(read_slice, bytes(car)) == outcome(via_read_car, bytes(car))


def test_keys_are_checked_one_by_one_despite_the_joined_match() -> None:
    """Keys are matched joined by newlines: a key holding a newline must not pass as two."""
    bad_keys = [
        b"com.example.record/a\ncom.example.record/b",  # two valid keys' worth in one
        b"com.example.record/a\n",
        b"\ncom.example.record/a",
        b"com.example.record/" + b"x" * 1006,  # 1025 bytes
        "com.example.record/é".encode(),
    ]
    first = b"com.example.record/0"  # sorts before every bad key but the third
    for raw in bad_keys:
        block = encode({"e": [{"k": raw, "p": 0, "t": None, "v": VALUES[0]}], "l": None})
        with pytest.raises(InvalidMstError, match=r"repo path|ASCII"):
            Tree.load(CID.for_cbor(block), {CID.for_cbor(block): block}.get)
        # also as the second key of a node, prefix-compressed against the first
        p = 0
        while p < min(len(first), len(raw)) and first[p] == raw[p]:
            p += 1
        entries = [
            {"k": first, "p": 0, "t": None, "v": VALUES[0]},
            {"k": raw[p:], "p": p, "t": None, "v": VALUES[0]},
        ]
        block = encode({"e": entries, "l": None})
        with pytest.raises(InvalidMstError):
            Tree.load(CID.for_cbor(block), {CID.for_cbor(block): block}.get)
    longest = "com.example.record/" + "x" * (1024 - 19)
    assert len(longest) == 1024
    block = encode({"e": [{"k": longest.encode(), "p": 0, "t": None, "v": VALUES[0]}], "l": None})
    tree = Tree.load(CID.for_cbor(block), {CID.for_cbor(block): block}.get)
    assert [k for k, _ in tree.items()] == [longest]


def test_bulk_key_layers_match_key_layer() -> None:
    import json
    from pathlib import Path

    from lexforge.runtime.repo import clear_layer_cache
    from lexforge.runtime.repo.keys import key_layer_uncached, key_layers, key_layers_cached

    vectors = json.loads(
        (Path(__file__).parent.parent / "vectors/mst/key_heights.json").read_text()
    )
    keys = [case["key"] for case in vectors] + [f"com.example.record/k{i}" for i in range(3000)]
    expected = {case["key"]: case["height"] for case in vectors}
    clear_layer_cache()
    cold = key_layers_cached(keys)  # every key missing from the cache
    warm = key_layers_cached(keys)  # every key cached now
    assert cold == warm == key_layers(keys) == [key_layer_uncached(k) for k in keys]
    clear_layer_cache()
    assert [key_layer(k) for k in keys] == cold
    for key, layer in zip(keys, cold, strict=True):
        if key in expected:
            assert layer == expected[key], key
    assert max(cold) >= 4  # the vectors reach high layers


def test_fast_record_key_check_agrees_with_the_syntax_package() -> None:
    from pathlib import Path

    from lexforge.runtime.repo.fastsyntax import fast_is_record_key
    from lexforge.runtime.syntax import is_valid_record_key

    class Sub(str):
        pass

    vectors = Path(__file__).parent.parent / "vectors" / "syntax"
    samples: list[object] = [None, 5, b"abc", "", ".", "..", "...", "a" * 512, "a" * 513]
    samples += [Sub("abc"), Sub("."), Sub("a/b")]
    for name in ("recordkey_syntax_valid.txt", "recordkey_syntax_invalid.txt"):
        lines = (vectors / name).read_text(encoding="utf-8").splitlines()
        samples += [line for line in lines if line and not line.startswith("#")]
    assert len(samples) > 30
    for sample in samples:
        assert fast_is_record_key(sample) == is_valid_record_key(sample), sample


def test_fast_constructors_build_what_the_dataclasses_build() -> None:
    from lexforge.runtime.repo import commit as commit_module
    from lexforge.runtime.repo import repo as repo_module
    from lexforge.runtime.repo.fastinit import slot_setters
    from lexforge.runtime.repo.ops import RecordOp

    data = CID.for_cbor(b"\xa0")
    args = ("did:plc:x", "3kabc", data, b"sig", None, 3)
    made = commit_module._make_commit(*args)
    assert made == commit_module.Commit(*args[:4], prev=None, version=3)
    assert made.to_block() == commit_module.Commit(*args[:4]).to_block()
    op = repo_module._make_op("update", "a/b", data, data)
    assert op == RecordOp("update", "a/b", data, data)
    assert repo_module._make_op("create", "a/b", data) == RecordOp("create", "a/b", data)
    diff = repo_module._make_diff(made, data, None, data, (op,), {data: b"x"})
    assert diff == repo_module.CommitDiff(made, data, None, data, (op,), {data: b"x"})
    # every field, in order, or refused
    with pytest.raises(TypeError):
        slot_setters(RecordOp, "action", "path", "cid")
    with pytest.raises(TypeError):
        slot_setters(RecordOp, "path", "action", "cid", "prev")

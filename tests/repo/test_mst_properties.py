"""Hypothesis properties: the tree is a pure function of its contents."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.runtime.data import CID
from lexforge.runtime.repo import Tree, decode_node

VALUES = [CID.for_cbor(bytes([0x60 + i])) for i in range(4)]  # CIDs of tiny blocks
rkeys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz234567", min_size=1, max_size=6)
paths = st.builds(lambda c, r: f"com.example.{c}/{r}", st.sampled_from(["a", "b", "post"]), rkeys)
mappings = st.dictionaries(paths, st.sampled_from(VALUES), max_size=60)


@settings(max_examples=150, deadline=None)
@given(mappings, st.randoms(use_true_random=False))
def test_root_depends_only_on_contents(mapping: dict[str, CID], rnd: object) -> None:
    import random

    assert isinstance(rnd, random.Random)
    items = list(mapping.items())
    expected = Tree.build(items, {}.get).root_cid
    tree = Tree.empty({}.get)
    rnd.shuffle(items)
    # insert with detours: some keys first get a different value, some extra keys come and go
    for i, (key, value) in enumerate(items):
        if i % 3 == 0:
            tree.put(key, VALUES[(VALUES.index(value) + 1) % 4])
        tree.put(key, value)
        if i % 4 == 0 and key + "x" not in mapping:  # a detour key, not a real one
            tree.put(key + "x", value)
    for i, (key, _) in enumerate(items):
        if i % 4 == 0 and key + "x" not in mapping:
            assert tree.delete(key + "x") is not None
    assert tree.root_cid == expected
    assert dict(tree.items()) == mapping


@settings(max_examples=150, deadline=None)
@given(mappings, paths, st.sampled_from(VALUES))
def test_insert_then_delete_restores_root(mapping: dict[str, CID], key: str, value: CID) -> None:
    mapping.pop(key, None)
    tree = Tree.build(mapping.items(), {}.get)
    before = tree.root_cid
    assert tree.put(key, value) is None
    assert tree.get(key) == value
    assert tree.delete(key) == value
    assert tree.root_cid == before
    assert tree.delete(key) is None


@settings(max_examples=100, deadline=None)
@given(mappings)
def test_node_round_trip(mapping: dict[str, CID]) -> None:
    tree = Tree.build(mapping.items(), {}.get)
    blocks = {}
    for node in tree.nodes():
        blocks[node.cid] = node.block
        again = decode_node(node.block, layer=None if node is tree.root else node.layer)
        assert again.keys == node.keys
        assert again.vals == node.vals
        assert [None if c is None else c.cid for c in again.rights] == [
            None if c is None else c.cid for c in node.rights
        ]
        assert (again.left and again.left.cid) == (node.left and node.left.cid)
        assert again.block == node.block
    loaded = Tree.load(tree.root_cid, blocks.get)
    assert dict(loaded.items()) == mapping
    # a loaded tree accepts further writes and matches a fresh build
    for key in list(mapping)[::2]:
        loaded.delete(key)
        del mapping[key]
    assert loaded.root_cid == Tree.build(mapping.items(), {}.get).root_cid

"""MST interop vectors (atproto-interop-tests mst/) and the reference root CIDs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lexforge.runtime.data import CID
from lexforge.runtime.repo import EMPTY_ROOT_CID, Tree, common_prefix_length, key_layer

VECTORS = Path(__file__).parent.parent / "vectors" / "mst"
LEAF = CID.parse("bafyreie5cvv4h45feadgeuwhbcutmh6t2ceseocckahdoe6uat64zmz454")


@pytest.mark.parametrize("case", json.loads((VECTORS / "key_heights.json").read_text()))
def test_key_heights(case: dict[str, object]) -> None:
    key = case["key"]
    assert isinstance(key, str)
    assert key_layer(key) == case["height"]
    assert key_layer(key.encode()) == case["height"]


@pytest.mark.parametrize("case", json.loads((VECTORS / "common_prefix.json").read_text()))
def test_common_prefix(case: dict[str, str]) -> None:
    left, right = case["left"].encode(), case["right"].encode()
    assert common_prefix_length(left, right) == case["len"]


def example_keys() -> list[str]:
    return (VECTORS / "example_keys.txt").read_text().split()


def test_example_keys_layers() -> None:
    keys = example_keys()
    assert len(keys) == 156
    for key in keys:
        assert key_layer(key) == int(key[1]), key


def test_example_keys_tree_order_independent() -> None:
    keys = example_keys()
    built = Tree.build([(k, LEAF) for k in keys], {}.get)
    incremental = Tree.empty({}.get)
    for key in reversed(keys):
        incremental.put(key, LEAF)
    assert built.root_cid == incremental.root_cid
    assert built.root.layer == max(int(k[1]) for k in keys)
    blocks = {node.cid: node.block for node in built.nodes()}
    loaded = Tree.load(built.root_cid, blocks.get)
    assert [k for k, _ in loaded.items()] == sorted(keys)


# Root CIDs pinned by the reference implementation's tests (packages/repo/tests/mst.test.ts).
KNOWN_ROOTS = [
    ([], "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"),
    (["3jqfcqzm3fo2j"], "bafyreibj4lsc3aqnrvphp5xmrnfoorvru4wynt6lwidqbm2623a6tatzdu"),
    (["3jqfcqzm3fx2j"], "bafyreih7wfei65pxzhauoibu3ls7jgmkju4bspy4t2ha2qdjnzqvoy33ai"),
    (
        ["3jqfcqzm3fp2j", "3jqfcqzm3fr2j", "3jqfcqzm3fs2j", "3jqfcqzm3ft2j", "3jqfcqzm4fc2j"],
        "bafyreicmahysq4n6wfuxo522m6dpiy7z7qzym3dzs756t5n7nfdgccwq7m",
    ),
    (
        ["3jqfcqzm3ft2j", "3jqfcqzm3fz2j", "3jqfcqzm3fx2j"],
        "bafyreiavxaxdz7o7rbvr3zg2liox2yww46t7g6hkehx4i4h3lwudly7dhy",
    ),
]


@pytest.mark.parametrize(("rkeys", "expected"), KNOWN_ROOTS)
def test_known_roots(rkeys: list[str], expected: str) -> None:
    items = [(f"com.example.record/{k}", LEAF) for k in rkeys]
    assert str(Tree.build(items, {}.get).root_cid) == expected
    tree = Tree.empty({}.get)
    for key, value in items:
        tree.put(key, value)
    assert str(tree.root_cid) == expected


def test_empty_root() -> None:
    assert Tree.empty({}.get).root_cid == EMPTY_ROOT_CID
    assert Tree.empty({}.get).root.block == bytes.fromhex("a2616580616cf6")


def test_layer_two_root_has_intermediate_empty_nodes() -> None:
    # One layer-2 key over a layer-0 key: the root must point through an empty layer-1 node.
    items = [("com.example.record/3jqfcqzm3fx2j", LEAF), ("com.example.record/3jqfcqzm3fo2j", LEAF)]
    assert [key_layer(k) for k, _ in items] == [2, 0]
    tree = Tree.build(items, {}.get)
    left = tree.root.left
    assert left is not None
    assert left.layer == 1
    assert left.keys == []
    assert left.left is not None
    assert left.left.layer == 0

"""The Merkle Search Tree: a deterministic, content-addressed sorted map path -> CID.

Nodes are immutable once their CID has been computed, so trees share structure freely:
a write copies only the nodes on its path (copy-on-write) and the previous root stays a
valid tree. Each node remembers the *generation* that created it, which lets a commit
list exactly the nodes it added without diffing whole trees.

Children are loaded lazily from a block getter. Every node that is loaded is checked as
untrusted input (:func:`decode_node`): the node's own shape, its keys' layers, their
order against the bounds inherited from the parent, prefix lengths, and the caps in
:class:`MstLimits`. A complete walk therefore verifies a whole tree, and partial trees
(CAR slices) are verified as far as they are used; a missing block raises
:class:`~.errors.MissingBlockError`.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from lexforge.runtime.data import CID, DataModelError, decode, encode
from lexforge.runtime.repo.errors import (
    InvalidMstError,
    MissingBlockError,
    MstLimitError,
)
from lexforge.runtime.repo.keys import is_valid_key, key_layer

__all__ = [
    "DEFAULT_LIMITS",
    "EMPTY_ROOT_CID",
    "BlockGetter",
    "MstLimits",
    "Node",
    "Tree",
    "blocks_of",
    "decode_node",
    "encode_node",
    "is_node_cid",
]

#: Returns a block's bytes, or None when the block is not available.
BlockGetter = Callable[[CID], bytes | None]

_NODE_PREFIX: Final = b"\x01\x71\x12\x20"
_generations = itertools.count(1)


@dataclass(frozen=True, slots=True)
class MstLimits:
    """Caps on untrusted trees, far above honest repos (1M keys: <= 41 entries, height 9-10)."""

    max_entries: int = 256
    max_height: int = 32


DEFAULT_LIMITS: Final = MstLimits()

#: Root CID of the empty repo (``{"e": [], "l": null}``).
EMPTY_ROOT_CID: Final = CID.parse("bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm")


def is_node_cid(cid: object) -> bool:
    """Whether ``cid`` is a CIDv1 dag-cbor sha-256 link (the only kind allowed between nodes)."""
    return isinstance(cid, CID) and len(cid.bytes) == 36 and cid.bytes.startswith(_NODE_PREFIX)


class Node:
    """One MST node at ``layer``: left subtree, then sorted entries (key, value, right subtree).

    A *stub* (``keys is None``) is a child known only by CID, loaded on first use within
    the key bounds ``lo < key < hi`` its parent implies.
    """

    __slots__ = ("_block", "_cid", "gen", "hi", "keys", "layer", "left", "lo", "rights", "vals")

    def __init__(  # noqa: PLR0917 - hot constructor, positional on purpose
        self,
        layer: int,
        left: Node | None,
        keys: list[str] | None,
        vals: list[CID],
        rights: list[Node | None],
        gen: int,
    ) -> None:
        self.layer = layer
        self.left = left
        self.keys = keys
        self.vals = vals
        self.rights = rights
        self.gen = gen
        self._cid: CID | None = None
        self._block: bytes | None = None
        self.lo: str | None = None
        self.hi: str | None = None

    @classmethod
    def stub(cls, cid: CID, layer: int, lo: str | None, hi: str | None) -> Node:
        node = cls(layer, None, None, [], [], 0)
        node._cid = cid
        node.lo = lo
        node.hi = hi
        return node

    @property
    def is_empty(self) -> bool:
        """No entries and no left subtree (only legal as the root of an empty repo)."""
        return not self.keys and self.left is None

    @property
    def block(self) -> bytes:
        """The canonical DAG-CBOR encoding (computed once)."""
        if self._block is None:
            if self.keys is None:
                raise RuntimeError("a stub node has no block until it is loaded")
            self._block = encode_node(self)
        return self._block

    @property
    def cid(self) -> CID:
        if self._cid is None:
            self._cid = CID.for_cbor(self.block)
        return self._cid

    def child(self, i: int) -> Node | None:
        """The subtree in gap ``i`` (0 = left of the first entry)."""
        return self.left if i == 0 else self.rights[i - 1]

    def __repr__(self) -> str:
        if self.keys is None:
            return f"<Node stub layer={self.layer} {self._cid}>"
        return f"<Node layer={self.layer} entries={len(self.keys)}>"


def encode_node(node: Node) -> bytes:
    """The node's canonical block: ``{"e": [{"k","p","t","v"}...], "l"}``, prefixes node-local."""
    keys = node.keys
    assert keys is not None
    entries = []
    prev = b""
    for key, val, right in zip(keys, node.vals, node.rights, strict=True):
        raw = key.encode("ascii")
        # common prefix via XOR of the big-endian integers: the highest differing bit
        # marks the first differing byte (one C-level operation instead of a char loop)
        n = min(len(prev), len(raw))
        diff = int.from_bytes(prev[:n], "big") ^ int.from_bytes(raw[:n], "big")
        p = n if not diff else n - 1 - (diff.bit_length() - 1) // 8
        entries.append({"k": raw[p:], "p": p, "t": None if right is None else right.cid, "v": val})
        prev = raw
    return encode({"e": entries, "l": None if node.left is None else node.left.cid})


def _bad(msg: str) -> InvalidMstError:
    return InvalidMstError(msg)


def decode_node(
    block: bytes,
    *,
    layer: int | None,
    lo: str | None = None,
    hi: str | None = None,
    limits: MstLimits = DEFAULT_LIMITS,
    gen: int = 0,
) -> Node:
    """Decode and check one untrusted node block.

    ``layer`` is the layer the parent implies (``None`` for the root, whose layer is that
    of its keys); ``lo``/``hi`` are exclusive bounds on its keys. Children become stubs
    carrying their own bounds. Raises :class:`InvalidMstError` on any violation.
    """
    try:
        obj = decode(block)
    except DataModelError as exc:
        raise _bad(f"MST node is not canonical DAG-CBOR: {exc}") from None
    if not isinstance(obj, dict) or obj.keys() != {"e", "l"}:
        raise _bad("MST node must be a map with exactly the keys 'e' and 'l'")
    raw_entries = obj["e"]
    left_cid = obj["l"]
    if not isinstance(raw_entries, list):
        raise _bad("MST node 'e' is not a list")
    if len(raw_entries) > limits.max_entries:
        raise MstLimitError(f"MST node has {len(raw_entries)} entries (cap {limits.max_entries})")
    if left_cid is not None and not is_node_cid(left_cid):
        raise _bad("MST node 'l' is not null or a dag-cbor sha-256 CID")
    keys: list[str] = []
    vals: list[CID] = []
    right_cids: list[CID | None] = []
    prev = b""
    prev_key = lo
    for entry in raw_entries:
        if type(entry) is not dict or len(entry) != 4:
            raise _bad("MST entry must be a map with exactly the keys 'k', 'p', 't', 'v'")
        try:
            p = entry["p"]
            suffix = entry["k"]
            val = entry["v"]
            right = entry["t"]
        except KeyError:
            raise _bad("MST entry must be a map with exactly the keys 'k', 'p', 't', 'v'") from None
        if type(p) is not int or not 0 <= p <= len(prev):
            raise _bad(f"MST entry prefix length {p!r} out of range 0..{len(prev)}")
        if type(suffix) is not bytes:
            raise _bad("MST entry 'k' must be a byte string")
        if type(val) is not CID:
            raise _bad("MST entry 'v' must be a CID")
        if right is not None and not is_node_cid(right):
            raise _bad("MST entry 't' is not null or a dag-cbor sha-256 CID")
        raw_key = prev[:p] + suffix
        try:
            key = raw_key.decode("ascii")
        except UnicodeDecodeError:
            raise _bad("MST key is not ASCII") from None
        if not is_valid_key(key):
            raise _bad(f"MST key {key!r:.80} is not a valid repo path")
        if prev_key is not None and key <= prev_key:
            raise _bad(f"MST keys out of order or outside their subtree at {key!r:.80}")
        keys.append(key)
        vals.append(val)
        right_cids.append(right)
        prev = raw_key
        prev_key = key
    if hi is not None and keys and keys[-1] >= hi:
        raise _bad(f"MST key {keys[-1]!r:.80} outside its subtree")
    if keys:
        actual = key_layer(keys[0])
        for key in keys[1:]:
            if key_layer(key) != actual:
                raise _bad("MST node holds keys of different layers")
        if layer is not None and actual != layer:
            raise _bad(f"MST node at layer {layer} holds keys of layer {actual}")
        layer = actual
    elif layer is None:
        if left_cid is not None:
            raise _bad("MST root has no entries and only points down (untrimmed root)")
        layer = 0
    elif left_cid is None:
        raise _bad("empty MST node below the root (untrimmed leaf)")
    if layer > limits.max_height:
        raise MstLimitError(f"MST height {layer} exceeds the cap {limits.max_height}")
    if layer == 0 and (left_cid is not None or any(c is not None for c in right_cids)):
        raise _bad("MST node at layer 0 has a subtree (child below layer 0)")
    sub = layer - 1
    bounds = [lo, *keys, hi]
    left = None if left_cid is None else Node.stub(left_cid, sub, bounds[0], bounds[1])
    rights: list[Node | None] = [
        None if c is None else Node.stub(c, sub, bounds[i + 1], bounds[i + 2])
        for i, c in enumerate(right_cids)
    ]
    node = Node(layer, left, keys, vals, rights, gen)
    node._block = block
    return node


def _normalize(node: Node) -> Node | None:
    return None if not node.keys and node.left is None else node


class Tree:
    """A mutable handle on an MST root; operations copy nodes, never mutate shared ones.

    ``get_block`` serves child blocks (a block store, or a CAR slice for partial trees).
    """

    __slots__ = ("_gen", "get_block", "limits", "root")

    def __init__(
        self,
        root: Node,
        get_block: BlockGetter,
        *,
        limits: MstLimits = DEFAULT_LIMITS,
    ) -> None:
        self.root = root
        self.get_block = get_block
        self.limits = limits
        self._gen = next(_generations)

    # -- construction -----------------------------------------------------------------

    @classmethod
    def empty(cls, get_block: BlockGetter, *, limits: MstLimits = DEFAULT_LIMITS) -> Tree:
        tree = cls(Node(0, None, [], [], [], 0), get_block, limits=limits)
        tree.root.gen = tree._gen
        return tree

    @classmethod
    def load(
        cls, root_cid: CID, get_block: BlockGetter, *, limits: MstLimits = DEFAULT_LIMITS
    ) -> Tree:
        """The tree whose root node is ``root_cid`` (checked; children load lazily)."""
        if not is_node_cid(root_cid):
            raise InvalidMstError("MST root is not a dag-cbor sha-256 CID")
        block = get_block(root_cid)
        if block is None:
            raise MissingBlockError(root_cid, "MST root node")
        root = decode_node(block, layer=None, limits=limits)
        root._cid = root_cid
        return cls(root, get_block, limits=limits)

    @classmethod
    def build(
        cls,
        items: Iterable[tuple[str, CID]],
        get_block: BlockGetter,
        *,
        limits: MstLimits = DEFAULT_LIMITS,
    ) -> Tree:
        """Build bottom-up from ``(key, cid)`` pairs (sorted or not; keys must be unique)."""
        pairs = sorted(items)
        tree = cls.empty(get_block, limits=limits)
        if not pairs:
            return tree
        keys = [k for k, _ in pairs]
        for a, b in itertools.pairwise(keys):
            if a == b:
                raise ValueError(f"duplicate key {a!r}")
        vals = [v for _, v in pairs]
        layers = [key_layer(k) for k in keys]
        top = max(layers)
        positions: list[list[int]] = [[] for _ in range(top + 1)]
        for i, layer in enumerate(layers):
            positions[layer].append(i)
        gen = tree._gen

        def build(lo: int, hi: int, layer: int) -> Node | None:
            if lo >= hi:
                return None
            pos = positions[layer]
            idx = pos[bisect_left(pos, lo) : bisect_left(pos, hi)]
            if layer == 0:
                return Node(0, None, keys[lo:hi], vals[lo:hi], [None] * (hi - lo), gen)
            if not idx:
                return Node(layer, build(lo, hi, layer - 1), [], [], [], gen)
            left = build(lo, idx[0], layer - 1)
            ends = [*idx[1:], hi]
            rights = [build(i + 1, end, layer - 1) for i, end in zip(idx, ends, strict=True)]
            return Node(layer, left, [keys[i] for i in idx], [vals[i] for i in idx], rights, gen)

        root = build(0, len(keys), top)
        assert root is not None
        tree.root = root
        return tree

    def copy(self) -> Tree:
        """Another handle on the same root (cheap; nodes are shared, never mutated)."""
        return Tree(self.root, self.get_block, limits=self.limits)

    @property
    def generation(self) -> int:
        """Nodes created through this handle carry this number in ``Node.gen``."""
        return self._gen

    @property
    def root_cid(self) -> CID:
        return self.root.cid

    # -- loading --------------------------------------------------------------------

    def _load(self, node: Node) -> Node:
        """Fill in a stub from its block (checked against its layer and bounds)."""
        if node.keys is not None:
            return node
        cid = node._cid
        assert cid is not None
        block = self.get_block(cid)
        if block is None:
            raise MissingBlockError(cid, "MST node")
        if node.layer < 0:
            raise InvalidMstError("MST subtree below layer 0")
        full = decode_node(block, layer=node.layer, lo=node.lo, hi=node.hi, limits=self.limits)
        node.left = full.left
        node.vals = full.vals
        node.rights = full.rights
        node._block = block
        node.keys = full.keys  # last: marks the stub loaded
        return node

    def _new(
        self,
        layer: int,
        left: Node | None,
        keys: list[str],
        vals: list[CID],
        rights: list[Node | None],
    ) -> Node:
        return Node(layer, left, keys, vals, rights, self._gen)

    # -- reads ----------------------------------------------------------------------

    def get(self, key: str) -> CID | None:
        """The value at ``key``, or None."""
        node: Node | None = self.root
        while node is not None:
            keys = self._load(node).keys
            assert keys is not None
            i = bisect_left(keys, key)
            if i < len(keys) and keys[i] == key:
                return node.vals[i]
            node = node.child(i)
        return None

    def items(self, start: str | None = None) -> Iterator[tuple[str, CID]]:
        """All ``(key, cid)`` in key order (from ``start`` inclusive), loading as needed."""

        def walk(node: Node | None) -> Iterator[tuple[str, CID]]:
            if node is None:
                return
            keys = self._load(node).keys
            assert keys is not None
            if start is not None and node.hi is not None and node.hi <= start:
                return
            yield from walk(node.left)
            for key, val, right in zip(keys, node.vals, node.rights, strict=True):
                if start is None or key >= start:
                    yield key, val
                yield from walk(right)

        yield from walk(self.root)

    def nodes(self) -> Iterator[Node]:
        """Every node, pre-order (loads and so verifies the whole tree)."""
        stack: list[Node] = [self.root]
        while stack:
            node = self._load(stack.pop())
            yield node
            for child in reversed([node.left, *node.rights]):
                if child is not None:
                    stack.append(child)

    def new_nodes(self, generation: int | None = None) -> Iterator[Node]:
        """Nodes of this tree created in ``generation`` (default: this handle's)."""
        gen = self._gen if generation is None else generation
        stack: list[Node] = [self.root]
        while stack:
            node = stack.pop()
            if node.keys is None or node.gen != gen:
                continue
            yield node
            for child in (node.left, *node.rights):
                if child is not None:
                    stack.append(child)

    def path(self, key: str) -> list[Node]:
        """Nodes visited searching ``key``: the proof of its presence or absence."""
        out: list[Node] = []
        node: Node | None = self.root
        while node is not None:
            keys = self._load(node).keys
            assert keys is not None
            out.append(node)
            i = bisect_left(keys, key)
            if i < len(keys) and keys[i] == key:
                break
            node = node.child(i)
        return out

    def neighbours(self, key: str) -> tuple[str | None, str | None]:
        """The nearest keys strictly below and above ``key`` (present or not)."""
        below: str | None = None
        node: Node | None = self.root
        while node is not None:
            keys = self._load(node).keys
            assert keys is not None
            i = bisect_left(keys, key)
            if i:
                below = keys[i - 1]
            node = node.child(i)
        above: str | None = None
        node = self.root
        while node is not None:
            keys = self._load(node).keys
            assert keys is not None
            i = bisect_right(keys, key)
            if i < len(keys):
                above = keys[i]
            node = node.child(i)
        return below, above

    def covering_proof(self, key: str) -> list[Node]:
        """Nodes needed to add or remove ``key`` here: its path and its neighbours' paths."""
        seen: dict[int, Node] = {}
        for node in self.path(key):
            seen[id(node)] = node
        for other in self.neighbours(key):
            if other is not None:
                for node in self.path(other):
                    seen[id(node)] = node
        return list(seen.values())

    # -- writes ---------------------------------------------------------------------

    def put(self, key: str, value: CID) -> CID | None:
        """Set ``key`` (assumed valid) to ``value``; returns the previous value or None."""
        layer = key_layer(key)
        root = self._load(self.root)
        if root.is_empty:
            self.root = self._new(layer, None, [key], [value], [None])
            return None
        if layer > root.layer:
            a, b = self._split(root, key)
            self.root = self._new(
                layer, self._wrap(a, layer - 1), [key], [value], [self._wrap(b, layer - 1)]
            )
            return None
        self.root, prev = self._put(root, key, layer, value)
        return prev

    def delete(self, key: str) -> CID | None:
        """Remove ``key``; returns its value, or None (tree unchanged) if absent."""
        if self.get(key) is None:
            return None
        root, prev = self._delete(self._load(self.root), key)
        while root is not None and not root.keys and root.left is not None:
            root = self._load(root.left)
        self.root = root if root is not None else self._new(0, None, [], [], [])
        return prev

    def _wrap(self, node: Node | None, layer: int) -> Node | None:
        while node is not None and node.layer < layer:
            node = self._new(node.layer + 1, node, [], [], [])
        return node

    def _put(self, node: Node, key: str, layer: int, value: CID) -> tuple[Node, CID | None]:
        keys = self._load(node).keys
        assert keys is not None
        i = bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            vals = list(node.vals)
            prev = vals[i]
            if prev == value:
                return node, prev
            vals[i] = value
            return self._new(node.layer, node.left, keys, vals, node.rights), prev
        child = node.child(i)
        if layer == node.layer:
            a, b = self._split(child, key)
            rights = list(node.rights)
            rights.insert(i, b)
            left = node.left
            if i == 0:
                left = a
            else:
                rights[i - 1] = a
            new_keys = list(keys)
            new_keys.insert(i, key)
            vals = list(node.vals)
            vals.insert(i, value)
            return self._new(node.layer, left, new_keys, vals, rights), None
        found: CID | None
        if child is None:
            sub = self._wrap(self._new(layer, None, [key], [value], [None]), node.layer - 1)
            found = None
        else:
            sub, found = self._put(child, key, layer, value)
        return self._replace_child(node, i, sub), found

    def _replace_child(self, node: Node, i: int, child: Node | None) -> Node:
        assert node.keys is not None
        if i == 0:
            return self._new(node.layer, child, node.keys, node.vals, node.rights)
        rights = list(node.rights)
        rights[i - 1] = child
        return self._new(node.layer, node.left, node.keys, node.vals, rights)

    def _split(self, node: Node | None, key: str) -> tuple[Node | None, Node | None]:
        """Split a subtree into the parts below and above ``key`` (not in it)."""
        if node is None:
            return None, None
        keys = self._load(node).keys
        assert keys is not None
        i = bisect_left(keys, key)
        a, b = self._split(node.child(i), key)
        if i == 0:
            low = _normalize(self._new(node.layer, a, [], [], []))
        else:
            rights = [*node.rights[: i - 1], a]
            low = self._new(node.layer, node.left, keys[:i], node.vals[:i], rights)
        high = _normalize(self._new(node.layer, b, keys[i:], node.vals[i:], node.rights[i:]))
        return low, high

    def _delete(self, node: Node, key: str) -> tuple[Node | None, CID | None]:
        keys = node.keys
        assert keys is not None
        i = bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            merged = self._merge(node.child(i), node.rights[i])
            if i == 0:
                left, rights = merged, node.rights[1:]
            else:
                left = node.left
                rights = [*node.rights[: i - 1], merged, *node.rights[i + 1 :]]
            new = self._new(
                node.layer,
                left,
                keys[:i] + keys[i + 1 :],
                node.vals[:i] + node.vals[i + 1 :],
                rights,
            )
            return _normalize(new), node.vals[i]
        child = node.child(i)
        if child is None:
            return node, None
        sub, prev = self._delete(self._load(child), key)
        return _normalize(self._replace_child(node, i, sub)), prev

    def _merge(self, a: Node | None, b: Node | None) -> Node | None:
        """Join two adjacent subtrees of the same layer (all keys of ``a`` below ``b``'s)."""
        if a is None:
            return b
        if b is None:
            return a
        a_keys = self._load(a).keys
        b_keys = self._load(b).keys
        assert a_keys is not None
        assert b_keys is not None
        if not a_keys:
            return self._new(a.layer, self._merge(a.left, b.left), b_keys, b.vals, b.rights)
        junction = self._merge(a.rights[-1], b.left)
        return self._new(
            a.layer,
            a.left,
            a_keys + b_keys,
            a.vals + b.vals,
            [*a.rights[:-1], junction, *b.rights],
        )

    # -- checks ---------------------------------------------------------------------

    def check_new_nodes(self, generation: int | None = None) -> None:
        """Apply the caps to nodes this handle created (a write must not exceed them)."""
        if self.root.layer > self.limits.max_height:
            raise MstLimitError(f"MST height {self.root.layer} exceeds {self.limits.max_height}")
        for node in self.new_nodes(generation):
            assert node.keys is not None
            if len(node.keys) > self.limits.max_entries:
                raise MstLimitError(
                    f"MST node would hold {len(node.keys)} entries (cap {self.limits.max_entries})"
                )


def blocks_of(nodes: Sequence[Node]) -> dict[CID, bytes]:
    """``{cid: block}`` for loaded nodes."""
    return {node.cid: node.block for node in nodes}

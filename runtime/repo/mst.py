"""The Merkle Search Tree: a deterministic, content-addressed sorted map path -> CID.

Nodes are immutable once their CID has been computed, so trees share structure freely:
a write copies only the nodes on its path (copy-on-write) and the previous root stays a
valid tree. Each node remembers the *generation* that created it, which lets a commit
list exactly the nodes it added without diffing whole trees.

Children are loaded lazily from a block getter. Every node that is loaded is checked as
untrusted input (:func:`decode_node`): the node's own shape, its keys' layers, their
order against the bounds inherited from the parent, prefix lengths (in range, and the
whole prefix shared with the previous key, so a node re-encodes to its own bytes), and
the caps in :class:`MstLimits`. A complete walk therefore verifies a whole tree, and
partial trees (CAR slices) are verified as far as they are used; a missing block raises
:class:`~.errors.MissingBlockError`.

Writes are the hot path of a PDS and inversions the hot path of a relay, so encoding a
changed node does as little as it can (see :class:`Node`): a byte splice when only one
link changed, else (pure Python) cached entry maps for the entries that did not change.

With the C codec (``lexforge.runtime.data._cbor``) the hot parts run in C, each the same
algorithm as the Python code here, which stays the reference and the fallback:
``mst_fill`` checks and fills a node from a plain canonical block (anything else, valid
or not, goes to :func:`_fill_py`, which names the error), ``mst_put``/``mst_delete``
are :meth:`Tree._put`/:meth:`Tree._delete` node for node, ``mst_node_cid`` encodes and
hashes new nodes children first, and the new-block and covering-proof walks follow
:meth:`Tree._new_nodes` and :meth:`Tree.covering_proof`. tests/repo/test_mst_c.py holds
each to its reference on honest, perturbed, mutated, malformed and partial trees.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Final

from lexforge.runtime.data import BACKEND, CID, DataModelError, decode, encode
from lexforge.runtime.repo.cids import cbor_cid
from lexforge.runtime.repo.errors import (
    InvalidMstError,
    MissingBlockError,
    MstLimitError,
)
from lexforge.runtime.repo.keys import (
    MAX_KEY_BYTES,
    is_valid_key,
    key_layer,
    key_layers,
    key_layers_cached,
)

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
    "encode_parts",
    "is_node_cid",
]

#: Returns a block's bytes, or None when the block is not available.
BlockGetter = Callable[[CID], bytes | None]

_NODE_PREFIX: Final = b"\x01\x71\x12\x20"
_generations = itertools.count(1)
#: One entry of a node's ``e`` list: ``{"k": bytes, "p": int, "t": CID | None, "v": CID}``.
_Entry = dict[str, Any]
# Every key of a node joined by newlines (a byte no key may hold), checked in one match.
_SEGMENT = rb"[A-Za-z0-9._~:\-]+"
_KEYS_RE: Final = re.compile(
    _SEGMENT + b"/" + _SEGMENT + b"(?:\n" + _SEGMENT + b"/" + _SEGMENT + b")*"
)


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
    if type(cid) is not CID:  # CID is final: no subclasses to allow for
        return False
    raw = cid.bytes
    return len(raw) == 36 and raw[:4] == _NODE_PREFIX


class Node:
    """One MST node at ``layer``: left subtree, then sorted entries (key, value, right subtree).

    A *stub* (``keys is None``) is a child known only by CID, loaded on first use within
    the key bounds ``lo < key < hi`` its parent implies.

    ``_ents`` caches the node's encoded entry maps (the ``e`` list): a decoded node keeps
    the maps it was decoded from, and a node derived from another (copy-on-write) reuses
    the maps of the entries it did not change, marking the changed ones ``None``. Encoding
    then rebuilds only those, so a write re-encodes one or two entries per node on its
    path instead of every entry of every node.

    ``_splice`` is cheaper still, for the commonest change of all (a node on a write's
    path whose only change is one link, to a child or a value, of the same size):
    ``(old block, old CID, new link)``. Its block is the old block with the 36 bytes of
    the old CID replaced by the new CID's, when the old CID occurs exactly once in it.
    """

    __slots__ = (
        "_block",
        "_cid",
        "_ents",
        "_splice",
        "gen",
        "hi",
        "keys",
        "layer",
        "left",
        "lo",
        "rights",
        "vals",
    )

    def __init__(  # noqa: PLR0917 - hot constructor, positional on purpose
        self,
        layer: int,
        left: Node | None,
        keys: list[str] | None,
        vals: list[CID],
        rights: list[Node | None],
        gen: int,
        ents: list[_Entry | None] | None = None,
    ) -> None:
        self.layer = layer
        self.left = left
        self.keys = keys
        self.vals = vals
        self.rights = rights
        self.gen = gen
        self._ents = ents
        self._splice: tuple[bytes, CID, Node | CID] | None = None
        self._cid: CID | None = None
        self._block: bytes | None = None
        self.lo: str | None = None
        self.hi: str | None = None

    @classmethod
    def stub(cls, cid: CID, layer: int, lo: str | None, hi: str | None) -> Node:
        return _stub(cid, layer, lo, hi)

    @property
    def is_empty(self) -> bool:
        """No entries and no left subtree (only legal as the root of an empty repo)."""
        return not self.keys and self.left is None

    @property
    def block(self) -> bytes:
        """The canonical DAG-CBOR encoding (computed once)."""
        block = self._block
        if block is None:
            block = _node_block(self)
        return block

    @property
    def cid(self) -> CID:
        cid = self._cid
        if cid is None:
            cid = _node_cid(self)
        return cid

    def child(self, i: int) -> Node | None:
        """The subtree in gap ``i`` (0 = left of the first entry)."""
        return self.left if i == 0 else self.rights[i - 1]

    def __repr__(self) -> str:
        if self.keys is None:
            return f"<Node stub layer={self.layer} {self._cid}>"
        return f"<Node layer={self.layer} entries={len(self.keys)}>"


_new_object = object.__new__


def _stub(cid: CID, layer: int, lo: str | None, hi: str | None) -> Node:
    # every slot set, without the __init__ call (decoding makes one per child link)
    node: Node = _new_object(Node)
    node.layer = layer
    node.left = None
    node.keys = None
    node.vals = []
    node.rights = []
    node.gen = 0
    node._ents = None
    node._splice = None
    node._cid = cid
    node._block = None
    node.lo = lo
    node.hi = hi
    return node


def _node_block_py(node: Node) -> bytes:
    """Compute and cache ``node.block`` (children's CIDs computed as needed)."""
    if node.keys is None:
        raise RuntimeError("a stub node has no block until it is loaded")
    block = node._block = encode_node(node)
    return block


def _node_cid_py(node: Node) -> CID:
    """Compute and cache ``node.cid`` (and its block)."""
    block = node._block
    if block is None:
        block = _node_block_py(node)
    cid = node._cid = cbor_cid(block)
    return cid


def _prefix_length(a: bytes, b: bytes) -> int:
    # common prefix via XOR of the big-endian integers: the highest differing bit marks
    # the first differing byte (one C-level operation instead of a byte loop)
    n = min(len(a), len(b))
    diff = int.from_bytes(a[:n], "big") ^ int.from_bytes(b[:n], "big")
    return n if not diff else n - 1 - (diff.bit_length() - 1) // 8


def _entries(node: Node, ents: list[_Entry | None] | None) -> list[_Entry | None]:
    """``ents`` with every missing entry map built from the node's keys (in place)."""
    keys = node.keys
    assert keys is not None
    vals = node.vals
    rights = node.rights
    if ents is None:
        ents = []
        append = ents.append
        prev = b""
        for key, val, right in zip(keys, vals, rights, strict=True):
            raw = key.encode("ascii")
            p = _prefix_length(prev, raw)
            append({"k": raw[p:], "p": p, "t": None if right is None else right.cid, "v": val})
            prev = raw
        return ents
    for i, ent in enumerate(ents):
        if ent is None:
            raw = keys[i].encode("ascii")
            p = _prefix_length(keys[i - 1].encode("ascii"), raw) if i else 0
            right = rights[i]
            ents[i] = {
                "k": raw[p:],
                "p": p,
                "t": None if right is None else right.cid,
                "v": vals[i],
            }
    return ents


def _spliced(node: Node) -> bytes | None:
    """The node's block by splicing its one changed link into the old block, or None."""
    splice = node._splice
    if splice is None:
        return None
    node._splice = None
    base, old, new = splice
    new_cid = new if isinstance(new, CID) else new.cid
    old_bytes = old.bytes
    new_bytes = new_cid.bytes
    if len(new_bytes) == len(old_bytes) and base.count(old_bytes) == 1:
        return base.replace(old_bytes, new_bytes)
    return None


def _encode_node_py(node: Node) -> bytes:
    """:func:`encode_node` with the entry-map cache (the pure-Python codec)."""
    block = _spliced(node)
    if block is not None:
        return block
    ents = node._ents
    if ents is None:
        ents = _entries(node, None)
    elif None in ents:
        ents = node._ents = _entries(node, ents)
    left = node.left
    return encode({"e": ents, "l": None if left is None else left.cid})


def _encode_node_c(node: Node) -> bytes:
    """:func:`encode_node` through the C codec (which takes each child node's ``cid``)."""
    block = _spliced(node)
    if block is not None:
        return block
    keys = node.keys
    assert keys is not None
    return _mst_encode(keys, node.vals, node.left, node.rights)


def encode_parts(
    keys: list[str], vals: list[CID], left: Node | CID | None, rights: Sequence[Node | CID | None]
) -> bytes:
    """The canonical block of a node given its parts (links: None, a CID or a node).

    The reference for the C codec's ``mst_encode`` (tests/repo/test_mst_c.py): keys must
    be ASCII ``str`` and values CIDs, else TypeError/ValueError like the C version.
    """
    if len(vals) != len(keys) or len(rights) != len(keys):
        raise ValueError("mst_encode() lists differ in length")
    entries = []
    prev = b""
    for key, val, right in zip(keys, vals, rights, strict=True):
        if not isinstance(key, str):
            raise TypeError(f"MST key must be str, not {type(key).__name__}")
        if not key.isascii():
            raise ValueError("MST key is not ASCII")
        if type(val) is not CID:
            raise TypeError(f"MST value must be a CID, not {type(val).__name__}")
        raw = key.encode("ascii")
        p = _prefix_length(prev, raw)
        entries.append({"k": raw[p:], "p": p, "t": _link_cid(right), "v": val})
        prev = raw
    return encode({"e": entries, "l": _link_cid(left)})


def _link_cid(link: Node | CID | None) -> CID | None:
    if link is None or type(link) is CID:
        return link
    cid = link.cid
    if type(cid) is not CID:
        raise TypeError(f"MST link must be None, a CID or a node, not {type(link).__name__}")
    return cid


def _bad(msg: str) -> InvalidMstError:
    return InvalidMstError(msg)


def _entry_order_error(prev: bytes, p: int, suffix: bytes) -> InvalidMstError:
    """Why ``prev[:p] + suffix`` does not follow ``prev`` with ``p`` its whole shared prefix."""
    key = (prev[:p] + suffix).decode("ascii", "replace")
    if suffix[:1] == prev[p : p + 1] and suffix:
        return _bad(
            f"MST entry prefix length {p} is not the whole prefix shared with the previous "
            f"key at {key!r:.80} (non-canonical node)"
        )
    return _bad(f"MST keys out of order or repeated at {key!r:.80}")


def _bad_key(raws: list[bytes]) -> InvalidMstError:
    for raw in raws:
        try:
            key = raw.decode("ascii")
        except UnicodeDecodeError:
            return _bad("MST key is not ASCII")
        if not is_valid_key(key):
            return _bad(f"MST key {key!r:.80} is not a valid repo path")
    raise AssertionError("no bad key found")  # pragma: no cover - caller checked


def _fill_py(  # noqa: PLR0917 - hot internal helper, positional on purpose
    node: Node,
    block: bytes,
    layer: int | None,
    lo: str | None,
    hi: str | None,
    limits: MstLimits,
    layers_of: Callable[[list[str]], list[int]] = key_layers_cached,
) -> Node:
    """Decode ``block`` into ``node`` (a stub or a fresh node), checking everything.

    ``node.keys`` is set last, so a node whose block fails a check stays a stub. The
    reference implementation: the C fast path (:func:`_fill_c`) defers to it for every
    block it does not accept, so this is also what names every error.
    """
    try:
        obj = decode(block)
    except DataModelError as exc:
        raise _bad(f"MST node is not canonical DAG-CBOR: {exc}") from None
    if type(obj) is not dict or len(obj) != 2 or "e" not in obj or "l" not in obj:
        raise _bad("MST node must be a map with exactly the keys 'e' and 'l'")
    ents = obj["e"]
    left_cid = obj["l"]
    if type(ents) is not list:
        raise _bad("MST node 'e' is not a list")
    if len(ents) > limits.max_entries:
        raise MstLimitError(f"MST node has {len(ents)} entries (cap {limits.max_entries})")
    if left_cid is not None and not is_node_cid(left_cid):
        raise _bad("MST node 'l' is not null or a dag-cbor sha-256 CID")
    raws: list[bytes] = []
    vals: list[CID] = []
    right_cids: list[CID | None] = []
    prev = b""
    for entry in ents:
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
        if right is not None and (
            type(right) is not CID or len(link := right.bytes) != 36 or link[:4] != _NODE_PREFIX
        ):
            raise _bad("MST entry 't' is not null or a dag-cbor sha-256 CID")
        # The key must be above the previous one and ``p`` their whole shared prefix: then
        # the first byte after the prefix decides, and it must be greater (an empty suffix
        # repeats or shortens the previous key; an equal byte means ``p`` was too short).
        if not suffix[:1] > prev[p : p + 1]:
            raise _entry_order_error(prev, p, suffix)
        prev = prev[:p] + suffix
        raws.append(prev)
        vals.append(val)
        right_cids.append(right)
    keys: list[str]
    if raws:
        joined = b"\n".join(raws)
        if _KEYS_RE.fullmatch(joined) is None:  # one match checks every key
            raise _bad_key(raws)
        keys = joined.decode("ascii").split("\n")
        # (a key holding the separator itself would split in two)
        if len(keys) != len(raws) or max(map(len, raws)) > MAX_KEY_BYTES:
            raise _bad_key(raws)
        if lo is not None and keys[0] <= lo:
            raise _bad(f"MST keys out of order or outside their subtree at {keys[0]!r:.80}")
        if hi is not None and keys[-1] >= hi:
            raise _bad(f"MST key {keys[-1]!r:.80} outside its subtree")
        layers = layers_of(keys)
        actual = layers[0]
        if layers.count(actual) != len(layers):
            raise _bad("MST node holds keys of different layers")
        if layer is not None and actual != layer:
            raise _bad(f"MST node at layer {layer} holds keys of layer {actual}")
        layer = actual
    else:
        keys = []
        if layer is None:
            if left_cid is not None:
                raise _bad("MST root has no entries and only points down (untrimmed root)")
            layer = 0
        elif left_cid is None:
            raise _bad("empty MST node below the root (untrimmed leaf)")
    if layer > limits.max_height:
        raise MstLimitError(f"MST height {layer} exceeds the cap {limits.max_height}")
    if layer == 0 and (left_cid is not None or right_cids.count(None) != len(right_cids)):
        raise _bad("MST node at layer 0 has a subtree (child below layer 0)")
    sub = layer - 1
    left = None if left_cid is None else _stub(left_cid, sub, lo, keys[0] if keys else hi)
    rights: list[Node | None]
    if layer == 0:  # no subtrees (checked above)
        rights = [None] * len(keys)
    else:
        uppers: list[str | None] = [*keys[1:], hi]
        rights = [
            None if c is None else _stub(c, sub, k, u)
            for c, k, u in zip(right_cids, keys, uppers)  # noqa: B905 - equal lengths
        ]
    node.layer = layer
    node.left = left
    node.vals = vals
    node.rights = rights
    node._ents = ents
    node._block = block
    node.keys = keys  # last: marks a stub loaded
    return node


def _fill_c(  # noqa: PLR0917 - hot internal helper, positional on purpose
    node: Node,
    block: bytes,
    layer: int | None,
    lo: str | None,
    hi: str | None,
    limits: MstLimits,
    layers_of: Callable[[list[str]], list[int]] = key_layers_cached,
) -> Node:
    """:func:`_fill_py` with the C codec's fast path for valid canonical nodes.

    ``mst_fill`` reads and checks a block laid out as a canonical node and fills ``node``
    and its child stubs; it returns False, leaving the node alone, for anything it does
    not accept (malformed, unusual or over a cap), and the reference checks decide.
    """
    if _mst_fill(node, block, layer, lo, hi, limits.max_entries, limits.max_height):
        return node
    return _fill_py(node, block, layer, lo, hi, limits, layers_of)


#: ``encode_node(node)``: the node's canonical block ``{"e": [{"k","p","t","v"}...], "l"}``,
#: prefixes node-local. A node whose only change is one link of the same size splices it
#: into the old block; otherwise the C codec writes the block from the node's parts, or
#: (pure Python) the cached entry maps are reused and only missing ones built.
encode_node: Callable[[Node], bytes] = _encode_node_py
_fill = _fill_py
# Node.block / Node.cid when not cached: with the C codec, one call encodes and hashes
# the node and every new node below it (no Python frame per node).
_node_block: Callable[[Node], bytes] = _node_block_py
_node_cid: Callable[[Node], CID] = _node_cid_py
# Tree.put / Tree.delete in C (the same node-for-node algorithm as Tree._put/_delete).
_mst_put: Callable[..., tuple[Node, CID | None]] | None = None
_mst_delete: Callable[..., tuple[Node | None, CID | None]] | None = None
_mst_new_blocks: Callable[[Node, int, int], dict[CID, bytes] | None] | None = None
_mst_covering_proof: Callable[..., list[Node]] | None = None
_mst_add_covering_proof: Callable[..., None] | None = None
if BACKEND == "c":
    from lexforge.runtime.data import _cbor

    _mst_encode = _cbor.mst_encode
    _mst_fill = _cbor.mst_fill
    _cbor.mst_register(Node)
    encode_node = _encode_node_c
    _fill = _fill_c
    _node_block = _cbor.mst_node_block
    _node_cid = _cbor.mst_node_cid
    _mst_put = _cbor.mst_put
    _mst_delete = _cbor.mst_delete
    _mst_new_blocks = _cbor.mst_new_blocks
    _mst_covering_proof = _cbor.mst_covering_proof
    _mst_add_covering_proof = _cbor.mst_add_covering_proof


def decode_node(
    block: bytes,
    *,
    layer: int | None,
    lo: str | None = None,
    hi: str | None = None,
    limits: MstLimits = DEFAULT_LIMITS,
    gen: int = 0,
    cache_layers: bool = True,
) -> Node:
    """Decode and check one untrusted node block.

    ``layer`` is the layer the parent implies (``None`` for the root, whose layer is that
    of its keys); ``lo``/``hi`` are exclusive bounds on its keys. Every key must be a
    valid repo path at the node's layer, above the previous one (and ``lo``) and below
    ``hi``, with its prefix length the whole prefix it shares with the previous key (so
    the node re-encodes to its own bytes). Children become stubs carrying their own
    bounds. Raises :class:`InvalidMstError` on any violation. ``cache_layers=False``
    leaves the key-layer cache alone (one-pass walks of whole trees, whose memory must
    not grow with the tree).
    """
    node = Node(0, None, None, [], [], gen)
    node.lo = lo
    node.hi = hi
    return _fill(
        node, block, layer, lo, hi, limits, key_layers_cached if cache_layers else key_layers
    )


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
        tree = cls(Node(0, None, [], [], [], 0, []), get_block, limits=limits)
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
        pairs = sorted(items, key=itemgetter(0))
        tree = cls.empty(get_block, limits=limits)
        if not pairs:
            return tree
        keys = [k for k, _ in pairs]
        for a, b in itertools.pairwise(keys):
            if a == b:
                raise ValueError(f"duplicate key {a!r}")
        vals = [v for _, v in pairs]
        layers = key_layers(keys)
        top = max(layers)
        positions: list[list[int]] = [[] for _ in range(top + 1)]
        for i, layer in enumerate(layers):
            positions[layer].append(i)
        gen = tree._gen

        def build(lo: int, hi: int, layer: int) -> Node | None:
            if lo >= hi:
                return None
            if layer == 0:
                return Node(0, None, keys[lo:hi], vals[lo:hi], [None] * (hi - lo), gen)
            pos = positions[layer]
            idx = pos[bisect_left(pos, lo) : bisect_left(pos, hi)]
            if not idx:
                return Node(layer, build(lo, hi, layer - 1), [], [], [], gen, [])
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
        return _fill(node, block, node.layer, node.lo, node.hi, self.limits)

    def _keys(self, node: Node) -> list[str]:
        keys = node.keys
        if keys is None:
            keys = self._load(node).keys
            assert keys is not None
        return keys

    def _new(  # noqa: PLR0917 - hot helper, positional on purpose
        self,
        layer: int,
        left: Node | None,
        keys: list[str],
        vals: list[CID],
        rights: list[Node | None],
        ents: list[_Entry | None] | None = None,
    ) -> Node:
        return Node(layer, left, keys, vals, rights, self._gen, ents)

    # -- reads ----------------------------------------------------------------------

    def get(self, key: str) -> CID | None:
        """The value at ``key``, or None."""
        node: Node | None = self.root
        while node is not None:
            keys = node.keys
            if keys is None:
                keys = self._keys(node)
            i = bisect_left(keys, key)
            if i < len(keys) and keys[i] == key:
                return node.vals[i]
            node = node.left if i == 0 else node.rights[i - 1]
        return None

    def items(self, start: str | None = None) -> Iterator[tuple[str, CID]]:
        """All ``(key, cid)`` in key order (from ``start`` inclusive), loading as needed."""

        def walk(node: Node | None) -> Iterator[tuple[str, CID]]:
            if node is None:
                return
            keys = self._keys(node)
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
        yield from self._new_nodes(self._gen if generation is None else generation)

    def _new_nodes(self, gen: int) -> list[Node]:
        # new nodes only ever point to new nodes or to older ones, never back: descend
        # only into children of this generation
        root = self.root
        if root.keys is None or root.gen != gen:
            return []
        out = [root]
        stack = [root]
        while stack:
            node = stack.pop()
            left = node.left
            if left is not None and left.gen == gen and left.keys is not None:
                out.append(left)
                stack.append(left)
            for right in node.rights:
                if right is not None and right.gen == gen and right.keys is not None:
                    out.append(right)
                    stack.append(right)
        return out

    def path(self, key: str) -> list[Node]:
        """Nodes visited searching ``key``: the proof of its presence or absence."""
        out: list[Node] = []
        node: Node | None = self.root
        while node is not None:
            keys = self._keys(node)
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
            keys = self._keys(node)
            i = bisect_left(keys, key)
            if i:
                below = keys[i - 1]
            node = node.child(i)
        above: str | None = None
        node = self.root
        while node is not None:
            keys = self._keys(node)
            i = bisect_right(keys, key)
            if i < len(keys):
                above = keys[i]
            node = node.child(i)
        return below, above

    def covering_proof(self, key: str) -> list[Node]:
        """Nodes needed to add or remove ``key`` here: its path and its neighbours' paths.

        Computed in one descent: a neighbour's path leaves the key's path only where the
        key sits in a node, and then runs down the rightmost spine of the gap below the
        key (to the key before it) and the leftmost spine of the gap above it (to the key
        after it). An absent key's neighbours lie on its own path. Equal, as a set, to
        ``path(key)`` plus ``path(n)`` for both :meth:`neighbours`.
        """
        if _mst_covering_proof is not None and type(key) is str:
            limits = self.limits
            return _mst_covering_proof(
                self.root,
                key,
                self._gen,
                self.get_block,
                self._load,
                limits.max_entries,
                limits.max_height,
            )
        out: list[Node] = []
        node: Node | None = self.root
        while node is not None:
            keys = self._keys(node)
            out.append(node)
            i = bisect_left(keys, key)
            if i < len(keys) and keys[i] == key:
                spine = node.child(i)
                while spine is not None:
                    out.append(spine)
                    spine = spine.rights[-1] if self._keys(spine) else spine.left
                spine = node.rights[i]
                while spine is not None:
                    self._keys(spine)
                    out.append(spine)
                    spine = spine.left
                break
            node = node.left if i == 0 else node.rights[i - 1]
        return out

    def add_covering_proof(self, key: str, into: dict[CID, bytes]) -> None:
        """Add ``{cid: block}`` of the :meth:`covering_proof` nodes missing from ``into``."""
        if _mst_add_covering_proof is not None and type(key) is str and type(into) is dict:
            limits = self.limits
            _mst_add_covering_proof(
                self.root,
                key,
                self._gen,
                self.get_block,
                self._load,
                limits.max_entries,
                limits.max_height,
                into,
            )
            return
        for node in self.covering_proof(key):
            cid = node.cid
            if cid not in into:
                into[cid] = node.block

    # -- writes ---------------------------------------------------------------------

    def put(self, key: str, value: CID) -> CID | None:
        """Set ``key`` (assumed valid) to ``value``; returns the previous value or None."""
        layer = key_layer(key)
        if _mst_put is not None and type(key) is str and type(value) is CID:
            limits = self.limits
            self.root, prev = _mst_put(
                self.root,
                key,
                self._gen,
                self.get_block,
                self._load,
                limits.max_entries,
                limits.max_height,
                layer,
                value,
            )
            return prev
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
        root: Node | None
        if _mst_delete is not None and type(key) is str:
            limits = self.limits
            root, prev = _mst_delete(
                self.root,
                key,
                self._gen,
                self.get_block,
                self._load,
                limits.max_entries,
                limits.max_height,
            )
        else:
            root, prev = self._delete(self._load(self.root), key)
        if prev is None:
            return None
        while root is not None and not root.keys and root.left is not None:
            root = self._load(root.left)
        self.root = root if root is not None else self._new(0, None, [], [], [], [])
        return prev

    def _wrap(self, node: Node | None, layer: int) -> Node | None:
        while node is not None and node.layer < layer:
            node = self._new(node.layer + 1, node, [], [], [], [])
        return node

    def _put(self, node: Node, key: str, layer: int, value: CID) -> tuple[Node, CID | None]:
        keys = self._keys(node)
        i = bisect_left(keys, key)
        n = len(keys)
        ents = node._ents
        if i < n and keys[i] == key:
            prev = node.vals[i]
            if prev == value:
                return node, prev
            vals = list(node.vals)
            vals[i] = value
            if ents is not None:
                ents = list(ents)
                ents[i] = None
            new = self._new(node.layer, node.left, keys, vals, node.rights, ents)
            if node._block is not None:
                new._splice = (node._block, prev, value)
            return new, prev
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
            if ents is not None:
                # rebuilt: the entry before (new subtree), the new one, the one after (prefix)
                if i:
                    ents = [*ents[: i - 1], None, None, *([None] if i < n else []), *ents[i + 1 :]]
                else:
                    ents = [None, *([None] if n else []), *ents[1:]]
            return self._new(node.layer, left, new_keys, vals, rights, ents), None
        found: CID | None
        if child is None:
            sub = self._wrap(self._new(layer, None, [key], [value], [None]), node.layer - 1)
            found = None
        else:
            sub, found = self._put(child, key, layer, value)
            if sub is child:
                return node, found
        return self._replace_child(node, i, sub), found

    def _replace_child(self, node: Node, i: int, child: Node | None) -> Node:
        keys = node.keys
        assert keys is not None
        if i == 0:
            old = node.left
            new = self._new(node.layer, child, keys, node.vals, node.rights, node._ents)
        else:
            old = node.rights[i - 1]
            rights = list(node.rights)
            rights[i - 1] = child
            ents = node._ents
            if ents is not None:
                ents = list(ents)
                ents[i - 1] = None
            new = self._new(node.layer, node.left, keys, node.vals, rights, ents)
        base = node._block
        if base is not None and old is not None and child is not None and old._cid is not None:
            new._splice = (base, old._cid, child)
        return new

    def _split(self, node: Node | None, key: str) -> tuple[Node | None, Node | None]:
        """Split a subtree into the parts below and above ``key`` (not in it)."""
        if node is None:
            return None, None
        keys = self._keys(node)
        i = bisect_left(keys, key)
        a, b = self._split(node.child(i), key)
        ents = node._ents
        if i == 0:
            low = _normalize(self._new(node.layer, a, [], [], [], []))
        else:
            rights = [*node.rights[: i - 1], a]
            low_ents = None if ents is None else [*ents[: i - 1], None]
            low = self._new(node.layer, node.left, keys[:i], node.vals[:i], rights, low_ents)
        high_ents = None if ents is None else [None, *ents[i + 1 :]] if i < len(keys) else []
        high = _normalize(
            self._new(node.layer, b, keys[i:], node.vals[i:], node.rights[i:], high_ents)
        )
        return low, high

    def _delete(self, node: Node, key: str) -> tuple[Node | None, CID | None]:
        """``(new subtree, removed value)``, or ``(node, None)`` (unchanged) if absent."""
        keys = self._keys(node)
        i = bisect_left(keys, key)
        n = len(keys)
        if i < n and keys[i] == key:
            merged = self._merge(node.child(i), node.rights[i])
            ents = node._ents
            if i == 0:
                left, rights = merged, node.rights[1:]
                if ents is not None:
                    ents = [None, *ents[2:]] if n > 1 else []
            else:
                left = node.left
                rights = [*node.rights[: i - 1], merged, *node.rights[i + 1 :]]
                if ents is not None:
                    ents = [*ents[: i - 1], None, *([None] if i + 1 < n else []), *ents[i + 2 :]]
            new = self._new(
                node.layer,
                left,
                keys[:i] + keys[i + 1 :],
                node.vals[:i] + node.vals[i + 1 :],
                rights,
                ents,
            )
            return _normalize(new), node.vals[i]
        child = node.child(i)
        if child is None:
            return node, None
        sub, prev = self._delete(child, key)
        if prev is None:
            return node, None
        return _normalize(self._replace_child(node, i, sub)), prev

    def _merge(self, a: Node | None, b: Node | None) -> Node | None:
        """Join two adjacent subtrees of the same layer (all keys of ``a`` below ``b``'s)."""
        if a is None:
            return b
        if b is None:
            return a
        a_keys = self._keys(a)
        b_keys = self._keys(b)
        if not a_keys:
            merged = self._merge(a.left, b.left)
            return self._new(a.layer, merged, b_keys, b.vals, b.rights, b._ents)
        junction = self._merge(a.rights[-1], b.left)
        a_ents, b_ents = a._ents, b._ents
        ents = None
        if a_ents is not None and b_ents is not None:
            # rebuilt: a's last entry (new subtree) and b's first (prefix now against a's)
            ents = [*a_ents[:-1], None, *([None, *b_ents[1:]] if b_keys else [])]
        return self._new(
            a.layer,
            a.left,
            a_keys + b_keys,
            a.vals + b.vals,
            [*a.rights[:-1], junction, *b.rights],
            ents,
        )

    def new_blocks(self) -> dict[CID, bytes]:
        """``{cid: block}`` of the nodes this handle created, checked against the caps.

        What a commit stores and puts in its slice: one walk over the new nodes (those
        of this handle's generation reachable from the root), each encoded once. Raises
        :class:`MstLimitError` like :meth:`check_new_nodes`.
        """
        if _mst_new_blocks is not None and self.root.layer <= self.limits.max_height:
            blocks = _mst_new_blocks(self.root, self._gen, self.limits.max_entries)
            if blocks is not None:
                return blocks
        nodes = self._new_nodes(self._gen)
        self._check_caps(nodes)
        return {node.cid: node.block for node in nodes}

    # -- checks ---------------------------------------------------------------------

    def check_new_nodes(self, generation: int | None = None) -> None:
        """Apply the caps to nodes this handle created (a write must not exceed them)."""
        self._check_caps(self._new_nodes(self._gen if generation is None else generation))

    def _check_caps(self, nodes: list[Node]) -> None:
        if self.root.layer > self.limits.max_height:
            raise MstLimitError(f"MST height {self.root.layer} exceeds {self.limits.max_height}")
        cap = self.limits.max_entries
        for node in nodes:
            assert node.keys is not None
            if len(node.keys) > cap:
                raise MstLimitError(f"MST node would hold {len(node.keys)} entries (cap {cap})")


def blocks_of(nodes: Sequence[Node]) -> dict[CID, bytes]:
    """``{cid: block}`` for loaded nodes."""
    return {node.cid: node.block for node in nodes}

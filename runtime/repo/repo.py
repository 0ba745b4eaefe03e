"""A writable repository over a block store.

:class:`Repo` reads records and applies batches of writes atomically: each batch is
checked (at most 200 ops, distinct paths, valid NSIDs and record keys, records that are
maps with ``$type``, swap preconditions), applied to a copy of the tree, signed into a
new commit whose ``rev`` is above the previous one even if the clock went backwards, and
stored with one atomic :meth:`~.blockstore.BlockStore.apply_commit`. The result is a
:class:`CommitDiff`: the sync 1.1 content of the ``#commit`` event (ops with ``prev``,
``prevData`` and a CAR slice with which a consumer can invert the ops).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lexforge.runtime.car import write_car
from lexforge.runtime.crypto import Keypair
from lexforge.runtime.data import CID, DataModelError, decode, encode
from lexforge.runtime.repo.blockstore import BlockStore
from lexforge.runtime.repo.cids import cbor_cid
from lexforge.runtime.repo.commit import Commit, sign_commit
from lexforge.runtime.repo.errors import MissingBlockError, RepoError, SwapError, WriteError
from lexforge.runtime.repo.fastinit import slot_setters
from lexforge.runtime.repo.fastsyntax import fast_is_record_key
from lexforge.runtime.repo.mst import DEFAULT_LIMITS, MstLimits, Tree
from lexforge.runtime.repo.ops import MAX_OPS, Action, Create, Delete, RecordOp, Update, Write
from lexforge.runtime.syntax import TidClock, is_valid_nsid

__all__ = ["MAX_RECORD_BYTES", "CommitDiff", "Repo", "encode_record"]

#: Largest record block a commit may carry (sync spec).
MAX_RECORD_BYTES = 1_000_000


@dataclass(frozen=True, slots=True)
class CommitDiff:
    """What one commit changed: the content of its ``#commit`` event.

    ``blocks`` is the CAR slice (commit first, then new MST nodes, covering proof nodes
    and new record blocks); ``since``/``prev_data`` are None for a repo's first commit.
    """

    commit: Commit
    cid: CID
    since: str | None
    prev_data: CID | None
    ops: tuple[RecordOp, ...]
    blocks: Mapping[CID, bytes]

    @property
    def rev(self) -> str:
        return self.commit.rev

    def car(self) -> bytes:
        """The CAR slice (one root: the commit)."""
        return write_car([self.cid], self.blocks, verify=False)


_new = object.__new__
_set_op_action, _set_op_path, _set_op_cid, _set_op_prev = slot_setters(
    RecordOp, "action", "path", "cid", "prev"
)
(
    _set_diff_commit,
    _set_diff_cid,
    _set_diff_since,
    _set_diff_prev_data,
    _set_diff_ops,
    _set_diff_blocks,
) = slot_setters(CommitDiff, "commit", "cid", "since", "prev_data", "ops", "blocks")


def _make_op(action: Action, path: str, cid: CID | None, prev: CID | None = None) -> RecordOp:
    """``RecordOp(action, path, cid, prev)`` without the dataclass ``__init__``."""
    op: RecordOp = _new(RecordOp)
    _set_op_action(op, action)
    _set_op_path(op, path)
    _set_op_cid(op, cid)
    _set_op_prev(op, prev)
    return op


def _make_diff(  # noqa: PLR0917 - hot constructor, positional on purpose
    commit: Commit,
    cid: CID,
    since: str | None,
    prev_data: CID | None,
    ops: tuple[RecordOp, ...],
    blocks: Mapping[CID, bytes],
) -> CommitDiff:
    """``CommitDiff(commit, cid, since, prev_data, ops, blocks)`` without ``__init__``."""
    diff: CommitDiff = _new(CommitDiff)
    _set_diff_commit(diff, commit)
    _set_diff_cid(diff, cid)
    _set_diff_since(diff, since)
    _set_diff_prev_data(diff, prev_data)
    _set_diff_ops(diff, ops)
    _set_diff_blocks(diff, blocks)
    return diff


def encode_record(record: Mapping[str, Any]) -> tuple[CID, bytes]:
    """``(cid, block)`` of a record; raises :class:`WriteError` if it is not one."""
    if type(record) is not dict:
        if not isinstance(record, Mapping):
            raise WriteError("a record must be a map with a string '$type'")
        record = dict(record)
    if type(record.get("$type")) is not str:
        raise WriteError("a record must be a map with a string '$type'")
    try:
        block = encode(record)
    except DataModelError as exc:
        raise WriteError(f"record cannot be encoded: {exc}") from None
    if len(block) > MAX_RECORD_BYTES:
        raise WriteError(f"record is {len(block)} bytes, more than {MAX_RECORD_BYTES}")
    return cbor_cid(block), block


# Collections seen valid (a repo writes to a handful; the NSID check is the slow part).
_VALID_COLLECTIONS: set[str] = set()
_VALID_COLLECTIONS_MAX = 4096


def _path(collection: str, rkey: str) -> str:
    if collection not in _VALID_COLLECTIONS:
        if not is_valid_nsid(collection):
            raise WriteError(f"invalid collection NSID {collection!r:.80}")
        if len(_VALID_COLLECTIONS) >= _VALID_COLLECTIONS_MAX:
            _VALID_COLLECTIONS.clear()
        _VALID_COLLECTIONS.add(collection)
    if not fast_is_record_key(rkey):
        raise WriteError(f"invalid record key {rkey!r:.80}")
    return f"{collection}/{rkey}"


class Repo:
    """One account's repository: the current commit, its tree, and the store behind it."""

    def __init__(
        self,
        store: BlockStore,
        key: Keypair,
        commit: Commit,
        commit_cid: CID,
        *,
        clock: TidClock | None = None,
        limits: MstLimits = DEFAULT_LIMITS,
    ) -> None:
        self.store = store
        self.key = key
        self.commit = commit
        self.head = commit_cid
        self.clock = clock or TidClock()
        self.limits = limits
        self.tree = Tree.load(commit.data, store.get, limits=limits)
        # (clock, rev) of the last commit this repo made (None: the head came from elsewhere)
        self._own_rev: tuple[TidClock, str] | None = None

    # -- opening --------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        store: BlockStore,
        did: str,
        key: Keypair,
        records: Iterable[tuple[str, str, Mapping[str, Any]]] = (),
        *,
        clock: TidClock | None = None,
        limits: MstLimits = DEFAULT_LIMITS,
    ) -> tuple[Repo, CommitDiff]:
        """A new repo in an empty store, optionally with initial records (bulk-built).

        Returns the repo and the diff of its first commit (``since`` None).
        """
        if store.head() is not None:
            raise RepoError("the block store already holds a repository")
        clock = clock or TidClock()
        blocks: dict[CID, bytes] = {}
        items = []
        for collection, rkey, record in records:
            cid, block = encode_record(record)
            blocks[cid] = block
            items.append((_path(collection, rkey), cid))
        try:
            tree = Tree.build(items, store.get, limits=limits)
        except ValueError as exc:
            raise WriteError(str(exc)) from None
        tree.check_new_nodes()
        for node in tree.new_nodes():
            blocks[node.cid] = node.block
        commit = sign_commit(did, clock.next(), tree.root_cid, key)
        commit_block = commit.to_block()
        commit_cid = cbor_cid(commit_block)
        store.apply_commit(
            {commit_cid: commit_block, **blocks},
            commit=commit_cid,
            rev=commit.rev,
            expected_head=None,
        )
        repo = cls(store, key, commit, commit_cid, clock=clock, limits=limits)
        repo.tree = tree
        repo._own_rev = (clock, commit.rev)
        ops = tuple(RecordOp("create", path, cid) for path, cid in sorted(items))
        slice_blocks = {commit_cid: commit_block, **blocks}
        return repo, CommitDiff(commit, commit_cid, None, None, ops, slice_blocks)

    @classmethod
    def open(
        cls,
        store: BlockStore,
        key: Keypair,
        *,
        clock: TidClock | None = None,
        limits: MstLimits = DEFAULT_LIMITS,
    ) -> Repo:
        """The repo at the store's head."""
        head = store.head()
        if head is None:
            raise RepoError("the block store holds no repository")
        block = store.get(head[0])
        if block is None:
            raise MissingBlockError(head[0], "head commit")
        return cls(store, key, Commit.from_block(block), head[0], clock=clock, limits=limits)

    # -- reads ----------------------------------------------------------------------

    @property
    def did(self) -> str:
        return self.commit.did

    @property
    def rev(self) -> str:
        return self.commit.rev

    @property
    def data(self) -> CID:
        """The MST root CID."""
        return self.commit.data

    def get_record_cid(self, collection: str, rkey: str) -> CID | None:
        return self.tree.get(f"{collection}/{rkey}")

    def get_record(self, collection: str, rkey: str) -> dict[str, Any] | None:
        cid = self.get_record_cid(collection, rkey)
        if cid is None:
            return None
        block = self.store.get(cid)
        if block is None:
            raise MissingBlockError(cid, "record")
        value = decode(block)
        assert isinstance(value, dict)
        return value

    def list_records(self, collection: str | None = None) -> Iterator[tuple[str, CID]]:
        """``(path, cid)`` in key order, optionally for one collection."""
        if collection is None:
            yield from self.tree.items()
            return
        prefix = collection + "/"
        for path, cid in self.tree.items(start=prefix):
            if not path.startswith(prefix):
                return
            yield path, cid

    # -- writes ---------------------------------------------------------------------

    def apply_writes(
        self, writes: Sequence[Write], *, swap_commit: CID | None = None
    ) -> CommitDiff:
        """Apply a batch atomically and return its diff (an empty batch re-signs)."""
        if len(writes) > MAX_OPS:
            raise WriteError(f"{len(writes)} writes, more than {MAX_OPS}")
        if swap_commit is not None and swap_commit != self.head:
            raise SwapError(f"repo head is {self.head}, not {swap_commit}")
        tree = self.tree.copy()
        record_blocks: dict[CID, bytes] = {}
        ops: list[RecordOp] = []
        seen: set[str] = set()
        # Each write is applied straight to the copy and its previous value checked
        # afterwards: a failed check aborts the whole batch, and the copy with it.
        for write in writes:
            path = _path(write.collection, write.rkey)
            if path in seen:
                raise WriteError(f"two writes to {path} in one batch")
            seen.add(path)
            if isinstance(write, Create):
                cid, block = encode_record(write.record)
                if tree.put(path, cid) is not None:
                    raise WriteError(f"record {path} already exists")
                record_blocks[cid] = block
                ops.append(_make_op("create", path, cid))
            elif isinstance(write, Update):
                cid, block = encode_record(write.record)
                current = tree.put(path, cid)
                if current is None:
                    raise WriteError(f"record {path} does not exist")
                if write.swap_record is not None and write.swap_record != current:
                    raise SwapError(f"record {path} is {current}, not {write.swap_record}")
                record_blocks[cid] = block
                ops.append(_make_op("update", path, cid, current))
            elif isinstance(write, Delete):
                current = tree.delete(path)
                if current is None:
                    raise WriteError(f"record {path} does not exist")
                if write.swap_record is not None and write.swap_record != current:
                    raise SwapError(f"record {path} is {current}, not {write.swap_record}")
                ops.append(_make_op("delete", path, None, current))
            else:
                raise WriteError(f"unknown write {write!r:.80}")
        return self._commit(tree, ops, record_blocks)

    def rotate_key(self, key: Keypair) -> CommitDiff:
        """Sign with ``key`` from now on; emits an empty commit so the head verifies."""
        old = self.key
        self.key = key
        try:
            return self.apply_writes([])
        except BaseException:
            self.key = old
            raise

    def _commit(
        self, tree: Tree, ops: list[RecordOp], record_blocks: dict[CID, bytes]
    ) -> CommitDiff:
        new_nodes = tree.new_blocks()  # checks the caps first
        # The clock's own last TID is above the head's rev when this repo made it: then
        # next() suffices; otherwise (opened from a store) step over the stored rev.
        clock = self.clock
        own = self._own_rev
        if own is not None and own[0] is clock and own[1] == self.rev:
            rev = clock.next()
        else:
            rev = clock.next_after(self.rev)
        commit = sign_commit(self.did, rev, tree.root_cid, self.key)
        commit_block = commit.to_block()
        commit_cid = cbor_cid(commit_block)
        slice_blocks: dict[CID, bytes] = {commit_cid: commit_block}
        slice_blocks.update(new_nodes)
        stored = dict(slice_blocks)
        stored.update(record_blocks)
        self.store.apply_commit(stored, commit=commit_cid, rev=rev, expected_head=self.head)
        self._own_rev = (clock, rev)
        # the root (inverting even no ops loads it) and the covering proof of every
        # written key (new nodes are in already)
        root = tree.root
        if root.cid not in slice_blocks:
            slice_blocks[root.cid] = root.block
        for op in ops:
            tree.add_covering_proof(op.path, slice_blocks)
        slice_blocks.update(record_blocks)
        diff = _make_diff(commit, commit_cid, self.rev, self.data, tuple(ops), slice_blocks)
        self.commit = commit
        self.head = commit_cid
        self.tree = tree
        return diff

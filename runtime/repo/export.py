"""Repository export as CAR: whole repos (streamed) and ``since`` diffs.

The full export walks the tree depth-first straight from the block store, emitting the
commit, then for each node its block, its left subtree, and per entry the record block
and the right subtree (the order the sync spec prefers). Only the current path of nodes
is held in memory, so memory does not grow with repo size.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from lexforge.runtime.car import CarWriter
from lexforge.runtime.data import CID
from lexforge.runtime.repo.blockstore import BlockStore
from lexforge.runtime.repo.commit import Commit
from lexforge.runtime.repo.errors import MissingBlockError, RepoError
from lexforge.runtime.repo.mst import DEFAULT_LIMITS, MstLimits, Tree, decode_node

__all__ = ["export_car", "iter_car_chunks", "iter_repo_blocks", "write_repo_car"]


class _Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...


def _head(store: BlockStore, head: CID | None) -> tuple[CID, bytes, Commit]:
    if head is None:
        current = store.head()
        if current is None:
            raise RepoError("the block store holds no repository")
        head = current[0]
    block = store.get(head)
    if block is None:
        raise MissingBlockError(head, "commit")
    return head, block, Commit.from_block(block)


def iter_repo_blocks(
    store: BlockStore,
    *,
    head: CID | None = None,
    since: str | None = None,
    limits: MstLimits = DEFAULT_LIMITS,
) -> Iterator[tuple[CID, bytes]]:
    """``(cid, block)`` of the commit, MST nodes and records, in export order.

    With ``since`` (a rev the store knows), only what changed after that commit: new MST
    nodes and the records created or updated since. An unknown ``since`` exports
    everything (the receiver then simply gets a superset). Record blocks absent from the
    store (a repo imported without them) are skipped; a missing MST node is an error.
    """
    head_cid, head_block, commit = _head(store, head)
    yield head_cid, head_block
    old: Tree | None = None
    old_nodes: set[CID] = set()
    if since is not None:
        since_cid = store.commit_at(since)
        if since_cid is not None:
            _, _, old_commit = _head(store, since_cid)
            old = Tree.load(old_commit.data, store.get, limits=limits)
            old_nodes = {node.cid for node in old.nodes()}
    # stack items: (is_node, cid, layer, lo, hi, key)
    stack: list[tuple[bool, CID, int | None, str | None, str | None, str]] = [
        (True, commit.data, None, None, None, "")
    ]
    while stack:
        is_node, cid, layer, lo, hi, key = stack.pop()
        if not is_node:
            if old is not None and old.get(key) == cid:
                continue
            record = store.get(cid)
            if record is not None:
                yield cid, record
            continue
        if cid in old_nodes:
            continue
        block = store.get(cid)
        if block is None:
            raise MissingBlockError(cid, "MST node")
        node = decode_node(block, layer=layer, lo=lo, hi=hi, limits=limits, cache_layers=False)
        yield cid, block
        assert node.keys is not None
        children: list[tuple[bool, CID, int | None, str | None, str | None, str]] = []
        if node.left is not None:
            children.append((True, node.left.cid, node.layer - 1, node.left.lo, node.left.hi, ""))
        for entry_key, val, right in zip(node.keys, node.vals, node.rights, strict=True):
            children.append((False, val, None, None, None, entry_key))
            if right is not None:
                children.append((True, right.cid, node.layer - 1, right.lo, right.hi, ""))
        stack.extend(reversed(children))


def write_repo_car(
    store: BlockStore,
    stream: _Writable,
    *,
    head: CID | None = None,
    since: str | None = None,
) -> int:
    """Write the export CAR to ``stream``; returns the number of blocks written."""
    blocks = iter_repo_blocks(store, head=head, since=since)
    first_cid, first_block = next(blocks)
    writer = CarWriter(stream, [first_cid], verify=False)
    writer.write(first_cid, first_block)
    for cid, block in blocks:
        writer.write(cid, block)
    return writer.blocks_written


class _Chunks:
    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes, /) -> int:
        self.parts.append(data)
        self.size += len(data)
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        self.size = 0
        return out


def iter_car_chunks(
    store: BlockStore,
    *,
    head: CID | None = None,
    since: str | None = None,
    chunk_size: int = 64 * 1024,
) -> Iterator[bytes]:
    """The export CAR as byte chunks of about ``chunk_size`` (for streaming responses)."""
    blocks = iter_repo_blocks(store, head=head, since=since)
    first_cid, first_block = next(blocks)
    sink = _Chunks()
    writer = CarWriter(sink, [first_cid], verify=False)
    writer.write(first_cid, first_block)
    for cid, block in blocks:
        writer.write(cid, block)
        if sink.size >= chunk_size:
            yield sink.take()
    if sink.size:
        yield sink.take()


def export_car(store: BlockStore, *, head: CID | None = None, since: str | None = None) -> bytes:
    """The whole export CAR in memory."""
    return b"".join(iter_car_chunks(store, head=head, since=since))

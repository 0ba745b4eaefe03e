"""Verifying repository CARs (import) and record proofs.

:func:`verify_repo_car` trusts nothing: exactly one root, every block hash (the CAR
reader), the commit's shape, its DID and signature, the whole MST structure, and every
record the tree references being present and decodable. :func:`import_repo` then stores
only the blocks the tree reaches. :func:`record_proof` and :func:`verify_record_proof`
produce and check the ``getRecord`` CAR: commit, the MST path to the key, and the
record if it exists (so the same CAR proves presence or absence).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from lexforge.runtime.car import CarError, read_car, write_car
from lexforge.runtime.crypto import PublicKey
from lexforge.runtime.data import CID, DataModelError, decode
from lexforge.runtime.repo.blockstore import BlockStore
from lexforge.runtime.repo.commit import Commit
from lexforge.runtime.repo.errors import (
    CommitError,
    InvalidMstError,
    InvalidSignatureError,
    MissingBlockError,
    ProofError,
    RepoError,
    RepoImportError,
)
from lexforge.runtime.repo.keys import check_key
from lexforge.runtime.repo.mst import DEFAULT_LIMITS, MstLimits, Tree, decode_node, is_node_cid

__all__ = [
    "VerifiedRepo",
    "import_repo",
    "record_proof",
    "verify_record_proof",
    "verify_repo_car",
]


@dataclass(slots=True)
class VerifiedRepo:
    """A repository CAR that passed verification."""

    commit: Commit
    cid: CID
    records: dict[str, CID]
    blocks: dict[CID, bytes] = field(repr=False)
    collections: Counter[str] = field(default_factory=Counter)

    @property
    def did(self) -> str:
        return self.commit.did

    @property
    def rev(self) -> str:
        return self.commit.rev


def _read(data: bytes) -> tuple[CID, dict[CID, bytes], Commit]:
    try:
        roots, blocks = read_car(data, require_single_root=True)
    except CarError as exc:
        raise RepoImportError(f"bad CAR: {exc}") from None
    root = roots[0]
    block = blocks.get(root)
    if block is None:
        raise RepoImportError(f"CAR lacks its root commit block {root}")
    return root, blocks, Commit.from_block(block)


def _check_commit(commit: Commit, did: str | None, key: PublicKey | str | None) -> None:
    if did is not None and commit.did != did:
        raise CommitError(f"commit is for {commit.did}, expected {did}")
    if key is not None and not commit.verify(key):
        raise InvalidSignatureError(f"commit {commit.rev} of {commit.did}: bad signature")


def verify_repo_car(
    data: bytes,
    *,
    did: str | None = None,
    key: PublicKey | str | None = None,
    require_records: bool = True,
    limits: MstLimits = DEFAULT_LIMITS,
) -> VerifiedRepo:
    """Fully verify a repo CAR; raises a :class:`RepoError` subclass on any problem.

    ``key`` (PublicKey or did:key) checks the signature; without it the signature is
    not checked, so pass it whenever the data is untrusted.
    """
    cid, blocks, commit = _read(data)
    _check_commit(commit, did, key)
    records: dict[str, CID] = {}
    collections: Counter[str] = Counter()
    reachable: dict[CID, bytes] = {cid: blocks[cid]}
    if not is_node_cid(commit.data):
        raise InvalidMstError("MST root is not a dag-cbor sha-256 CID")
    # One in-order walk (left subtree, entry, right subtree, ...), decoding each node once
    # and keeping none: only the blocks and the record index stay in memory.
    # stack items: (cid, layer, lo, hi) for a node, (cid, path) for a record
    stack: list[tuple[CID, int | None, str | None, str | None] | tuple[CID, str]] = [
        (commit.data, None, None, None)
    ]
    while stack:
        item = stack.pop()
        if len(item) == 2:
            record_cid, path = item
            records[path] = record_cid
            collections[path.partition("/")[0]] += 1
            block = blocks.get(record_cid)
            if block is None:
                if require_records:
                    raise RepoImportError(f"record block {record_cid} for {path} missing")
                continue
            if record_cid.codec == 0x71:
                try:
                    decode(block)
                except DataModelError as exc:
                    raise RepoImportError(f"record {path} is not DAG-CBOR: {exc}") from None
            reachable[record_cid] = block
            continue
        node_cid, layer, lo, hi = item
        block = blocks.get(node_cid)
        if block is None:
            raise RepoImportError(f"CAR is incomplete: missing MST node {node_cid}")
        node = decode_node(block, layer=layer, lo=lo, hi=hi, limits=limits, cache_layers=False)
        reachable[node_cid] = block
        assert node.keys is not None
        pending: list[tuple[CID, int | None, str | None, str | None] | tuple[CID, str]] = []
        if node.left is not None:
            pending.append((node.left.cid, node.layer - 1, node.left.lo, node.left.hi))
        for entry_key, value, right in zip(node.keys, node.vals, node.rights, strict=True):
            pending.append((value, entry_key))
            if right is not None:
                pending.append((right.cid, node.layer - 1, right.lo, right.hi))
        stack.extend(reversed(pending))
    return VerifiedRepo(commit, cid, records, reachable, collections)


def import_repo(
    data: bytes,
    store: BlockStore,
    *,
    did: str | None = None,
    key: PublicKey | str | None = None,
    limits: MstLimits = DEFAULT_LIMITS,
) -> VerifiedRepo:
    """Verify ``data`` and store the blocks it reaches, making its commit the head.

    Re-importing the store's current head is a no-op; an older or equal rev than the
    store's head is refused.
    """
    verified = verify_repo_car(data, did=did, key=key, limits=limits)
    head = store.head()
    if head is not None:
        if head[0] == verified.cid:
            return verified
        if head[1] >= verified.rev:
            raise RepoImportError(f"store is at rev {head[1]}, not older than {verified.rev}")
    store.apply_commit(
        verified.blocks,
        commit=verified.cid,
        rev=verified.rev,
        expected_head=None if head is None else head[0],
    )
    return verified


def record_proof(store: BlockStore, collection: str, rkey: str) -> bytes:
    """The ``getRecord`` CAR for ``collection/rkey`` at the store's head."""
    path = check_key(f"{collection}/{rkey}")
    head = store.head()
    if head is None:
        raise RepoError("the block store holds no repository")
    commit_block = store.get(head[0])
    if commit_block is None:
        raise MissingBlockError(head[0], "commit")
    commit = Commit.from_block(commit_block)
    tree = Tree.load(commit.data, store.get)
    blocks: dict[CID, bytes] = {head[0]: commit_block}
    for node in tree.path(path):
        blocks[node.cid] = node.block
    value = tree.get(path)
    if value is not None:
        record = store.get(value)
        if record is not None:
            blocks[value] = record
    return write_car([head[0]], blocks, verify=False)


def verify_record_proof(
    data: bytes,
    collection: str,
    rkey: str,
    *,
    did: str | None = None,
    key: PublicKey | str | None = None,
) -> tuple[CID | None, Mapping[CID, bytes]]:
    """Check a ``getRecord`` CAR; returns ``(record_cid or None, blocks)``.

    ``None`` means the proof shows the record does not exist. Raises
    :class:`ProofError` if the CAR proves neither (missing nodes, record block absent).
    """
    path = check_key(f"{collection}/{rkey}")
    try:
        _, blocks, commit = _read(data)
    except RepoImportError as exc:
        raise ProofError(str(exc)) from None
    _check_commit(commit, did, key)
    try:
        value = Tree.load(commit.data, blocks.get).get(path)
    except MissingBlockError as exc:
        raise ProofError(f"proof is incomplete: {exc}") from None
    if value is not None and value not in blocks:
        raise ProofError(f"proof lacks the record block {value}")
    return value, blocks

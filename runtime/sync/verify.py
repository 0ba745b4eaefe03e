"""Verifying ``#commit`` and ``#sync`` events the way a sync 1.1 relay must.

For each commit: size caps and deprecated flags; the CAR slice (every block hash, root =
the commit); the commit's shape, DID (= event ``repo``) and rev (= event ``rev``, after
the last rev seen for the repo, at most five minutes in the future); the signature by
the account's current key, fetched through a pluggable :data:`KeyLookup` and fetched
again with ``refresh=True`` once if the first key fails (key rotation); new record blocks
present and decodable; and the ops inverted against the slice alone must reach
``prevData``. Anything else is a :class:`~.errors.VerificationError`.

Per-repo state (last rev, last data CID) lives in the verifier; a commit whose
``since``/``prevData`` do not continue the stored chain still verifies on its own but is
reported with ``chain_ok=False`` so the caller can mark the repo desynchronized.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from lexforge.runtime.car import CarError
from lexforge.runtime.crypto import PublicKey, parse_did_key
from lexforge.runtime.crypto.errors import CryptoError
from lexforge.runtime.data import CID, DataModelError, decode
from lexforge.runtime.repo import EMPTY_ROOT_CID, Commit, MstLimits, RepoError, invert_ops
from lexforge.runtime.repo.carslice import read_slice
from lexforge.runtime.repo.fastinit import slot_setters
from lexforge.runtime.repo.fastsyntax import fast_is_tid, tid_timestamp_us
from lexforge.runtime.sync.errors import (
    FutureRevError,
    StaleRevError,
    VerificationError,
)
from lexforge.runtime.sync.events import (
    MAX_COMMIT_BLOCKS_BYTES,
    MAX_SYNC_BLOCKS_BYTES,
    CommitEvent,
    SyncEvent,
)

__all__ = ["MAX_FUTURE_REV_SECONDS", "CommitVerifier", "KeyLookup", "RepoState", "Verified"]

#: Tolerated clock skew for revs (reference relay: five minutes).
MAX_FUTURE_REV_SECONDS = 300

#: ``await lookup(did, refresh)`` -> the account's current signing key (PublicKey or
#: did:key), or None if the account has none. ``refresh=True`` must bypass caches.
KeyLookup = Callable[[str, bool], Awaitable[PublicKey | str | None]]


@dataclass(slots=True)
class RepoState:
    """What the verifier remembers about one repo."""

    rev: str
    data: CID


@dataclass(frozen=True, slots=True)
class Verified:
    """A verified commit or sync event."""

    commit: Commit
    blocks: dict[CID, bytes]
    chain_ok: bool


_new = object.__new__
_set_commit, _set_blocks, _set_chain_ok = slot_setters(Verified, "commit", "blocks", "chain_ok")


def _verified(commit: Commit, blocks: dict[CID, bytes], chain_ok: bool) -> Verified:
    """``Verified(commit, blocks, chain_ok)`` without the dataclass ``__init__``."""
    verified: Verified = _new(Verified)
    _set_commit(verified, commit)
    _set_blocks(verified, blocks)
    _set_chain_ok(verified, chain_ok)
    return verified


def _as_key(key: PublicKey | str | None) -> PublicKey | None:
    if key is None or isinstance(key, PublicKey):
        return key
    try:
        return parse_did_key(key)
    except CryptoError:
        return None


class CommitVerifier:
    """Verifies events against per-repo state; see the module docstring."""

    def __init__(
        self,
        key_lookup: KeyLookup,
        *,
        max_future_seconds: float = MAX_FUTURE_REV_SECONDS,
        now: Callable[[], float] = time.time,
        limits: MstLimits | None = None,
    ) -> None:
        self.key_lookup = key_lookup
        self.max_future_seconds = max_future_seconds
        self.now = now
        self.limits = limits or MstLimits()
        self.state: dict[str, RepoState] = {}
        self._keys: dict[str, PublicKey] = {}

    async def _check_signature(self, commit: Commit) -> None:
        key = self._keys.get(commit.did)
        if key is None or not commit.verify(key):
            await self._check_signature_slow(commit, key)

    async def _check_signature_slow(self, commit: Commit, cached: PublicKey | None) -> None:
        """The lookup (and the refreshed lookup) when the cached key is absent or failed."""
        key = cached
        if key is None:
            key = _as_key(await self.key_lookup(commit.did, False))
            if key is not None and commit.verify(key):
                self._keys[commit.did] = key
                return
        fresh = _as_key(await self.key_lookup(commit.did, True))
        if fresh is not None and commit.verify(fresh):
            self._keys[commit.did] = fresh
            return
        self._keys.pop(commit.did, None)
        raise VerificationError(f"commit {commit.rev} of {commit.did}: bad signature")

    def _check_rev(self, did: str, rev: str) -> None:
        if not fast_is_tid(rev):
            raise VerificationError(f"rev {rev!r:.40} is not a TID")
        state = self.state.get(did)
        if state is not None and rev <= state.rev:
            raise StaleRevError(f"rev {rev} of {did} is not after {state.rev}")
        ahead = tid_timestamp_us(rev) / 1e6 - self.now()
        if ahead > self.max_future_seconds:
            raise FutureRevError(f"rev {rev} of {did} is {ahead:.0f} s in the future")

    def _read_slice(
        self, data: bytes, commit_cid: CID | None, did: str, rev: str
    ) -> tuple[Commit, dict[CID, bytes]]:
        try:
            root, blocks = read_slice(data)
        except CarError as exc:
            raise VerificationError(f"bad CAR slice: {exc}") from None
        if commit_cid is not None and root != commit_cid:
            raise VerificationError("CAR root is not the event's commit")
        block = blocks.get(root)
        if block is None:
            raise VerificationError("CAR slice lacks the commit block")
        try:
            commit = Commit.from_block(block)
        except RepoError as exc:
            raise VerificationError(f"bad commit: {exc}") from None
        if commit.version != 3:
            raise VerificationError(f"commit version {commit.version}, expected 3")
        if commit.did != did:
            raise VerificationError(f"commit is for {commit.did}, event for {did}")
        if commit.rev != rev:
            raise VerificationError(f"commit rev {commit.rev} differs from event rev {rev}")
        return commit, blocks

    async def verify_commit(self, event: CommitEvent) -> Verified:
        """Verify ``event`` and advance the repo's state; raises VerificationError."""
        if event.too_big or event.rebase:
            raise VerificationError("legacy #commit with tooBig or rebase set")
        if len(event.blocks) > MAX_COMMIT_BLOCKS_BYTES:
            raise VerificationError("#commit blocks exceed 2,000,000 bytes")
        self._check_rev(event.repo, event.rev)
        commit, blocks = self._read_slice(event.blocks, event.commit, event.repo, event.rev)
        # the cached key inline (no coroutine for the common case), else _check_signature's
        # lookups
        key = self._keys.get(commit.did)
        if key is None or not commit.verify(key):
            await self._check_signature_slow(commit, key)
        for op in event.ops:
            if op.cid is not None:
                record = blocks.get(op.cid)
                if record is None:
                    raise VerificationError(f"slice lacks the record block for {op.path}")
                if op.cid.codec == 0x71:
                    try:
                        decode(record)
                    except DataModelError as exc:
                        raise VerificationError(
                            f"record {op.path} is not DAG-CBOR: {exc}"
                        ) from None
        expected = event.prev_data
        if expected is None:
            if event.since is not None:
                raise VerificationError("#commit with 'since' but no 'prevData'")
            expected = EMPTY_ROOT_CID
        try:
            root = invert_ops(event.ops, blocks, commit.data, limits=self.limits)
        except RepoError as exc:
            raise VerificationError(f"ops do not invert: {exc}") from None
        if root != expected:
            raise VerificationError("ops inverted against the slice do not reach prevData")
        state = self.state.get(event.repo)
        chain_ok = state is None or (state.rev == event.since and state.data == event.prev_data)
        self.state[event.repo] = RepoState(commit.rev, commit.data)
        return _verified(commit, blocks, chain_ok)

    async def verify_sync(self, event: SyncEvent) -> Verified:
        """Verify a ``#sync`` event (signed commit only) and reset the repo's state."""
        if len(event.blocks) > MAX_SYNC_BLOCKS_BYTES:
            raise VerificationError("#sync blocks exceed 10,000 bytes")
        self._check_rev(event.did, event.rev)
        commit, blocks = self._read_slice(event.blocks, None, event.did, event.rev)
        await self._check_signature(commit)
        self.state[event.did] = RepoState(commit.rev, commit.data)
        return Verified(commit, blocks, True)

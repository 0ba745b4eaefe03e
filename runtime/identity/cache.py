"""A caching :class:`~lexforge.runtime.identity.directory.Directory` wrapper.

- **Positive entries** live ``hit_ttl`` seconds (default 1 h, the age at which the TS
  reference considers a DID document stale). An identity whose handle did not verify is
  kept only ``invalid_handle_ttl`` (5 min), so a freshly fixed handle shows up soon.
- **Negative entries** (any :class:`IdentityError`: not found, resolution failure, ...)
  live ``error_ttl`` (2 min, as in indigo), which stops a hot broken name from hammering
  DNS and HTTP while still expiring well within the 5 minutes reliability N4 asks for.
- **Coalescing**: concurrent lookups of the same key share one in-flight resolution.
  The resolution runs in its own task, so a caller that is cancelled does not cancel it
  for the others, and its result still lands in the cache.
- **Bounded**: at most ``max_entries`` per table; expired entries go first, then the
  oldest.
- :meth:`purge` drops a DID and its handle (or a handle and its DID), and detaches any
  lookup of them still in flight: its waiters get its answer, but the answer is not
  cached and later lookups start afresh, so nothing resolved before a purge can land
  in the cache after it. Call it on ``#identity`` events.
- :meth:`refresh` is purge-then-lookup: after a signature fails to verify with the
  cached key, call it once and verify again with the fresh key.

Errors that are not :class:`IdentityError` (bugs, cancellation) are never cached.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from lexforge.runtime.identity.directory import Directory, lookup_identifier, parse_at_identifier
from lexforge.runtime.identity.errors import IdentityError, MalformedIdentifierError
from lexforge.runtime.identity.model import Identity
from lexforge.runtime.syntax import Did, Handle

__all__ = ["CachingDirectory"]


@dataclass(slots=True)
class _Entry:
    value: Identity | IdentityError
    expires: float


class CachingDirectory:
    """Cache lookups of an inner :class:`Directory` (see the module docstring)."""

    def __init__(
        self,
        inner: Directory,
        *,
        hit_ttl: float = 3600.0,
        error_ttl: float = 120.0,
        invalid_handle_ttl: float = 300.0,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if min(hit_ttl, error_ttl, invalid_handle_ttl) < 0 or max_entries < 1:
            raise ValueError("TTLs must be >= 0 and max_entries >= 1")
        self.inner = inner
        self.hit_ttl = hit_ttl
        self.error_ttl = error_ttl
        self.invalid_handle_ttl = invalid_handle_ttl
        self.max_entries = max_entries
        self._clock = clock
        self._by_did: dict[str, _Entry] = {}
        self._by_handle: dict[str, _Entry] = {}
        self._tables = {"did": self._by_did, "handle": self._by_handle}
        self._inflight: dict[tuple[str, str], asyncio.Future[Identity]] = {}

    # -- Directory ----------------------------------------------------------------------

    async def lookup_did(self, did: str) -> Identity:
        key = parse_at_identifier(did)
        if not isinstance(key, Did):
            raise MalformedIdentifierError(f"expected a DID, got {did[:100]!r}")
        hit = self._get(self._by_did, key)
        if hit is not None:
            return _unwrap(hit)
        return await self._coalesced("did", key, lambda: self.inner.lookup_did(key))

    async def lookup_handle(self, handle: str) -> Identity:
        key = parse_at_identifier(handle)
        if not isinstance(key, Handle):
            raise MalformedIdentifierError(f"expected a handle, got a DID: {handle[:100]!r}")
        hit = self._get(self._by_handle, key)
        if hit is not None:
            return _unwrap(hit)
        return await self._coalesced("handle", key, lambda: self.inner.lookup_handle(key))

    async def lookup(self, identifier: str) -> Identity:
        return await lookup_identifier(self, identifier)

    async def purge(self, identifier: str) -> None:
        key = parse_at_identifier(identifier)
        kind = "did" if isinstance(key, Did) else "handle"
        self._detach(kind, key)
        entry = self._tables[kind].pop(key, None)
        if entry is not None and isinstance(entry.value, Identity):
            ident = entry.value
            related = {ident.did, ident.handle, ident.declared_handle} - {None, key}
            for name in related:
                assert name is not None
                name_kind = "did" if name.startswith("did:") else "handle"
                self._tables[name_kind].pop(name, None)
                self._detach(name_kind, name)
        await self.inner.purge(identifier)

    async def refresh(self, identifier: str) -> Identity:
        """Purge ``identifier`` (see :meth:`purge`), then look it up afresh and cache
        the result."""
        await self.purge(identifier)
        return await lookup_identifier(self, identifier)

    # -- internals ----------------------------------------------------------------------

    def _ttl(self, value: Identity | IdentityError) -> float:
        if isinstance(value, IdentityError):
            return self.error_ttl
        return self.hit_ttl if value.handle is not None else self.invalid_handle_ttl

    def _get(self, table: dict[str, _Entry], key: str) -> Identity | IdentityError | None:
        entry = table.get(key)
        if entry is None:
            return None
        if entry.expires <= self._clock():
            del table[key]
            return None
        return entry.value

    def _put(self, table: dict[str, _Entry], key: str, value: Identity | IdentityError) -> None:
        now = self._clock()
        table.pop(key, None)
        table[key] = _Entry(value, now + self._ttl(value))
        if len(table) > self.max_entries:
            for stale in [k for k, e in table.items() if e.expires <= now]:
                del table[stale]
            while len(table) > self.max_entries:
                del table[next(iter(table))]

    def _store_identity(self, ident: Identity) -> None:
        self._put(self._by_did, ident.did, ident)
        if ident.handle is not None:
            self._put(self._by_handle, ident.handle, ident)

    def _detach(self, kind: str, key: str) -> None:
        """Forget the in-flight lookup of ``key``: its result will not be cached."""
        self._inflight.pop((kind, key), None)

    async def _coalesced(
        self,
        kind: str,
        key: str,
        factory: Callable[[], Coroutine[Any, Any, Identity]],
    ) -> Identity:
        future = self._inflight.get((kind, key))
        if future is None:
            future = asyncio.ensure_future(factory())
            self._inflight[(kind, key)] = future
            future.add_done_callback(lambda f: self._done(kind, key, f))
        return await asyncio.shield(future)

    def _done(self, kind: str, key: str, future: asyncio.Future[Identity]) -> None:
        # Runs before any waiter resumes (it was the first callback added), so a caller
        # that got the answer always finds it cached too.
        current = self._inflight.get((kind, key)) is future
        if current:
            del self._inflight[(kind, key)]
        if future.cancelled():
            return
        exc = future.exception()  # also marks it retrieved if every waiter was cancelled
        if not current:
            return  # purged while in flight: the answer may predate the purge
        if exc is None:
            self._store_identity(future.result())
        elif isinstance(exc, IdentityError):
            self._put(self._tables[kind], key, exc)


def _unwrap(value: Identity | IdentityError) -> Identity:
    if isinstance(value, IdentityError):
        # Raise a fresh copy (same type, message and cause): re-raising the cached object
        # itself would grow its traceback on every hit and share it between tasks.
        err = copy.copy(value)
        raise err.with_traceback(None) from value.__cause__
    return value

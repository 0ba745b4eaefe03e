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
- :meth:`purge` drops a DID and its handle (or a handle and its DID); call it on
  ``#identity`` events and after a signature fails to verify (then look up again once).

Errors that are not :class:`IdentityError` (bugs, cancellation) are never cached.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from lexforge.runtime.identity.directory import Directory, parse_at_identifier
from lexforge.runtime.identity.errors import IdentityError
from lexforge.runtime.identity.model import Identity
from lexforge.runtime.syntax import Did

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
        self._inflight: dict[tuple[str, str], asyncio.Future[Identity]] = {}

    # -- Directory ----------------------------------------------------------------------

    async def lookup_did(self, did: str) -> Identity:
        key = parse_at_identifier(did)
        hit = self._get(self._by_did, key)
        if hit is not None:
            return _unwrap(hit)
        return await self._coalesced(("did", key), lambda: self._fill_did(key))

    async def lookup_handle(self, handle: str) -> Identity:
        key = parse_at_identifier(handle)
        hit = self._get(self._by_handle, key)
        if hit is not None:
            return _unwrap(hit)
        return await self._coalesced(("handle", key), lambda: self._fill_handle(key))

    async def lookup(self, identifier: str) -> Identity:
        parsed = parse_at_identifier(identifier)
        if isinstance(parsed, Did):
            return await self.lookup_did(parsed)
        return await self.lookup_handle(parsed)

    async def purge(self, identifier: str) -> None:
        key = parse_at_identifier(identifier)
        table, other = (
            (self._by_did, self._by_handle)
            if isinstance(key, Did)
            else (self._by_handle, self._by_did)
        )
        entry = table.pop(key, None)
        if entry is not None and isinstance(entry.value, Identity):
            ident = entry.value
            other.pop(ident.did, None)
            for name in (ident.handle, ident.declared_handle):
                if name is not None:
                    other.pop(name, None)
        await self.inner.purge(identifier)

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

    async def _fill_did(self, did: str) -> Identity:
        try:
            ident = await self.inner.lookup_did(did)
        except IdentityError as exc:
            self._put(self._by_did, did, exc)
            raise
        self._store_identity(ident)
        return ident

    async def _fill_handle(self, handle: str) -> Identity:
        try:
            ident = await self.inner.lookup_handle(handle)
        except IdentityError as exc:
            self._put(self._by_handle, handle, exc)
            raise
        self._store_identity(ident)
        return ident

    async def _coalesced(
        self, key: tuple[str, str], factory: Callable[[], Coroutine[Any, Any, Identity]]
    ) -> Identity:
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(factory())
            self._inflight[key] = future
            future.add_done_callback(lambda f: self._done(key, f))
        return await asyncio.shield(future)

    def _done(self, key: tuple[str, str], future: asyncio.Future[Identity]) -> None:
        if self._inflight.get(key) is future:
            del self._inflight[key]
        if not future.cancelled():
            future.exception()  # mark retrieved: every waiter may have been cancelled


def _unwrap(value: Identity | IdentityError) -> Identity:
    if isinstance(value, IdentityError):
        # Raise a fresh copy (same type, message and cause): re-raising the cached object
        # itself would grow its traceback on every hit and share it between tasks.
        err = copy.copy(value)
        raise err.with_traceback(None) from value.__cause__
    return value

"""A firehose (``subscribeRepos``) consumer: resume, reconnect, verify, dispatch in order.

:class:`FirehoseConsumer` connects to any ``subscribeRepos`` URL (``ws://``/``wss://``,
or a bare host to which the XRPC path is appended), resumes from a cursor, decodes every
frame into a typed event (:mod:`.frames`), optionally passes it through a verify hook,
and awaits the handler for it.

Guarantees, and how they are kept:

* **At least once, in order per repo.** Events are spread over ``workers`` tasks by a
  stable hash of the DID, so one repo's events run one after another in stream order,
  while different repos run concurrently. Queues are bounded (``queue_size`` per
  worker): a slow handler stops the reader, which stops reading the socket
  (backpressure; the server may then cut us off with ``ConsumerTooSlow``).
* **The cursor never passes an unprocessed event.** :class:`~.cursor.CursorTracker`
  commits only a contiguous run of finished seqs; a background task saves the committed
  seq to the :class:`~.cursor.CursorStore` (saves coalesce under load). A restart
  resumes from it, so events in flight at a crash are delivered again (duplicates are
  possible across restarts; never gaps). Within one run, a reconnect resumes after the
  last seq handed out, and any replayed ``seq <= last`` is dropped.
* **Reconnects** after a drop, a bad frame (the spec says malformed framing drops the
  connection), an oversized message, or an error frame other than ``FutureCursor``,
  with capped exponential backoff and jitter (reset once a connection delivers). Error
  frames and bad frames are reported to ``on_error``; ``#info`` (e.g.
  ``OutdatedCursor``) to ``on_info``. ``FutureCursor`` stops the consumer with
  :class:`~.errors.FutureCursorError`: retrying with the same cursor cannot help.
* **A refused handshake** (an HTTP status instead of the upgrade) is a
  :class:`~.errors.HandshakeRefusedError`, reported to ``on_error``. As the event-stream
  spec says: 501 (streams not supported), any other 4xx but 429 (bad request, auth) and
  any non-error status stop the consumer with it, since asking again gets the same
  answer; 429 and 5xx are retried with the backoff, and a ``Retry-After`` (seconds or
  an HTTP date) is honoured as the least wait, capped at ``max_retry_after`` (300 s).
* **Failures stop it.** If the handler (or the verify hook, other than by rejecting with
  :class:`~.errors.VerificationError`) raises, the consumer stops and :meth:`run`
  raises :class:`~.errors.HandlerError` (cause attached); the cursor stays before that
  event. :meth:`stop`, cancelling :meth:`run`, or leaving ``async with`` stop cleanly:
  in-flight handlers are cancelled (and so not committed) and the cursor is saved.
* **Graceful drain** (``stop(drain=seconds)``, for SIGTERM in a container): the reader
  is cancelled at once, so no frame is read or dispatched after the call (an event the
  reader was still waiting to queue is not handed out, and so not committed); the
  events already queued and in flight then get up to ``seconds`` to finish, in their
  usual per-repo order. What is left at the deadline is cancelled exactly like a plain
  :meth:`stop`; the cursor is saved at the last *contiguous* finished seq (the tracker's
  rule is the same during a drain, so it never passes an event that did not finish,
  and a restart redelivers the unfinished ones), and :meth:`run` returns normally. A
  handler that raises during the drain ends it as a failure does at any time
  (``HandlerError``). A plain :meth:`stop` (or cancelling :meth:`run`) during a drain
  ends it at once (a second Ctrl-C); a second ``stop(drain=...)`` may only bring the
  deadline closer. Leaving ``async with`` without an exception after
  ``stop(drain=...)`` waits for the drain instead of cutting it short. ``stop()`` with
  no argument keeps cancelling at once: callers that stop from a handler, or rely on a
  prompt return, are not made to wait for a slow queue they did not ask to finish.

The WebSocket message cap is :data:`~.frames.MAX_MESSAGE_BYTES` (5 MB frames plus
header room; the ``websockets`` default of 1 MiB would refuse legal 2 MB slices).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
import random
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, TypeAlias, runtime_checkable
from urllib.parse import parse_qsl, urlencode, urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from lexforge.runtime.sync.cursor import (
    CursorStore,
    CursorTracker,
    FileCursorStore,
    MemoryCursorStore,
    SqliteCursorStore,
)
from lexforge.runtime.sync.errors import (
    EventError,
    FrameLimitError,
    FutureCursorError,
    HandlerError,
    StreamErrorFrame,
    SyncError,
    VerificationError,
)
from lexforge.runtime.sync.events import (
    NSID,
    CommitEvent,
    InfoEvent,
    RepoEvent,
    SyncEvent,
)
from lexforge.runtime.sync.frames import MAX_MESSAGE_BYTES, decode_event
from lexforge.runtime.sync.handshake import handshake_refusal

__all__ = [
    "Backoff",
    "CommitVerifierLike",
    "CursorStore",
    "ErrorCallback",
    "EventVerifier",
    "FileCursorStore",
    "FirehoseConsumer",
    "Handler",
    "InfoCallback",
    "InvalidHandler",
    "MemoryCursorStore",
    "SqliteCursorStore",
    "as_event_verifier",
    "subscribe_url",
]

log = logging.getLogger(__name__)

#: ``await handler(event)`` for each sequenced event (``#commit``, ``#sync``,
#: ``#identity``, ``#account``).
Handler: TypeAlias = Callable[[RepoEvent], Awaitable[None]]
#: ``await on_invalid(event, error)`` for an event the verify hook rejected (dropped).
InvalidHandler: TypeAlias = Callable[[RepoEvent, VerificationError], Awaitable[None]]
#: Called (sync or async) with each error frame, bad frame or connection failure.
ErrorCallback: TypeAlias = Callable[[BaseException], Awaitable[None] | None]
#: Called (sync or async) with each ``#info`` event.
InfoCallback: TypeAlias = Callable[[InfoEvent], Awaitable[None] | None]

#: WebSocket close code "message too big" (RFC 6455).
_CLOSE_TOO_BIG = 1009


@runtime_checkable
class EventVerifier(Protocol):
    """The verify hook: ``await verify(event)`` returns to accept, raises to reject.

    Reject by raising :class:`~.errors.VerificationError` (the event is dropped and
    reported to ``on_invalid``); any other exception stops the consumer. It is called
    for every sequenced event of a repo, in that repo's order (never concurrently for one
    DID), so it may keep per-repo state (last rev, last data root) and may react to
    ``#identity`` (refresh keys) or ``#account`` events.
    """

    async def __call__(self, event: RepoEvent, /) -> None: ...


class CommitVerifierLike(Protocol):
    """The shape of :class:`lexforge.runtime.sync.verify.CommitVerifier`."""

    async def verify_commit(self, event: CommitEvent, /) -> object: ...

    async def verify_sync(self, event: SyncEvent, /) -> object: ...


def as_event_verifier(verifier: EventVerifier | CommitVerifierLike) -> EventVerifier:
    """A verify hook from either a hook or a commit verifier (``verify_commit``/``_sync``).

    A commit verifier checks ``#commit`` and ``#sync`` events; others pass through.
    """
    if hasattr(verifier, "verify_commit") and hasattr(verifier, "verify_sync"):
        inner: Any = verifier

        async def hook(event: RepoEvent, /) -> None:
            if isinstance(event, CommitEvent):
                await inner.verify_commit(event)
            elif isinstance(event, SyncEvent):
                await inner.verify_sync(event)

        return hook
    if not callable(verifier):
        raise TypeError(f"not a verifier: {type(verifier).__name__}")
    return verifier


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped exponential backoff with jitter: attempt ``n`` waits in ``[d/2, d]``,
    ``d = min(maximum, initial * multiplier**n)`` (jitter spreads reconnect storms)."""

    initial: float = 0.5
    maximum: float = 30.0
    multiplier: float = 2.0

    def delay(self, attempt: int) -> float:
        base = min(self.maximum, self.initial * self.multiplier ** min(attempt, 64))
        return base / 2 + random.random() * base / 2


def subscribe_url(url: str, cursor: int | None = None) -> str:
    """The ws(s) endpoint URL for ``url`` with ``cursor`` set (any old cursor replaced).

    ``url`` may be a bare host (``bsky.network``: ``wss`` is assumed), an http(s) or
    ws(s) base URL, a URL ending in ``/xrpc``, or the full endpoint URL.
    """
    if "://" not in url:
        url = "wss://" + url
    scheme, _, rest = url.partition("://")
    scheme = {"http": "ws", "https": "wss"}.get(scheme.lower(), scheme.lower())
    if scheme not in ("ws", "wss"):
        raise ValueError(f"firehose URL must be ws://, wss://, http(s):// or a host: {url!r}")
    parts = urlsplit(f"{scheme}://{rest}")
    if not parts.netloc:
        raise ValueError(f"firehose URL has no host: {url!r}")
    path = parts.path.rstrip("/")
    if not path.endswith("/" + NSID):
        path = f"{path}/{NSID}" if path.endswith("/xrpc") else f"{path}/xrpc/{NSID}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "cursor"]
    if cursor is not None:
        query.append(("cursor", str(cursor)))
    encoded = urlencode(query)
    return f"{scheme}://{parts.netloc}{path}" + (f"?{encoded}" if encoded else "")


async def _call(callback: Callable[[Any], Awaitable[None] | None], arg: Any) -> None:
    result = callback(arg)
    if inspect.isawaitable(result):
        await result


class FirehoseConsumer:
    """See the module docstring. ``await run()`` or ``async with``; :meth:`stop` ends it.

    ``cursor`` (if given) overrides the store's value for the first connection; with
    neither, the consumer starts live. ``reconnect=False`` ends :meth:`run` when the
    first connection ends (after the queued events are processed).
    """

    def __init__(
        self,
        url: str,
        handler: Handler,
        *,
        cursor_store: CursorStore | None = None,
        cursor: int | None = None,
        verifier: EventVerifier | CommitVerifierLike | None = None,
        on_invalid: InvalidHandler | None = None,
        on_error: ErrorCallback | None = None,
        on_info: InfoCallback | None = None,
        workers: int = 1,
        queue_size: int = 100,
        backoff: Backoff | None = None,
        min_backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 300.0,
        reconnect: bool = True,
        max_size: int = MAX_MESSAGE_BYTES,
        open_timeout: float = 10.0,
        ping_interval: float | None = 20.0,
        close_timeout: float = 2.0,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        if queue_size < 1:
            raise ValueError("queue_size must be >= 1")
        if not max_retry_after >= 0:
            raise ValueError("max_retry_after must be >= 0")
        subscribe_url(url)  # fail early on a bad URL
        self.url = url
        self.handler = handler
        self.cursor_store: CursorStore = cursor_store or MemoryCursorStore()
        self.start_cursor = cursor
        self.verify = None if verifier is None else as_event_verifier(verifier)
        self.on_invalid = on_invalid
        self.on_error = on_error
        self.on_info = on_info
        self.workers = workers
        self.queue_size = queue_size
        self.backoff = backoff or Backoff(initial=min_backoff, maximum=max_backoff)
        self.max_retry_after = max_retry_after
        self.reconnect = reconnect
        self.max_size = max_size
        self.open_timeout = open_timeout
        self.ping_interval = ping_interval
        self.close_timeout = close_timeout
        #: Counters: connections opened, events handed to workers, replays dropped.
        self.connections = 0
        self.dispatched = 0
        self.duplicates = 0
        self.rejected = 0
        self._tracker = CursorTracker()
        self._stopping = asyncio.Event()
        self._draining = asyncio.Event()  # stop(drain=...) was called (or moved closer)
        self._drain_deadline: float | None = None  # time.monotonic() when a drain ends
        self._dirty = asyncio.Event()
        self._saved: int | None = None
        self._queues: list[asyncio.Queue[RepoEvent]] = []
        self._failure: BaseException | None = None
        self._delivered = False
        self._task: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None

    # -- public ------------------------------------------------------------------------

    @property
    def cursor(self) -> int | None:
        """The last processed seq (the value the store holds or is about to)."""
        return self._tracker.committed

    def stop(self, *, drain: float | None = None) -> None:
        """Ask :meth:`run` to stop (safe to call from handlers and callbacks).

        Without ``drain``, in-flight and queued events are cancelled at once (not
        committed; redelivered after a restart). With ``drain=seconds`` (``>= 0``;
        ``math.inf`` waits as long as it takes), no further frame is read and the
        events already received get that long to finish before the rest is cancelled;
        :meth:`run` then saves the cursor and returns normally. See the module
        docstring for how the two combine.
        """
        if drain is None:
            self._stopping.set()
            return
        if not drain >= 0:  # also refuses NaN
            raise ValueError(f"drain must be >= 0 seconds, not {drain!r}")
        deadline = time.monotonic() + drain if math.isfinite(drain) else math.inf
        if self._drain_deadline is None or deadline < self._drain_deadline:
            self._drain_deadline = deadline
            self._draining.set()
        if self._reader is not None:
            # Cancel here, not when run() wakes: a put() already woken in this loop
            # iteration would otherwise still queue its event after the drain began.
            self._reader.cancel()

    @property
    def draining(self) -> bool:
        """True once ``stop(drain=...)`` was called."""
        return self._drain_deadline is not None

    async def __aenter__(self) -> FirehoseConsumer:
        self._task = asyncio.create_task(self.run())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None or not self.draining:
            self.stop()  # a body that raised, or no drain asked for: stop at once
        if self._task is None:
            return
        try:
            await self._task
        except Exception:
            if exc is None:
                raise
            log.exception("firehose consumer failed while the body was raising")

    async def wait(self) -> None:
        """Wait for a consumer started with ``async with`` to end (raises its failure)."""
        if self._task is None:
            raise RuntimeError("the consumer was not started with 'async with'")
        await asyncio.shield(self._task)

    async def run(self) -> None:
        """Consume until :meth:`stop`, cancellation, ``FutureCursor`` or a handler error."""
        start = self.start_cursor
        if start is None:
            start = await self.cursor_store.load()
        self._tracker = CursorTracker(start)
        self._saved = start
        self._queues = [asyncio.Queue(maxsize=self.queue_size) for _ in range(self.workers)]
        workers = [asyncio.create_task(self._worker(q)) for q in self._queues]
        flusher = asyncio.create_task(self._flusher())
        reader = self._reader = asyncio.create_task(self._read_loop())
        if self.draining:  # stop(drain=...) before run(): read nothing
            reader.cancel()
        stopping = asyncio.create_task(self._stopping.wait())
        draining = asyncio.create_task(self._draining.wait())
        try:
            await asyncio.wait({reader, stopping, draining}, return_when=asyncio.FIRST_COMPLETED)
            if not stopping.done() and not reader.done():
                # stop(drain=...): read nothing more, then finish what was received.
                reader.cancel()
                await asyncio.wait({reader})
            if not stopping.done() and (reader.cancelled() or reader.exception() is None):
                # A drain was asked for, or reconnect=False and the stream ended.
                await self._finish_queued(stopping)
        finally:
            tasks = [reader, stopping, draining, flusher, *workers]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._reader = None
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._flush())
        if self._failure is None and reader.done() and not reader.cancelled():
            self._failure = reader.exception()
        if self._failure is not None:
            raise self._failure

    async def _finish_queued(self, stopping: asyncio.Task[Any]) -> None:
        """Wait for the queued and in-flight events, a hard stop, or the drain deadline.

        The deadline is re-read whenever ``stop(drain=...)`` moves it closer; until a
        drain is asked for (``reconnect=False`` ending), there is none.
        """
        drained = asyncio.create_task(self._join_queues())
        try:
            while not drained.done() and not stopping.done():
                self._draining.clear()
                moved = asyncio.create_task(self._draining.wait())
                deadline = self._drain_deadline
                timeout = None if deadline is None else deadline - time.monotonic()
                if timeout is not None and timeout <= 0:
                    moved.cancel()
                    return
                if timeout == math.inf:
                    timeout = None
                try:
                    await asyncio.wait(
                        {drained, stopping, moved},
                        timeout=timeout,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    moved.cancel()
        finally:
            drained.cancel()

    async def _join_queues(self) -> None:
        for queue in self._queues:
            await queue.join()

    # -- reading -----------------------------------------------------------------------

    async def _report(self, exc: BaseException) -> None:
        if self.on_error is None:
            log.warning("firehose: %s: %s", type(exc).__name__, exc)
            return
        try:
            await _call(self.on_error, exc)
        except Exception:
            log.exception("firehose: on_error callback failed")

    async def _read_loop(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            cursor = self._tracker.last_started
            self._delivered = False
            retry_after: float | None = None
            try:
                await self._session(subscribe_url(self.url, cursor))
            except InvalidStatus as exc:
                response = exc.response
                refused = handshake_refusal(response.status_code, response.headers, response.body)
                await self._report(refused)
                if not refused.retryable:
                    raise refused from None
                retry_after = refused.retry_after
            except FutureCursorError as exc:
                await self._report(exc)
                raise
            except (OSError, TimeoutError, WebSocketException, StreamErrorFrame) as exc:
                await self._report(_connection_error(exc))
            if not self.reconnect:
                return
            attempt = 0 if self._delivered else attempt + 1
            delay = self.backoff.delay(attempt)
            if retry_after is not None:  # the server's hint is the least wait
                delay = max(delay, min(retry_after, self.max_retry_after))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def _session(self, url: str) -> None:
        """One connection; sets ``_delivered`` once it hands out an event."""
        async with connect(
            url,
            max_size=self.max_size,
            open_timeout=self.open_timeout,
            ping_interval=self.ping_interval,
            close_timeout=self.close_timeout,
            user_agent_header="lexforge-firehose",
        ) as ws:
            self.connections += 1
            try:
                await self._receive(ws)
            except asyncio.CancelledError:
                ws.transport.abort()  # stopping: no close handshake behind unread data
                raise

    async def _receive(self, ws: ClientConnection) -> None:
        async for data in ws:
            try:
                event = decode_event(data)
            except EventError as exc:
                ws.transport.abort()  # malformed frame: drop the connection (spec)
                await self._report(exc)
                return
            except StreamErrorFrame:
                # The server closes after an error frame. Do not wait for its close
                # frame: it may sit behind unread messages in a paused transport.
                ws.transport.abort()
                raise
            if event is None:
                continue  # unknown op or t: skip
            if isinstance(event, InfoEvent):
                await self._info(event)
                continue
            self._delivered = True
            await self._dispatch(event)

    async def _info(self, event: InfoEvent) -> None:
        if self.on_info is None:
            log.warning("firehose #info %s: %s", event.name, event.message or "")
            return
        try:
            await _call(self.on_info, event)
        except Exception:
            log.exception("firehose: on_info callback failed")

    async def _dispatch(self, event: RepoEvent) -> None:
        last = self._tracker.last_started
        if last is not None and event.seq <= last:
            self.duplicates += 1  # replayed after a reconnect, or an upstream out of order
            return
        index = zlib.crc32(event.did.encode()) % self.workers if self.workers > 1 else 0
        await self._queues[index].put(event)
        # Started only once queued: a put cancelled by a drain hands nothing out (the
        # event is read again after a restart). No await between the put and start(),
        # so the worker cannot finish the event before it is started.
        self._tracker.start(event.seq)
        self.dispatched += 1

    # -- processing --------------------------------------------------------------------

    async def _worker(self, queue: asyncio.Queue[RepoEvent]) -> None:
        while True:
            event = await queue.get()
            try:
                await self._process(event)
            except Exception as exc:
                failure = HandlerError(event.seq, f"handler failed on seq {event.seq}: {exc!r}")
                failure.__cause__ = exc
                if self._failure is None:
                    self._failure = failure
                self._stopping.set()
                return
            finally:
                queue.task_done()
            if self._tracker.finish(event.seq):
                self._dirty.set()

    async def _process(self, event: RepoEvent) -> None:
        if self.verify is not None:
            try:
                await self.verify(event)
            except VerificationError as exc:
                self.rejected += 1
                if self.on_invalid is not None:
                    await self.on_invalid(event, exc)
                else:
                    log.warning("firehose: dropping seq %s (%s): %s", event.seq, event.did, exc)
                return
        await self.handler(event)

    async def _flush(self) -> None:
        committed = self._tracker.committed
        if committed is not None and committed != self._saved:
            await self.cursor_store.save(committed)
            self._saved = committed

    async def _flusher(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                await self._flush()
            except SyncError as exc:
                if self._failure is None:
                    self._failure = exc
                self._stopping.set()
                return


def _connection_error(exc: BaseException) -> BaseException:
    """The error to report for a failed connection (oversized messages made explicit)."""
    sent = exc.sent if isinstance(exc, ConnectionClosed) else None
    if sent is not None and sent.code == _CLOSE_TOO_BIG:
        return FrameLimitError(f"a message was over the {MAX_MESSAGE_BYTES}-byte cap")
    return exc

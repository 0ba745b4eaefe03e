"""Raw (non-JSON) method outputs: whole ``bytes`` or a stream of bytes chunks.

A handler of a method whose Lexicon output encoding is not JSON (a repo CAR, a blob)
returns :data:`RawOutput`: ``bytes`` when the body is small and already in memory
(sent with ``Content-Length``), or an iterable of chunks when it is not, so a 200 MB
CAR never has to be held whole. Async iterables are read on the event loop; sync ones
(a file read in blocks, a generator over SQLite rows) in a worker thread, one chunk at
a time, so a blocking read never stalls other requests.

What the stream does at its edges:

* the first chunk is fetched before the status line goes out, so a handler that fails
  early (``raise XrpcNotFound`` before its first ``yield``) still gets its proper XRPC
  error reply, and a handler that sets ``ctx.response_headers`` before its first
  ``yield`` gets them sent;
* a failure after the first chunk cannot change the status any more: it is logged once
  (``lexforge.runtime.xrpc``, with the method and byte count) and the response is left
  incomplete, which makes the server abort the connection instead of finishing a body
  that would look whole (uvicorn closes it without the final chunk, and notes
  "returned without completing response"; the client sees a protocol error);
* the source is always closed (``aclose()`` / ``close()``) when the response ends,
  including when the client goes away early, so a handler's ``finally`` runs promptly.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping

import anyio
from pydantic import BaseModel
from starlette.requests import ClientDisconnect
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from lexforge.runtime.xrpc.raw import RawOutput

__all__ = ["RawOutput", "RawStream", "RawStreamResponse", "open_raw_stream"]

logger = logging.getLogger("lexforge.runtime.xrpc")

_DONE = object()


def _check_chunk(nsid: str, chunk: object) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, bytearray | memoryview):
        return bytes(chunk)
    raise TypeError(f"{nsid}: a raw output chunk must be bytes, not {type(chunk).__name__}")


async def _from_sync(source: Iterator[object]) -> AsyncIterator[object]:
    """``source`` read in a worker thread, closed (also in one) however iteration ends."""
    try:
        while True:
            chunk = await anyio.to_thread.run_sync(next, source, _DONE)
            if chunk is _DONE:
                return
            yield chunk
    finally:
        close = getattr(source, "close", None)
        if callable(close):
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(close)


class RawStream:
    """A raw output stream whose first chunk has already been read.

    Built by :func:`open_raw_stream`; owns the handler's iterator and closes it.
    """

    __slots__ = ("_source", "first", "nsid")

    def __init__(self, nsid: str, first: bytes | None, source: AsyncIterator[object]) -> None:
        self.nsid = nsid
        #: The first chunk, or ``None`` when the stream was empty.
        self.first = first
        self._source = source

    async def next_chunk(self) -> bytes | None:
        """The next chunk (``None`` at the end); the source's own errors propagate."""
        try:
            chunk = await anext(self._source)
        except StopAsyncIteration:
            return None
        return _check_chunk(self.nsid, chunk)

    async def aclose(self) -> None:
        """Close the handler's iterator (runs its ``finally``); safe to repeat."""
        aclose = getattr(self._source, "aclose", None)
        if aclose is not None:
            with anyio.CancelScope(shield=True):
                await aclose()


def _as_async_iterator(nsid: str, result: object) -> AsyncIterator[object]:
    if isinstance(result, AsyncIterable):
        return aiter(result)
    if isinstance(result, str | Mapping | BaseModel) or not isinstance(result, Iterable):
        raise TypeError(
            f"{nsid}: a raw output must be bytes or an iterable of bytes chunks, "
            f"not {type(result).__name__}"
        )
    return _from_sync(iter(result))


async def open_raw_stream(nsid: str, result: object) -> RawStream:
    """Start reading a handler's chunk iterable: the first chunk is read here.

    Raises ``TypeError`` for anything that is no iterable of bytes chunks (``str``, a
    mapping, a model, a number) and whatever the iterable raises before its first chunk;
    the iterable is closed in both cases.
    """
    source = _as_async_iterator(nsid, result)
    stream = RawStream(nsid, None, source)
    try:
        stream.first = await stream.next_chunk()
    except BaseException:
        await stream.aclose()
        raise
    return stream


class RawStreamResponse(StreamingResponse):
    """A streamed raw output: chunked, aborted on a mid-stream failure, always closed."""

    def __init__(self, stream: RawStream, *, media_type: str, headers: Mapping[str, str]) -> None:
        super().__init__((), media_type=media_type, headers=headers)
        self.stream = stream

    async def stream_response(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        stream = self.stream
        chunk = stream.first
        sent = 0
        while chunk is not None:
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                sent += len(chunk)
            try:
                chunk = await stream.next_chunk()
            except Exception as exc:
                logger.error(
                    "%s: raw output failed after %d bytes; aborting the response",
                    stream.nsid,
                    sent,
                    exc_info=exc,
                )
                return  # no final message: the server drops the connection
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except (OSError, ClientDisconnect):
            logger.debug("%s: client went away during a raw output", self.stream.nsid)
        finally:
            await self.stream.aclose()

"""Serving a subscription: typed messages from a handler, frames on a WebSocket.

The handler is an async generator: ``async def handle(ctx, params)`` yielding message
models (members of the Lexicon's message union) or already-encoded frames (``bytes``,
e.g. events a sequencer stored as frames). Before the upgrade the parameters are
validated and the auth hook runs; a failure there is refused with the XRPC error as an
HTTP response (or a close when the server cannot send one). After the upgrade each item
is sent as a binary frame; an exception becomes an error frame
(``{op: -1}{error, message}``) followed by a close with code 1008 and the error name as
reason, as the reference does. The end of the generator closes with 1000. Frames sent
by the client are ignored; its disconnect cancels the handler.

**The first step decides the handshake.** Whether a handler is implemented is only
known once it runs: a ``lexforge scaffold`` stub is a generator whose first step raises
:class:`~.errors.MethodNotImplemented`. The event-stream spec answers "streams not
supported" with HTTP 501 at the handshake (a client must not retry), not with an error
frame after an upgrade. So before accepting, the whole generator is started in its own
task (the one task that runs it to the end, so context variables and cancel scopes the
handler opens stay in one task), and the endpoint lets the event loop turn at most
:data:`FIRST_STEP_TURNS` times (``anyio.lowlevel.checkpoint``: no wall-clock wait) for
that first step to finish:

* it raised an XRPC error with status 501: the handshake is refused with the 501 XRPC
  error response;
* it raised anything else (e.g. ``FutureCursor``, which the spec sends as an error
  frame): accept, error frame, close 1008, as before;
* it yielded a message or ended: accept, then send it (or close 1000);
* it is still pending (the handler awaits I/O or live events): accept at once; the same
  task keeps awaiting that same step, so nothing is lost or reordered. A client that
  leaves meanwhile cancels it.

A handler that raises ``MethodNotImplemented`` only after really blocking (I/O, a
thread, a timer) is past the handshake by then and gets the error frame. In every case
the generator is closed (``aclose``) when serving ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final, TypeAlias

import anyio
import anyio.lowlevel
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from lexforge.runtime.xrpc import codec
from lexforge.runtime.xrpc.binding import Subscription
from lexforge.runtime.xrpc.context import AuthHook, XrpcContext
from lexforge.runtime.xrpc.errors import (
    XrpcBadRequest,
    XrpcError,
    XrpcNotImplemented,
    XrpcUpgradeRequired,
)
from lexforge.runtime.xrpc.frames import encode_error_frame, encode_message_frame
from lexforge.runtime.xrpc.server import (
    Handler,
    as_xrpc_error,
    authenticate,
    error_response,
    logger,
    read_params,
)

__all__ = [
    "FIRST_STEP_TURNS",
    "WebSocketEndpoint",
    "encode_message",
    "not_implemented_websocket",
    "subscription_endpoint",
    "upgrade_required_endpoint",
]

WebSocketEndpoint: TypeAlias = Callable[[WebSocket], Awaitable[None]]

#: Close codes: normal end, and "policy violation" after an error frame (reference).
_CLOSE_NORMAL = 1000
_CLOSE_ERROR = 1008

#: Event-loop turns a handler's first step gets to finish before the handshake is
#: answered. A stub raises in the first turn; a few more cover handlers that await
#: uncontended locks or other non-blocking steps before raising. A step that is still
#: pending after these turns is waiting for something real, and the client is accepted.
FIRST_STEP_TURNS: Final = 8


def encode_message(binding: Subscription, message: object) -> bytes:
    """The frame for one item a handler yielded."""
    if isinstance(message, bytes | bytearray | memoryview):
        return bytes(message)
    t = binding.frame_type(message)
    if t is None:
        raise TypeError(f"{binding.nsid}: {type(message).__name__} is not a message type")
    body = codec.to_data(message)
    if not isinstance(body, dict):
        raise TypeError(f"{binding.nsid}: message {t} is not an object")
    body.pop("$type", None)
    return encode_message_frame(t, body)


async def _refuse(websocket: WebSocket, error: XrpcError) -> None:
    """Refuse the handshake with the XRPC error as an HTTP response when possible."""
    try:
        await websocket.send_denial_response(error_response(error))
    except RuntimeError:  # the server has no websocket.http.response extension
        await websocket.close(code=_CLOSE_ERROR, reason=error.error)


async def _close(websocket: WebSocket, code: int, reason: str = "") -> None:
    if websocket.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
            await websocket.close(code=code, reason=reason)


async def _ignore_client(websocket: WebSocket, scope: anyio.CancelScope) -> None:
    """Drain client frames; cancel the stream when the client goes away."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
    except (RuntimeError, WebSocketDisconnect, OSError):
        pass
    scope.cancel()


class _Served:
    """One stream being served: the handler's generator, run in one task from its first
    step to its end (:meth:`serve`), and what that first step did."""

    __slots__ = ("accepted", "binding", "ended", "error", "finished", "item", "stream", "websocket")

    def __init__(
        self, binding: Subscription, stream: AsyncIterator[Any], websocket: WebSocket
    ) -> None:
        self.binding = binding
        self.stream = stream
        self.websocket = websocket
        self.accepted = anyio.Event()
        self.finished = False  # the first step finished ...
        self.ended = False  # ... with the generator's end
        self.error: Exception | None = None  # ... with an exception
        self.item: object = None  # ... with this item

    async def settle(self) -> None:
        """Let the event loop turn until the first step finished, at most
        :data:`FIRST_STEP_TURNS` times."""
        for _ in range(FIRST_STEP_TURNS):
            if self.finished:
                return
            await anyio.lowlevel.checkpoint()

    def refusal(self) -> XrpcError | None:
        """The 501 to refuse the handshake with, if the finished first step raised one."""
        error = self.error
        if self.finished and isinstance(error, XrpcError) and error.status == 501:
            return error
        return None

    async def serve(self, scope: anyio.CancelScope) -> None:
        """First step, wait for the handshake, then the rest; always closes the stream."""
        try:
            await self._first_step()
            await self.accepted.wait()
            await self._pump()
        finally:
            scope.cancel()  # stops _ignore_client once the stream is over
            aclose = getattr(self.stream, "aclose", None)
            if aclose is not None:
                with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                    await aclose()

    async def _first_step(self) -> None:
        try:
            self.item = await self.stream.__anext__()
        except StopAsyncIteration:
            self.ended = True
        except Exception as exc:
            self.error = exc
        self.finished = True

    async def _pump(self) -> None:
        binding, websocket = self.binding, self.websocket
        error = self.error
        if error is None and not self.ended:
            try:
                await websocket.send_bytes(encode_message(binding, self.item))
                async for message in self.stream:
                    await websocket.send_bytes(encode_message(binding, message))
            except (WebSocketDisconnect, OSError):
                logger.debug("%s: client went away", binding.nsid)
                return
            except Exception as exc:
                error = exc
        if error is None:
            await _close(websocket, _CLOSE_NORMAL)
            return
        xrpc_error = as_xrpc_error(error, nsid=binding.nsid)
        with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
            await websocket.send_bytes(encode_error_frame(xrpc_error.error, xrpc_error.message))
        await _close(websocket, _CLOSE_ERROR, xrpc_error.error)


def subscription_endpoint(
    binding: Subscription, handler: Handler, *, auth: AuthHook | None = None
) -> WebSocketEndpoint:
    """The Starlette WebSocket endpoint serving ``binding`` with ``handler``."""
    nsid = binding.nsid

    async def endpoint(websocket: WebSocket) -> None:
        ctx = XrpcContext(nsid=nsid, request=websocket)
        try:
            params = read_params(binding, websocket)
            ctx.auth = await authenticate(auth, nsid, websocket)
            args: list[Any] = [ctx] if binding.params is None else [ctx, params]
            stream = handler(*args)
            if not isinstance(stream, AsyncIterator):
                raise TypeError(f"{nsid}: the handler must be an async generator")
        except Exception as exc:
            await _refuse(websocket, as_xrpc_error(exc, nsid=nsid))
            return
        served = _Served(binding, stream, websocket)
        refusal: XrpcError | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(served.serve, tg.cancel_scope)
            await served.settle()
            refusal = served.refusal()
            if refusal is not None:
                tg.cancel_scope.cancel()  # serve() is waiting for `accepted`; it closes
            elif await _accept(websocket, ctx):
                tg.start_soon(_ignore_client, websocket, tg.cancel_scope)
                served.accepted.set()
            else:
                tg.cancel_scope.cancel()
        if refusal is not None:
            await _refuse(websocket, refusal)

    endpoint.__name__ = f"xrpc_{nsid.replace('.', '_')}"
    return endpoint


async def _accept(websocket: WebSocket, ctx: XrpcContext) -> bool:
    """Accept the upgrade (with the handler's response headers); False if the client left."""
    headers = [(k.encode(), v.encode()) for k, v in ctx.response_headers.items()]
    try:
        await websocket.accept(headers=headers)
    except (RuntimeError, OSError, WebSocketDisconnect):
        logger.debug("%s: client went away during the handshake", ctx.nsid)
        return False
    return True


async def upgrade_required_endpoint(request: Request) -> Response:
    """Plain HTTP to a subscription: 426 for a GET without upgrade, 405 for any other
    method (the event-stream spec's statuses; the body is the usual XRPC error)."""
    if request.method != "GET":
        message = f"Incorrect HTTP method ({request.method}) expected GET"
        return error_response(XrpcBadRequest(message, status=405))
    return error_response(XrpcUpgradeRequired("This method is a WebSocket subscription"))


async def not_implemented_websocket(websocket: WebSocket) -> None:
    """A WebSocket to ``/xrpc/<nsid>`` without a subscription handler: refused, 501."""
    await _refuse(websocket, XrpcNotImplemented("Method Not Implemented"))

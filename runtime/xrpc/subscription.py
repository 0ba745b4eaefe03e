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
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias

import anyio
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
        await websocket.accept(
            headers=[(k.encode(), v.encode()) for k, v in ctx.response_headers.items()]
        )
        async with anyio.create_task_group() as tg:
            tg.start_soon(_ignore_client, websocket, tg.cancel_scope)
            await _pump(binding, stream, websocket)
            tg.cancel_scope.cancel()

    endpoint.__name__ = f"xrpc_{nsid.replace('.', '_')}"
    return endpoint


async def _pump(binding: Subscription, stream: AsyncIterator[Any], websocket: WebSocket) -> None:
    try:
        async for message in stream:
            await websocket.send_bytes(encode_message(binding, message))
    except (WebSocketDisconnect, OSError):
        logger.debug("%s: client went away", binding.nsid)
        return
    except Exception as exc:
        error = as_xrpc_error(exc, nsid=binding.nsid)
        with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
            await websocket.send_bytes(encode_error_frame(error.error, error.message))
        await _close(websocket, _CLOSE_ERROR, error.error)
        return
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await aclose()
    await _close(websocket, _CLOSE_NORMAL)


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

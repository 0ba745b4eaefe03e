"""Subscription clients: typed messages from an XRPC event stream over WebSocket.

:func:`subscribe` (async) and :func:`subscribe_sync` (blocking) open
``ws(s)://host/xrpc/<nsid>?<params>``, decode every binary message as a frame
(:mod:`.frames`) and yield the message model chosen by the header's ``t``. Frames of
unknown ``t`` or ``op`` are skipped; an error frame raises the method's declared error
class (or :class:`~.errors.XrpcStreamError`); a malformed frame raises
:class:`~.errors.InvalidFrameError`. A refused handshake raises the XRPC error of the HTTP
reply. The message size cap defaults to 5 MB, the firehose's frame limit (the websockets
default of 1 MiB is too small). Reconnecting is the consumer's job: pass the last ``seq``
seen as ``cursor``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus, WebSocketException
from websockets.sync.client import connect as connect_sync

from lexforge.runtime.xrpc import codec
from lexforge.runtime.xrpc.errors import (
    InvalidFrameError,
    XrpcDeclaredError,
    XrpcError,
    XrpcStreamError,
    XrpcTransportError,
    error_from_payload,
    parse_error_body,
)
from lexforge.runtime.xrpc.frames import OP_ERROR, OP_MESSAGE, decode_frame

__all__ = ["DEFAULT_MAX_FRAME_SIZE", "decode_message", "subscribe", "subscribe_sync", "ws_url"]

#: Largest frame accepted (spec: firehose frames are at most 5 MB).
DEFAULT_MAX_FRAME_SIZE = 5_000_000


def ws_url(http_url: str, params: Iterable[tuple[str, str]]) -> str:
    """The WebSocket URL for an XRPC endpoint URL plus query items."""
    if http_url.startswith("https://"):
        url = "wss://" + http_url.removeprefix("https://")
    elif http_url.startswith("http://"):
        url = "ws://" + http_url.removeprefix("http://")
    else:
        url = http_url
    query = urlencode(list(params))
    return f"{url}?{query}" if query else url


def decode_message(
    data: bytes | str,
    messages: Mapping[str, Any],
    errors: Iterable[type[XrpcDeclaredError]] = (),
) -> Any | None:
    """The typed message in one WebSocket message, or ``None`` for a skipped frame.

    Raises the error of an error frame, or :class:`InvalidFrameError`.
    """
    if isinstance(data, str):
        raise InvalidFrameError("text message on an event stream (frames are binary)")
    frame = decode_frame(data)
    if frame.op == OP_ERROR:
        error = frame.body["error"]
        message = frame.body.get("message")
        for cls in errors:
            if cls.error == error:
                raise cls(message if isinstance(message, str) else None)
        raise XrpcStreamError(message if isinstance(message, str) else None, error=error)
    if frame.op != OP_MESSAGE or frame.t is None or frame.t not in messages:
        return None
    try:
        return codec.validate(messages[frame.t], frame.body)
    except ValidationError as exc:
        raise InvalidFrameError(f"{frame.t} message does not match the Lexicon: {exc}") from None


def _handshake_error(exc: InvalidStatus) -> XrpcError:
    response = exc.response
    return error_from_payload(
        response.status_code,
        parse_error_body(response.body),
        headers=dict(response.headers.raw_items()),
    )


async def subscribe(
    url: str,
    params: Iterable[tuple[str, str]],
    *,
    messages: Mapping[str, Any],
    errors: Iterable[type[XrpcDeclaredError]] = (),
    headers: Mapping[str, str] | None = None,
    open_timeout: float = 10.0,
    max_size: int = DEFAULT_MAX_FRAME_SIZE,
) -> AsyncIterator[Any]:
    """Yield typed messages from the event stream at ``url`` (an http(s) XRPC URL)."""
    errors = tuple(errors)
    target = ws_url(url, params)
    try:
        async with connect(
            target,
            additional_headers=dict(headers or {}),
            open_timeout=open_timeout,
            max_size=max_size,
            user_agent_header=(headers or {}).get("user-agent"),
        ) as ws:
            async for data in ws:
                message = decode_message(data, messages, errors)
                if message is not None:
                    yield message
    except InvalidStatus as exc:
        raise _handshake_error(exc) from None
    except ConnectionClosedError as exc:
        raise XrpcTransportError(f"event stream closed abnormally: {exc}") from exc
    except (OSError, TimeoutError, WebSocketException) as exc:
        raise XrpcTransportError(f"event stream failed: {type(exc).__name__}: {exc}") from exc


def subscribe_sync(
    url: str,
    params: Iterable[tuple[str, str]],
    *,
    messages: Mapping[str, Any],
    errors: Iterable[type[XrpcDeclaredError]] = (),
    headers: Mapping[str, str] | None = None,
    open_timeout: float = 10.0,
    max_size: int = DEFAULT_MAX_FRAME_SIZE,
) -> Iterator[Any]:
    """Blocking :func:`subscribe`."""
    errors = tuple(errors)
    target = ws_url(url, params)
    try:
        with connect_sync(
            target,
            additional_headers=dict(headers or {}),
            open_timeout=open_timeout,
            max_size=max_size,
            user_agent_header=(headers or {}).get("user-agent"),
        ) as ws:
            for data in ws:
                message = decode_message(data, messages, errors)
                if message is not None:
                    yield message
    except InvalidStatus as exc:
        raise _handshake_error(exc) from None
    except ConnectionClosedError as exc:
        raise XrpcTransportError(f"event stream closed abnormally: {exc}") from exc
    except (OSError, TimeoutError, WebSocketException) as exc:
        raise XrpcTransportError(f"event stream failed: {type(exc).__name__}: {exc}") from exc

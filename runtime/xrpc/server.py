"""Serving XRPC methods with Starlette: one endpoint per bound method.

For queries and procedures :func:`method_endpoint` does, in order:

1. HTTP method check (400 ``InvalidRequest`` "Incorrect HTTP method", as the reference);
2. query parameters decoded and validated into ``Params`` (:mod:`.params`; 400);
3. the auth hook (:mod:`.context`), whose result becomes ``ctx.auth``;
4. the body: none allowed without a Lexicon input (400), otherwise Content-Type matched
   against the encoding (400), read under the method's cap after decompression
   (:mod:`.body`; 413), strict JSON parsed and validated into ``Input`` (400) or passed
   on as ``bytes``;
5. ``handler(ctx[, params][, input])``;
6. the result validated against ``Output`` (a handler bug is a 500, logged) and sent as
   JSON, raw bytes, a raw chunk stream (:mod:`.raw_output`) or an empty 200.

Any :class:`~.errors.XrpcError` becomes ``{"error", "message"}`` with its status and
headers; anything else is logged with its traceback and answered with a bare 500
``InternalServerError`` (no details leak). Subscriptions are in :mod:`.subscription`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

from pydantic import ValidationError
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import JSONResponse, Response

from lexforge.runtime.data.errors import DataModelError
from lexforge.runtime.syntax import is_valid_nsid
from lexforge.runtime.xrpc import codec
from lexforge.runtime.xrpc.binding import Procedure, Query
from lexforge.runtime.xrpc.body import has_body, read_body
from lexforge.runtime.xrpc.content import OCTET_STREAM, encoding_matches, parse_content_type
from lexforge.runtime.xrpc.context import AuthHook, AuthRequest, XrpcContext
from lexforge.runtime.xrpc.errors import (
    XrpcBadRequest,
    XrpcError,
    XrpcInternalServerError,
    XrpcNotImplemented,
)
from lexforge.runtime.xrpc.limits import Limits
from lexforge.runtime.xrpc.params import decode_params, describe_validation_error
from lexforge.runtime.xrpc.raw_output import RawStreamResponse, open_raw_stream

__all__ = [
    "Endpoint",
    "Handler",
    "as_xrpc_error",
    "authenticate",
    "error_response",
    "logger",
    "method_endpoint",
    "not_implemented_endpoint",
    "read_params",
]

logger = logging.getLogger("lexforge.runtime.xrpc")

#: A handler: ``async def handle(ctx, [params], [input])``.
Handler: TypeAlias = Callable[..., Any]
Endpoint: TypeAlias = Callable[[Request], Awaitable[Response]]

_JSON_UTF8 = "application/json; charset=utf-8"


def as_xrpc_error(exc: BaseException, *, nsid: str) -> XrpcError:
    """``exc`` itself if it is an XRPC error; otherwise a logged, detail-free 500."""
    if isinstance(exc, XrpcError):
        return exc
    logger.error("unhandled error in %s", nsid, exc_info=exc)
    return XrpcInternalServerError("Internal Server Error")


def error_response(error: XrpcError) -> JSONResponse:
    """The XRPC error reply for ``error``."""
    return JSONResponse(error.to_payload(), status_code=error.status, headers=error.headers)


def read_params(binding: Any, connection: HTTPConnection) -> Any:
    """The validated ``Params`` of a request, or ``None`` when the method has none."""
    if binding.params is None:
        return None
    return decode_params(binding.params, connection.query_params.multi_items())


async def authenticate(auth: AuthHook | None, nsid: str, connection: HTTPConnection) -> Any:
    """Run the auth hook (``None`` without one)."""
    if auth is None:
        return None
    return await auth(AuthRequest(nsid=nsid, connection=connection))


async def _read_input(
    binding: Procedure, request: Request, ctx: XrpcContext, limits: Limits
) -> Any:
    assert binding.input_encoding is not None
    headers = request.headers
    content_type = headers.get("content-type")
    if content_type is None:
        raise XrpcBadRequest("Request encoding (Content-Type) required but not provided")
    if not encoding_matches(content_type, binding.input_encoding):
        raise XrpcBadRequest(f"Wrong request encoding (Content-Type): {content_type}")
    if not has_body(headers.get("content-length"), headers.get("transfer-encoding")):
        raise XrpcBadRequest("A request body is expected but none was provided")
    ctx.input_encoding = parse_content_type(content_type)
    body = await read_body(
        request.stream(),
        limit=limits.for_method(binding.nsid, binding.input_encoding),
        content_length=headers.get("content-length"),
        content_encoding=headers.get("content-encoding"),
    )
    if binding.input is None:
        return body
    try:
        value = codec.parse_json(body)
    except DataModelError as exc:
        raise XrpcBadRequest(f"Invalid JSON body: {exc}") from None
    try:
        return codec.validate(binding.input, value)
    except ValidationError as exc:
        raise XrpcBadRequest(describe_validation_error("Invalid input", exc)) from None


async def _refuse_body(request: Request) -> None:
    """A procedure without Lexicon input must get no body (an empty one is fine)."""
    if not has_body(
        request.headers.get("content-length"), request.headers.get("transfer-encoding")
    ):
        return
    async for chunk in request.stream():
        if chunk:
            raise XrpcBadRequest("Request body not allowed: this method has no input")


async def _render_raw(
    binding: Query | Procedure, encoding: str, result: Any, ctx: XrpcContext
) -> Response:
    """Whole bytes with ``Content-Length``, or a chunk stream (see :mod:`.raw_output`).

    The stream's first chunk is read before the headers are taken, so a handler that is
    itself an async generator may still set ``ctx.response_headers`` (``Content-Type``
    for a ``*/*`` output) before its first ``yield``.
    """
    stream = None
    if not isinstance(result, bytes | bytearray | memoryview):
        stream = await open_raw_stream(binding.nsid, result)
    headers = dict(ctx.response_headers)
    media_type = headers.pop("content-type", None) or _concrete(encoding)
    if stream is None:
        return Response(bytes(result), media_type=media_type, headers=headers)
    if stream.first is None:
        await stream.aclose()
        return Response(b"", media_type=media_type, headers=headers)
    return RawStreamResponse(stream, media_type=media_type, headers=headers)


async def _render_output(
    binding: Query | Procedure, result: Any, ctx: XrpcContext, validate_output: bool
) -> Response:
    if binding.output_encoding is not None and binding.output is None:
        return await _render_raw(binding, binding.output_encoding, result, ctx)
    headers = dict(ctx.response_headers)
    if binding.output_encoding is None:
        if result is not None:
            raise TypeError(f"{binding.nsid} has no output but the handler returned a value")
        headers.pop("content-type", None)
        return Response(b"", status_code=200, headers=headers)
    if result is None:
        raise TypeError(f"{binding.nsid}: the handler returned no output")
    data = codec.to_data(result)
    if validate_output:
        try:
            codec.validate(binding.output, data)
        except ValidationError as exc:
            raise TypeError(
                describe_validation_error(f"{binding.nsid}: invalid output", exc)
            ) from exc
    headers.pop("content-type", None)
    body = codec.dump_json(data)
    return Response(body, media_type=_JSON_UTF8, headers=headers)


def _concrete(encoding: str) -> str:
    first = encoding.split(",", 1)[0].strip()
    return OCTET_STREAM if "*" in first else (first or OCTET_STREAM)


def method_endpoint(
    binding: Query | Procedure,
    handler: Handler,
    *,
    auth: AuthHook | None = None,
    limits: Limits | None = None,
    validate_output: bool = True,
) -> Endpoint:
    """The Starlette endpoint serving ``binding`` with ``handler``.

    ``validate_output=False`` skips re-validating handler results (they are still
    serialised from the model, so only hand-built or mutated outputs could slip by).
    """
    limits = limits or Limits()
    nsid = binding.nsid

    async def endpoint(request: Request) -> Response:
        try:
            if request.method != binding.http_method:
                raise XrpcBadRequest(
                    f"Incorrect HTTP method ({request.method}) expected {binding.http_method}"
                )
            params = read_params(binding, request)
            ctx = XrpcContext(nsid=nsid, request=request)
            ctx.auth = await authenticate(auth, nsid, request)
            args: list[Any] = [ctx]
            if binding.params is not None:
                args.append(params)
            if isinstance(binding, Procedure):
                if binding.input_encoding is None:
                    await _refuse_body(request)
                else:
                    args.append(await _read_input(binding, request, ctx, limits))
            result = handler(*args)
            if inspect.isawaitable(result):
                result = await result
            return await _render_output(binding, result, ctx, validate_output)
        except ClientDisconnect:
            logger.debug("%s: client went away while sending its body", nsid)
            return Response(b"", status_code=400)
        except Exception as exc:
            return error_response(as_xrpc_error(exc, nsid=nsid))

    endpoint.__name__ = f"xrpc_{nsid.replace('.', '_')}"
    return endpoint


async def not_implemented_endpoint(request: Request) -> Response:
    """``/xrpc/<anything>`` without a handler: 501, or 400 for a path that is no NSID."""
    nsid = request.path_params.get("nsid", "")
    if not is_valid_nsid(nsid):
        return error_response(XrpcBadRequest("Invalid XRPC path"))
    return error_response(XrpcNotImplemented("Method Not Implemented"))

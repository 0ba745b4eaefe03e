"""Exceptions of the XRPC runtime (client and server).

An XRPC error is an HTTP status plus a JSON body ``{"error": "<Name>", "message": "..."}``.
The same classes serve both sides: a server handler raises one and the binding renders it,
a client receives one and raises it. Lexicon-declared errors are generated per method as
subclasses of :class:`XrpcDeclaredError` (``get_record.RecordNotFoundError``); every
other error maps by HTTP status onto the classes below (status table of spec/xrpc.md §4).

Hierarchy::

    XrpcException                      anything this package raises
    ├── XrpcError                      an XRPC error (status, error, message, headers)
    │   ├── XrpcDeclaredError          base of the generated per-method classes (400)
    │   ├── XrpcBadRequest             400 InvalidRequest (also unknown 4xx)
    │   ├── XrpcUnauthorized           401 AuthenticationRequired
    │   ├── XrpcForbidden              403 Forbidden
    │   ├── XrpcNotFound               404 XRPCNotSupported (also 1xx/3xx)
    │   ├── XrpcNotAcceptable          406 NotAcceptable
    │   ├── XrpcPayloadTooLarge        413 PayloadTooLarge
    │   ├── XrpcUnsupportedMediaType   415 UnsupportedMediaType
    │   ├── XrpcUpgradeRequired        426 (plain HTTP request to a subscription)
    │   ├── XrpcRateLimited            429 RateLimitExceeded
    │   ├── XrpcInternalServerError    500 InternalServerError (also unknown 5xx)
    │   ├── XrpcNotImplemented         501 MethodNotImplemented (alias MethodNotImplemented)
    │   ├── XrpcUpstreamFailure        502 UpstreamFailure
    │   ├── XrpcNotEnoughResources     503 NotEnoughResources
    │   ├── XrpcUpstreamTimeout        504 UpstreamTimeout
    │   └── XrpcStreamError            an undeclared error frame on a subscription
    ├── XrpcProtocolError              the peer broke the protocol (client side)
    │   ├── InvalidResponseError       2xx body of the wrong type or shape
    │   ├── ResponseTooLargeError      response body over the client's cap
    │   └── InvalidFrameError          malformed event-stream frame
    ├── XrpcTransportError             connection, TLS or timeout failure
    │   └── XrpcTimeoutError
    └── XrpcSetupError                 a server app could not be assembled

``error`` and ``status`` are class attributes that an instance may override
(``XrpcBadRequest("token expired", error="ExpiredToken")``). For error frames on a
stream there is no HTTP status; ``status`` then keeps its class default.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Final

__all__ = [
    "InvalidFrameError",
    "InvalidResponseError",
    "MethodNotImplemented",
    "ResponseTooLargeError",
    "XrpcBadRequest",
    "XrpcDeclaredError",
    "XrpcError",
    "XrpcException",
    "XrpcForbidden",
    "XrpcInternalServerError",
    "XrpcNotAcceptable",
    "XrpcNotEnoughResources",
    "XrpcNotFound",
    "XrpcNotImplemented",
    "XrpcPayloadTooLarge",
    "XrpcProtocolError",
    "XrpcRateLimited",
    "XrpcSetupError",
    "XrpcStreamError",
    "XrpcTimeoutError",
    "XrpcTransportError",
    "XrpcUnauthorized",
    "XrpcUnsupportedMediaType",
    "XrpcUpgradeRequired",
    "XrpcUpstreamFailure",
    "XrpcUpstreamTimeout",
    "error_class_for_status",
    "error_from_payload",
    "is_valid_error_name",
    "parse_error_body",
]

#: ``error`` names are ASCII without whitespace (spec/xrpc.md §4).
_ERROR_NAME = re.compile(r"[!-~]{1,128}")


def is_valid_error_name(name: object) -> bool:
    """Whether ``name`` may be sent as the ``error`` field of an XRPC error."""
    return isinstance(name, str) and _ERROR_NAME.fullmatch(name) is not None


class XrpcException(Exception):
    """Base of every exception raised by ``lexforge.runtime.xrpc``."""


class XrpcError(XrpcException):
    """An XRPC error reply: HTTP ``status``, ``error`` name, optional ``message``.

    ``headers`` are the response headers (client side) or extra headers to send
    (server side, e.g. ``WWW-Authenticate`` or ``Retry-After``).
    """

    status: int = 500
    error: str = "InternalServerError"

    def __init__(
        self,
        message: str | None = None,
        *,
        error: str | None = None,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if error is not None:
            self.error = error
        if status is not None:
            self.status = status
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(message)

    def __str__(self) -> str:
        text = f"{self.status} {self.error}"
        return f"{text}: {self.message}" if self.message else text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status}, error={self.error!r}, "
            f"message={self.message!r})"
        )

    def to_payload(self) -> dict[str, str]:
        """The JSON error body (``message`` left out when there is none)."""
        payload = {"error": self.error if is_valid_error_name(self.error) else "InvalidRequest"}
        if self.message:
            payload["message"] = self.message
        return payload


class XrpcDeclaredError(XrpcError):
    """Base of the generated classes for Lexicon-declared errors.

    A generated subclass sets ``error`` to the declared name::

        class RecordNotFoundError(XrpcDeclaredError):
            error = "RecordNotFound"

    Servers send declared errors with status 400 unless the raiser passes another.
    """

    status = 400
    error = "InvalidRequest"


class XrpcBadRequest(XrpcError):
    """400: the request is invalid (bad params, body, or a generic refusal)."""

    status = 400
    error = "InvalidRequest"


class XrpcUnauthorized(XrpcError):
    """401: authentication is missing or not accepted."""

    status = 401
    error = "AuthenticationRequired"


class XrpcForbidden(XrpcError):
    """403: authenticated but not allowed."""

    status = 403
    error = "Forbidden"


class XrpcNotFound(XrpcError):
    """404: no such endpoint, or not an XRPC server at all."""

    status = 404
    error = "XRPCNotSupported"


class XrpcNotAcceptable(XrpcError):
    """406: cannot produce an acceptable response."""

    status = 406
    error = "NotAcceptable"


class XrpcPayloadTooLarge(XrpcError):
    """413: the request body is over the server's limit for this method."""

    status = 413
    error = "PayloadTooLarge"


class XrpcUnsupportedMediaType(XrpcError):
    """415: the body's encoding is not supported (e.g. an unknown Content-Encoding)."""

    status = 415
    error = "UnsupportedMediaType"


class XrpcUpgradeRequired(XrpcError):
    """426: a subscription was requested without a WebSocket upgrade."""

    status = 426
    error = "InvalidRequest"


class XrpcRateLimited(XrpcError):
    """429: back off; :attr:`retry_after` is the server's hint in seconds, if any."""

    status = 429
    error = "RateLimitExceeded"

    @property
    def retry_after(self) -> int | None:
        """``Retry-After`` in whole seconds (rounded up from an HTTP date), if usable."""
        from lexforge.runtime.xrpc.retry import retry_after_seconds  # noqa: PLC0415

        value = self.headers.get("retry-after") or self.headers.get("Retry-After")
        if value is not None and value.strip().isascii() and value.strip().isdigit():
            return int(value.strip())
        seconds = retry_after_seconds(value)
        return None if seconds is None else math.ceil(seconds)


class XrpcInternalServerError(XrpcError):
    """500: the server failed; the message never carries server internals."""

    status = 500
    error = "InternalServerError"


class XrpcNotImplemented(XrpcError):
    """501: the method is not implemented here. Do not retry."""

    status = 501
    error = "MethodNotImplemented"


#: What a handler raises for "not implemented" (served as 501).
MethodNotImplemented = XrpcNotImplemented


class XrpcUpstreamFailure(XrpcError):
    """502: a proxied upstream failed."""

    status = 502
    error = "UpstreamFailure"


class XrpcNotEnoughResources(XrpcError):
    """503: temporarily overloaded."""

    status = 503
    error = "NotEnoughResources"


class XrpcUpstreamTimeout(XrpcError):
    """504: a proxied upstream timed out."""

    status = 504
    error = "UpstreamTimeout"


class XrpcStreamError(XrpcError):
    """An error frame on a subscription whose name the method does not declare."""

    status = 400
    error = "InvalidRequest"


class XrpcProtocolError(XrpcException):
    """The peer did not follow the XRPC protocol."""


class InvalidResponseError(XrpcProtocolError):
    """A success response whose content type or body does not match the Lexicon."""


class ResponseTooLargeError(XrpcProtocolError):
    """A response body exceeded the client's ``max_response_size``."""


class InvalidFrameError(XrpcProtocolError):
    """A subscription message that is not two DAG-CBOR items with a valid header."""


class XrpcTransportError(XrpcException):
    """The request could not be completed (connection refused, reset, TLS, ...)."""


class XrpcTimeoutError(XrpcTransportError):
    """A connect, read, write or pool timeout expired."""


class XrpcSetupError(XrpcException, ValueError):
    """Server assembly failed: a handler for an unknown method, a duplicate handler, a
    handler module without ``handle``. Raised at startup, never per request."""


_BY_STATUS: Final[dict[int, type[XrpcError]]] = {
    cls.status: cls
    for cls in (
        XrpcBadRequest,
        XrpcUnauthorized,
        XrpcForbidden,
        XrpcNotFound,
        XrpcNotAcceptable,
        XrpcPayloadTooLarge,
        XrpcUnsupportedMediaType,
        XrpcUpgradeRequired,
        XrpcRateLimited,
        XrpcInternalServerError,
        XrpcNotImplemented,
        XrpcUpstreamFailure,
        XrpcNotEnoughResources,
        XrpcUpstreamTimeout,
    )
}


def error_class_for_status(status: int) -> type[XrpcError]:
    """The generic class for an error status (unknown 4xx -> 400, 5xx -> 500, else 404)."""
    cls = _BY_STATUS.get(status)
    if cls is not None:
        return cls
    if 400 <= status < 500:
        return XrpcBadRequest
    if 500 <= status < 600:
        return XrpcInternalServerError
    return XrpcNotFound


def parse_error_body(raw: bytes | bytearray | None) -> object:
    """The JSON object of an error reply, or ``None`` for anything else: proxies answer
    with HTML, empty bodies or garbage, and those keep the status's generic error."""
    # Imported here: this module loads with every generated model; JSON parsing is for
    # error replies only.
    from lexforge.runtime.data.errors import DataModelError  # noqa: PLC0415
    from lexforge.runtime.data.json import loads_json  # noqa: PLC0415

    try:
        return loads_json(bytes(raw or b""), require_object=True)
    except (DataModelError, ValueError, RecursionError):
        return None


def error_from_payload(
    status: int,
    payload: object,
    *,
    declared: Iterable[type[XrpcDeclaredError]] = (),
    headers: Mapping[str, str] | None = None,
) -> XrpcError:
    """Build the exception for an error reply.

    ``payload`` is the decoded JSON body (anything: bodies from proxies may be HTML or
    garbage, which the caller passes as ``None``). A valid ``error`` name that the
    method declares gives its generated class; any other reply gives the class for the
    status, keeping the server's ``error`` name when it sent one.
    """
    error: str | None = None
    message: str | None = None
    if isinstance(payload, dict):
        raw_error = payload.get("error")
        raw_message = payload.get("message")
        if is_valid_error_name(raw_error):
            assert isinstance(raw_error, str)
            error = raw_error
        if isinstance(raw_message, str):
            message = raw_message
    if error is not None:
        for cls in declared:
            if cls.error == error:
                return cls(message, status=status, headers=headers)
    generic = error_class_for_status(status)
    return generic(message, error=error, status=status, headers=headers)

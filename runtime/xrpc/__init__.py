"""XRPC: Lexicon RPC over HTTP and WebSocket event streams, client and server side.

Generated clients and server bindings (``lexforge.generated``) are thin; this package
does the work: query-parameter encoding, content types, body limits, error mapping,
auth hooks and subscription frames. It never imports ``lexforge.generated``.

Modules: :mod:`.errors` (exception tree), :mod:`.client` / :mod:`.auth` /
:mod:`.stream` (clients), :mod:`.binding` / :mod:`.server` / :mod:`.subscription` /
:mod:`.app` / :mod:`.raw_output` (servers), :mod:`.raw` (the raw-output type),
:mod:`.params`, :mod:`.content`, :mod:`.codec`, :mod:`.frames`, :mod:`.body`,
:mod:`.limits`, :mod:`.context`. The errors are imported eagerly (generated models
subclass them); client and server names load on first use, so importing a model
module does not pull in httpx, Starlette or websockets.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lexforge.runtime.xrpc.errors import (
    InvalidFrameError,
    InvalidResponseError,
    MethodNotImplemented,
    ResponseTooLargeError,
    XrpcBadRequest,
    XrpcDeclaredError,
    XrpcError,
    XrpcException,
    XrpcForbidden,
    XrpcInternalServerError,
    XrpcNotAcceptable,
    XrpcNotEnoughResources,
    XrpcNotFound,
    XrpcNotImplemented,
    XrpcPayloadTooLarge,
    XrpcProtocolError,
    XrpcRateLimited,
    XrpcSetupError,
    XrpcStreamError,
    XrpcTimeoutError,
    XrpcTransportError,
    XrpcUnauthorized,
    XrpcUnsupportedMediaType,
    XrpcUpgradeRequired,
    XrpcUpstreamFailure,
    XrpcUpstreamTimeout,
)

if TYPE_CHECKING:
    from lexforge.runtime.xrpc.app import (
        create_xrpc_app,
        load_handlers,
        xrpc_routes,
    )
    from lexforge.runtime.xrpc.auth import (
        AsyncAuth,
        AsyncSessionAuth,
        Auth,
        BearerAuth,
        Session,
        SessionAuth,
    )
    from lexforge.runtime.xrpc.binding import (
        Procedure,
        Query,
        Subscription,
    )
    from lexforge.runtime.xrpc.client import (
        AsyncXrpcClient,
        RetryPolicy,
        XrpcClient,
    )
    from lexforge.runtime.xrpc.context import (
        AuthHook,
        AuthRequest,
        XrpcContext,
        auth_by_method,
    )
    from lexforge.runtime.xrpc.limits import (
        Limits,
    )
    from lexforge.runtime.xrpc.raw import (
        RawOutput,
    )

__all__ = [
    "AsyncAuth",
    "AsyncSessionAuth",
    "AsyncXrpcClient",
    "Auth",
    "AuthHook",
    "AuthRequest",
    "BearerAuth",
    "InvalidFrameError",
    "InvalidResponseError",
    "Limits",
    "MethodNotImplemented",
    "Procedure",
    "Query",
    "RawOutput",
    "ResponseTooLargeError",
    "RetryPolicy",
    "Session",
    "SessionAuth",
    "Subscription",
    "XrpcBadRequest",
    "XrpcClient",
    "XrpcContext",
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
    "auth_by_method",
    "create_xrpc_app",
    "load_handlers",
    "xrpc_routes",
]

_LAZY: dict[str, str] = {
    "AsyncAuth": "auth",
    "AsyncSessionAuth": "auth",
    "AsyncXrpcClient": "client",
    "Auth": "auth",
    "AuthHook": "context",
    "AuthRequest": "context",
    "BearerAuth": "auth",
    "Limits": "limits",
    "Procedure": "binding",
    "Query": "binding",
    "RawOutput": "raw",
    "RetryPolicy": "client",
    "Session": "auth",
    "SessionAuth": "auth",
    "Subscription": "binding",
    "XrpcClient": "client",
    "XrpcContext": "context",
    "auth_by_method": "context",
    "create_xrpc_app": "app",
    "load_handlers": "app",
    "xrpc_routes": "app",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value

"""What a server handler sees besides its typed arguments: :class:`XrpcContext`.

Also the auth hook contract. An app gets one ``auth`` callable; before a method's
handler runs, the binding awaits ``auth(AuthRequest(nsid, connection))``. The hook
returns whatever describes the caller (a DID, a session object, ``None`` for
anonymous) and that value is ``ctx.auth``. To require auth it raises
:class:`~.errors.XrpcUnauthorized` (or 400 ``ExpiredToken``, 403, ...), which is sent
as the XRPC error. Per-method policies either branch on ``request.nsid`` or use
:func:`auth_by_method`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection

__all__ = ["AuthHook", "AuthRequest", "XrpcContext", "auth_by_method"]


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """The request an auth hook decides on: the method and the HTTP connection."""

    nsid: str
    connection: HTTPConnection

    @property
    def headers(self) -> Headers:
        """The request headers (``Authorization``, ``DPoP``, ...)."""
        return self.connection.headers


#: ``async def auth(request: AuthRequest) -> <caller or None>``.
AuthHook: TypeAlias = Callable[[AuthRequest], Awaitable[Any]]


def auth_by_method(hooks: Mapping[str, AuthHook], default: AuthHook | None = None) -> AuthHook:
    """One hook that dispatches on the NSID; methods not listed use ``default`` (or are
    anonymous, ``ctx.auth is None``, when there is no default)."""
    table = dict(hooks)

    async def dispatch(request: AuthRequest) -> Any:
        hook = table.get(request.nsid, default)
        return None if hook is None else await hook(request)

    return dispatch


@dataclass(slots=True)
class XrpcContext:
    """Per-call context passed as the first argument of every handler.

    ``request`` is the Starlette connection (a ``Request``, or a ``WebSocket`` for
    subscriptions): headers, client address, ``request.app.state``. ``auth`` is what
    the auth hook returned. ``response_headers`` are added to the response (for example
    ``atproto-repo-rev``; for a binary output, ``content-type`` overrides the default).
    ``input_encoding`` is the request body's MIME type (procedures with input).
    """

    nsid: str
    request: HTTPConnection
    auth: Any = None
    input_encoding: str | None = None
    response_headers: dict[str, str] = field(default_factory=dict)

    @property
    def headers(self) -> Headers:
        """The request headers."""
        return self.request.headers

    @property
    def state(self) -> Any:
        """The application state (``app.state``), where services keep shared objects."""
        return self.request.app.state

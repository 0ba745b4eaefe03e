"""Client-side auth hooks: how an XRPC client gets credentials and renews them.

A hook supplies headers for each request (``auth_headers(nsid)``) and may refresh its
credentials when the server refuses them: on ``401`` or on ``400`` with error
``ExpiredToken`` (the reference PDS signals an expired access token that way), the client
calls ``refresh(client, error)`` once; ``True`` makes it retry the request once with fresh
headers, ``False`` raises the error. Calls made *inside* ``refresh`` are never refreshed
again. Requests whose body is a one-shot stream are not retried.

:class:`BearerAuth` is a fixed token. :class:`SessionAuth` / :class:`AsyncSessionAuth`
hold a legacy password session (``accessJwt`` / ``refreshJwt``) and renew it with
``com.atproto.server.refreshSession``; they speak to the server through the raw client
API, so they work without generated code.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from lexforge.runtime.xrpc.errors import XrpcError

if TYPE_CHECKING:
    from lexforge.runtime.xrpc.client import AsyncXrpcClient, XrpcClient

__all__ = [
    "AsyncAuth",
    "AsyncSessionAuth",
    "Auth",
    "BearerAuth",
    "Session",
    "SessionAuth",
]

#: Methods that authenticate with the refresh token instead of the access token.
_REFRESH_TOKEN_METHODS = frozenset(
    {"com.atproto.server.refreshSession", "com.atproto.server.deleteSession"}
)
_CREATE_SESSION = "com.atproto.server.createSession"
_REFRESH_SESSION = "com.atproto.server.refreshSession"


class Auth(Protocol):
    """Auth hook of the blocking client."""

    def auth_headers(self, nsid: str) -> Mapping[str, str]:
        """Headers to add to a request for ``nsid`` (e.g. ``Authorization``)."""
        ...

    def refresh(self, client: XrpcClient, error: XrpcError) -> bool:
        """Renew credentials after ``error``; ``True`` retries the request once."""
        ...


class AsyncAuth(Protocol):
    """Auth hook of the async client."""

    async def auth_headers(self, nsid: str) -> Mapping[str, str]:
        """Headers to add to a request for ``nsid`` (e.g. ``Authorization``)."""
        ...

    async def refresh(self, client: AsyncXrpcClient, error: XrpcError) -> bool:
        """Renew credentials after ``error``; ``True`` retries the request once."""
        ...


@dataclass(slots=True)
class BearerAuth:
    """A fixed ``Authorization: Bearer <token>``; usable by both clients."""

    token: str

    def _headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    def auth_headers(self, nsid: str) -> Mapping[str, str]:
        return self._headers()

    def refresh(self, client: Any, error: XrpcError) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class Session:
    """The tokens and identity of a password session (``createSession`` output)."""

    access_jwt: str
    refresh_jwt: str
    did: str
    handle: str

    @classmethod
    def from_output(cls, output: Mapping[str, Any]) -> Session:
        """Read the JSON output of ``createSession`` / ``refreshSession``."""
        try:
            values = {
                "access_jwt": output["accessJwt"],
                "refresh_jwt": output["refreshJwt"],
                "did": output["did"],
                "handle": output["handle"],
            }
        except KeyError as exc:
            raise ValueError(f"session output lacks {exc.args[0]!r}") from None
        if not all(isinstance(v, str) for v in values.values()):
            raise ValueError("session output fields must be strings")
        return cls(**values)

    def token_for(self, nsid: str) -> str:
        """The refresh token for refresh/delete-session, the access token otherwise."""
        return self.refresh_jwt if nsid in _REFRESH_TOKEN_METHODS else self.access_jwt


def _session_output(value: object) -> Session:
    if not isinstance(value, Mapping):
        raise TypeError("session output must be a JSON object")
    return Session.from_output(value)


class SessionAuth:
    """A password session for :class:`XrpcClient`, renewed with ``refreshSession``.

    ``on_update`` is called with every new :class:`Session` (persist it there).
    Concurrent refreshes from several threads are serialised; a thread that waited
    reuses the session its predecessor obtained.
    """

    def __init__(
        self,
        session: Session | None = None,
        *,
        on_update: Callable[[Session], None] | None = None,
    ) -> None:
        self.session = session
        self._on_update = on_update
        self._lock = threading.Lock()

    def login(self, client: XrpcClient, identifier: str, password: str, **extra: Any) -> Session:
        """Create a session with ``com.atproto.server.createSession``."""
        body = {"identifier": identifier, "password": password, **extra}
        output = client.procedure(
            _CREATE_SESSION, input=body, input_encoding="application/json", output=dict
        )
        self._set(_session_output(output))
        assert self.session is not None
        return self.session

    def auth_headers(self, nsid: str) -> Mapping[str, str]:
        if self.session is None:
            return {}
        return {"authorization": f"Bearer {self.session.token_for(nsid)}"}

    def refresh(self, client: XrpcClient, error: XrpcError) -> bool:
        stale = self.session
        if stale is None:
            return False
        with self._lock:
            if self.session is not stale:  # another thread already refreshed
                return True
            output = client.procedure(_REFRESH_SESSION, output=dict)
            self._set(_session_output(output))
        return True

    def _set(self, session: Session) -> None:
        self.session = session
        if self._on_update is not None:
            self._on_update(session)


class AsyncSessionAuth:
    """A password session for :class:`AsyncXrpcClient`; see :class:`SessionAuth`.

    Concurrent tasks that hit an expired token trigger a single refresh.
    """

    def __init__(
        self,
        session: Session | None = None,
        *,
        on_update: Callable[[Session], None] | None = None,
    ) -> None:
        self.session = session
        self._on_update = on_update
        self._lock = asyncio.Lock()

    async def login(
        self, client: AsyncXrpcClient, identifier: str, password: str, **extra: Any
    ) -> Session:
        """Create a session with ``com.atproto.server.createSession``."""
        body = {"identifier": identifier, "password": password, **extra}
        output = await client.procedure(
            _CREATE_SESSION, input=body, input_encoding="application/json", output=dict
        )
        self._set(_session_output(output))
        assert self.session is not None
        return self.session

    async def auth_headers(self, nsid: str) -> Mapping[str, str]:
        if self.session is None:
            return {}
        return {"authorization": f"Bearer {self.session.token_for(nsid)}"}

    async def refresh(self, client: AsyncXrpcClient, error: XrpcError) -> bool:
        stale = self.session
        if stale is None:
            return False
        async with self._lock:
            if self.session is not stale:  # another task already refreshed
                return True
            output = await client.procedure(_REFRESH_SESSION, output=dict)
            self._set(_session_output(output))
        return True

    def _set(self, session: Session) -> None:
        self.session = session
        if self._on_update is not None:
            self._on_update(session)

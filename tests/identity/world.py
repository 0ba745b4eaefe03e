"""A small fake internet on loopback for resolution tests.

- :class:`WebHosts`: one HTTPS server (a real uvicorn with a throwaway CA) that answers
  for many host names by ``Host`` header: ``/.well-known/did.json`` for did:web and
  ``/.well-known/atproto-did`` for handles, from tables the test fills in.
- :class:`PortForward`: an httpcore backend that sends connections for port 443 to the
  test server's port, the way a NAT would. The SSRF guard still checks the address.
- :func:`client_for`: a :class:`SafeHttpClient` wired to a static name table (every
  name -> 127.0.0.1), the test CA, and the port forward.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpcore
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from lexforge.runtime.identity.safe_http import (
    FetchPolicy,
    SafeHttpClient,
    SafeTransport,
    StaticHostResolver,
)
from tests.identity.servers import ServerThread
from tests.identity.tls import TlsFiles, make_tls_files

__all__ = ["Answer", "PortForward", "WebHosts", "client_for"]


@dataclass
class Answer:
    """A canned HTTP answer."""

    status: int = 200
    body: bytes | None = None
    json: Any = None
    redirect: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        if self.redirect is not None:
            return RedirectResponse(self.redirect, status_code=self.status)
        if self.json is not None:
            return JSONResponse(self.json, status_code=self.status, headers=self.headers)
        return Response(self.body or b"", status_code=self.status, headers=self.headers)


class WebHosts:
    """Virtual hosts served over HTTPS by one uvicorn on 127.0.0.1."""

    def __init__(self, tmp: Path, names: Iterable[str]) -> None:
        self.names = list(names)
        self.did_json: dict[str, Answer] = {}
        self.atproto_did: dict[str, Answer] = {}
        self.hits: list[tuple[str, str]] = []
        self.tls: TlsFiles = make_tls_files(tmp, *self.names)
        app = Starlette(
            routes=[
                Route("/.well-known/did.json", self._serve(self.did_json)),
                Route("/.well-known/atproto-did", self._serve(self.atproto_did)),
            ]
        )
        self.server = ServerThread(
            app,
            "127.0.0.1",
            ssl_certfile=str(self.tls.cert),
            ssl_keyfile=str(self.tls.key),
            timeout_graceful_shutdown=1,
        )

    def _serve(self, table: dict[str, Answer]) -> Any:
        async def endpoint(request: Request) -> Response:
            host = request.headers.get("host", "").rsplit(":", 1)[0]
            self.hits.append((host, request.url.path))
            answer = table.get(host)
            if answer is None:
                return Response(b"not here", status_code=404)
            return answer.response()

        return endpoint

    def __enter__(self) -> WebHosts:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(None, None, None)


class PortForward(httpcore.AsyncNetworkBackend):
    """Send connections for port 443 to ``port`` (a NAT in front of the test); other
    ports pass through unchanged."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        target = self.port if port == 443 else port
        return await self.inner.connect_tcp(host, target, *args, **kwargs)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def client_for(
    web: WebHosts,
    *,
    extra_names: dict[str, list[str]] | None = None,
    allow_loopback: bool = True,
    timeout: float = 2.0,
    deadline: float = 4.0,
) -> SafeHttpClient:
    names: dict[str, list[str]] = {name: ["127.0.0.1"] for name in web.names}
    names.update(extra_names or {})
    policy = FetchPolicy(allow_loopback=allow_loopback, timeout=timeout, deadline=deadline)
    transport = SafeTransport(
        policy,
        resolver=StaticHostResolver(names),
        ssl_context=web.tls.client_context(),
        inner_backend=PortForward(web.server.port),
    )
    return SafeHttpClient(policy, transport=transport)

"""The SSRF-safe client against real loopback servers (reliability N1, section 5 items 9-10).

Names are mapped to addresses by a local resolver stub, so "attacker.test" can point at
127.0.0.1, ::1, the metadata address, or an IPv6 form wrapping loopback; the real
servers listen on 127.0.0.1 and ::1 so a refusal is a refusal, not a connection error.
"""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from lexforge.runtime.identity.errors import (
    FetchConnectError,
    FetchError,
    FetchTimeoutError,
    RedirectError,
    ResponseTooLargeError,
    UnsafeAddressError,
    UnsafeUrlError,
)
from lexforge.runtime.identity.netguard import IPAddress
from lexforge.runtime.identity.safe_http import (
    FetchPolicy,
    SafeHttpClient,
    SafeNetworkBackend,
    SafeTransport,
    StaticHostResolver,
    is_loopback_url,
)
from tests.identity.servers import ServerThread
from tests.identity.tls import make_tls_files

GZIP_BOMB = gzip.compress(b"\0" * 5_000_000)


async def _hello(request: Request) -> Response:
    return PlainTextResponse(f"hello {request.headers['host']}")


async def _big_streamed(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"x" * 4096

    return StreamingResponse(chunks(), media_type="text/plain")


async def _big_declared(request: Request) -> Response:
    return PlainTextResponse("y" * 100_000)


async def _gzip_bomb(request: Request) -> Response:
    return Response(GZIP_BOMB, headers={"content-encoding": "gzip"}, media_type="text/plain")


async def _gzip_small(request: Request) -> Response:
    return Response(
        gzip.compress(b"did:plc:small"),
        headers={"content-encoding": "gzip"},
        media_type="text/plain",
    )


async def _brotli(request: Request) -> Response:
    return Response(b"xx", headers={"content-encoding": "br"})


async def _slow(request: Request) -> Response:
    async def drip() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"."
            await asyncio.sleep(0.05)

    return StreamingResponse(drip(), media_type="text/plain")


async def _hang(request: Request) -> Response:
    await asyncio.sleep(2)
    return PlainTextResponse("late")


async def _redirect(request: Request) -> Response:
    return RedirectResponse(request.query_params["to"], status_code=302)


APP = Starlette(
    routes=[
        Route("/", _hello),
        Route("/big", _big_streamed),
        Route("/declared", _big_declared),
        Route("/bomb", _gzip_bomb),
        Route("/gzip", _gzip_small),
        Route("/br", _brotli),
        Route("/slow", _slow),
        Route("/hang", _hang),
        Route("/redirect", _redirect),
    ]
)


@pytest.fixture(scope="module")
def server4() -> Iterator[ServerThread]:
    with ServerThread(APP, "127.0.0.1", timeout_graceful_shutdown=1) as server:
        yield server


@pytest.fixture(scope="module")
def server6() -> Iterator[ServerThread]:
    with ServerThread(APP, "::1", timeout_graceful_shutdown=1) as server:
        yield server


NAMES = {
    "v4.test": ["127.0.0.1"],
    "v6.test": ["::1"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "nat64.test": ["64:ff9b::7f00:1"],
    "sixtofour.test": ["2002:7f00:1::"],
    "metadata.test": ["169.254.169.254"],
    "private.test": ["10.1.2.3"],
    "zero.test": ["0.0.0.0"],
    "mixed.test": ["10.0.0.1", "127.0.0.1"],
}


def fetch(url: str, *, allow_loopback: bool, **kwargs: Any) -> Any:
    policy_args = {
        k: kwargs.pop(k) for k in ("timeout", "deadline", "allowed_ports") if k in kwargs
    }

    async def go() -> Any:
        policy = FetchPolicy(allow_loopback=allow_loopback, **policy_args)
        async with SafeHttpClient(policy, resolver=StaticHostResolver(NAMES)) as client:
            kwargs.setdefault("max_bytes", 64 * 1024)
            kwargs.setdefault("allowed_schemes", ("http",))
            return await client.get(url, **kwargs)

    return asyncio.run(go())


# -- refusal at connect, per address form ----------------------------------------------


@pytest.mark.parametrize("name", ["v4.test", "mapped.test", "127.0.0.1"])
def test_loopback_v4_allowed_only_in_dev_mode(server4: ServerThread, name: str) -> None:
    url = f"http://{name}:{server4.port}/"
    response = fetch(url, allow_loopback=True)
    assert response.status == 200
    assert response.body == f"hello {name}:{server4.port}".encode()
    with pytest.raises(UnsafeAddressError, match="loopback"):
        fetch(url, allow_loopback=False)


@pytest.mark.parametrize("name", ["v6.test", "[::1]"])
def test_loopback_v6_allowed_only_in_dev_mode(server6: ServerThread, name: str) -> None:
    url = f"http://{name}:{server6.port}/"
    assert fetch(url, allow_loopback=True).status == 200
    with pytest.raises(UnsafeAddressError, match="loopback"):
        fetch(url, allow_loopback=False)


@pytest.mark.parametrize(
    "name", ["nat64.test", "sixtofour.test", "metadata.test", "private.test", "zero.test"]
)
@pytest.mark.parametrize("allow_loopback", [False, True])
def test_forbidden_forms_refused_even_in_dev_mode(
    server4: ServerThread, name: str, allow_loopback: bool
) -> None:
    with pytest.raises(UnsafeAddressError, match="forbidden"):
        fetch(f"http://{name}:{server4.port}/", allow_loopback=allow_loopback)


def test_ip_literals_are_checked_too(server4: ServerThread) -> None:
    for literal in ("169.254.169.254", "[::ffff:169.254.169.254]", "[64:ff9b::7f00:1]"):
        with pytest.raises(UnsafeAddressError):
            fetch(f"http://{literal}:{server4.port}/", allow_loopback=True)


def test_mixed_answers_connect_only_to_allowed_address(server4: ServerThread) -> None:
    response = fetch(f"http://mixed.test:{server4.port}/", allow_loopback=True)
    assert response.status == 200


def test_unknown_name_is_a_connect_error(server4: ServerThread) -> None:
    with pytest.raises(FetchConnectError):
        fetch(f"http://nowhere.test:{server4.port}/", allow_loopback=True)


def test_public_addresses_only_on_default_ports() -> None:
    policy = FetchPolicy()
    attempted: list[tuple[str, int]] = []

    class Recorder(httpcore.AsyncNetworkBackend):
        async def connect_tcp(self, host: str, port: int, *a: Any, **k: Any) -> Any:
            attempted.append((host, port))
            raise httpcore.ConnectError("recorded, not connected")

    async def go(port: int) -> None:
        backend = SafeNetworkBackend(
            policy, resolver=StaticHostResolver({"pub.test": ["93.184.216.34"]}), inner=Recorder()
        )
        await backend.connect_tcp("pub.test", port)

    with pytest.raises(UnsafeAddressError, match="port 8080"):
        asyncio.run(go(8080))
    assert attempted == []
    with pytest.raises(httpcore.ConnectError):
        asyncio.run(go(443))
    assert attempted == [("93.184.216.34", 443)]


def test_dns_rebinding_cannot_race_the_check() -> None:
    """The backend resolves once and connects to the IP it checked; a resolver that
    answers public first and loopback later never gets a second question."""
    answers = [["93.184.216.34"], ["127.0.0.1"]]
    calls: list[str] = []
    connected: list[str] = []

    async def rebinding(host: str, port: int) -> list[IPAddress]:
        calls.append(host)
        return [ipaddress.ip_address(a) for a in answers[min(len(calls) - 1, 1)]]

    class Recorder(httpcore.AsyncNetworkBackend):
        async def connect_tcp(self, host: str, port: int, *a: Any, **k: Any) -> Any:
            connected.append(host)
            raise httpcore.ConnectError("recorded")

    async def go() -> None:
        backend = SafeNetworkBackend(FetchPolicy(), resolver=rebinding, inner=Recorder())
        with pytest.raises(httpcore.ConnectError):
            await backend.connect_tcp("rebind.test", 443)
        with pytest.raises(UnsafeAddressError):
            await backend.connect_tcp("rebind.test", 443)

    asyncio.run(go())
    assert connected == ["93.184.216.34"]
    assert calls == ["rebind.test", "rebind.test"]


def test_peer_address_is_rechecked_after_connect(server4: ServerThread) -> None:
    """Defence in depth: if the socket somehow lands on loopback although the checked
    address was public (NAT, a lying backend), the peer check refuses it."""

    class Misrouting(httpcore.AsyncNetworkBackend):
        def __init__(self) -> None:
            self.inner = httpcore.AnyIOBackend()

        async def connect_tcp(self, host: str, port: int, *a: Any, **k: Any) -> Any:
            return await self.inner.connect_tcp("127.0.0.1", server4.port, *a, **k)

    async def go() -> None:
        backend = SafeNetworkBackend(
            FetchPolicy(allowed_ports=None),
            resolver=StaticHostResolver({"pub.test": ["93.184.216.34"]}),
            inner=Misrouting(),
        )
        await backend.connect_tcp("pub.test", 443)

    with pytest.raises(UnsafeAddressError, match="connected peer"):
        asyncio.run(go())


def test_unix_sockets_refused() -> None:
    async def go() -> None:
        await SafeNetworkBackend(FetchPolicy()).connect_unix_socket("/tmp/x.sock")

    with pytest.raises(UnsafeUrlError):
        asyncio.run(go())


def test_transport_usable_with_plain_httpx(server4: ServerThread) -> None:
    async def go() -> tuple[int, type[BaseException] | None]:
        transport = SafeTransport(FetchPolicy(), resolver=StaticHostResolver(NAMES))
        async with httpx.AsyncClient(transport=transport) as client:
            try:
                await client.get(f"http://v4.test:{server4.port}/")
            except UnsafeAddressError as exc:
                refused: type[BaseException] | None = type(exc)
            else:
                refused = None
        transport = SafeTransport(
            FetchPolicy(allow_loopback=True), resolver=StaticHostResolver(NAMES)
        )
        async with httpx.AsyncClient(transport=transport) as client:
            ok = await client.get(f"http://v4.test:{server4.port}/")
        return ok.status_code, refused

    status, refused = asyncio.run(go())
    assert status == 200
    assert refused is UnsafeAddressError


# -- URL rules, redirects ------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "ftp://v4.test/",
        "file:///etc/passwd",
        "http://user:pw@v4.test/",
        "https://v4.test/",  # scheme not in the allowed list (http only here)
        "http:///nohost",
    ],
)
def test_bad_urls_refused_before_connecting(url: str) -> None:
    with pytest.raises(UnsafeUrlError):
        fetch(url, allow_loopback=True)


def test_redirects_not_followed_unless_asked(server4: ServerThread) -> None:
    base = f"http://v4.test:{server4.port}"
    url = f"{base}/redirect?to={base}/"
    with pytest.raises(RedirectError):
        fetch(url, allow_loopback=True)
    response = fetch(url, allow_loopback=True, max_redirects=1)
    assert response.status == 200
    assert response.redirects == [f"{base}/"]


def test_redirect_chain_limit(server4: ServerThread) -> None:
    base = f"http://v4.test:{server4.port}"
    inner = f"{base}/redirect?to={base}/"
    outer = str(httpx.URL(f"{base}/redirect", params={"to": inner}))
    with pytest.raises(RedirectError):
        fetch(outer, allow_loopback=True, max_redirects=1)
    assert fetch(outer, allow_loopback=True, max_redirects=2).status == 200


@pytest.mark.parametrize(
    "target", ["http://metadata.test/", "http://private.test/x", "http://[::ffff:10.0.0.1]/"]
)
def test_redirect_to_private_address_refused(server4: ServerThread, target: str) -> None:
    url = str(httpx.URL(f"http://v4.test:{server4.port}/redirect", params={"to": target}))
    with pytest.raises(UnsafeAddressError):
        fetch(url, allow_loopback=True, max_redirects=3)


def test_redirect_to_other_scheme_refused(server4: ServerThread) -> None:
    url = str(
        httpx.URL(f"http://v4.test:{server4.port}/redirect", params={"to": "file:///etc/passwd"})
    )
    with pytest.raises(RedirectError):
        fetch(url, allow_loopback=True, max_redirects=3)


# -- size caps ---------------------------------------------------------------------------


def test_streamed_body_over_cap_refused(server4: ServerThread) -> None:
    url = f"http://v4.test:{server4.port}/big"
    with pytest.raises(ResponseTooLargeError):
        fetch(url, allow_loopback=True, max_bytes=64 * 1024)
    assert len(fetch(url, allow_loopback=True, max_bytes=500_000).body) == 409_600


def test_declared_length_over_cap_refused(server4: ServerThread) -> None:
    with pytest.raises(ResponseTooLargeError, match="declares"):
        fetch(f"http://v4.test:{server4.port}/declared", allow_loopback=True, max_bytes=2048)


def test_gzip_bomb_refused_with_bounded_memory(server4: ServerThread) -> None:
    assert len(GZIP_BOMB) < 64 * 1024
    with pytest.raises(ResponseTooLargeError):
        fetch(f"http://v4.test:{server4.port}/bomb", allow_loopback=True, max_bytes=64 * 1024)


def test_small_gzip_body_decoded(server4: ServerThread) -> None:
    response = fetch(f"http://v4.test:{server4.port}/gzip", allow_loopback=True, max_bytes=2048)
    assert response.body == b"did:plc:small"


def test_unknown_content_encoding_refused(server4: ServerThread) -> None:
    with pytest.raises(FetchError, match="Content-Encoding"):
        fetch(f"http://v4.test:{server4.port}/br", allow_loopback=True)


# -- timeouts ----------------------------------------------------------------------------


def test_slow_loris_hits_the_overall_deadline(server4: ServerThread) -> None:
    with pytest.raises(FetchTimeoutError, match="deadline"):
        fetch(f"http://v4.test:{server4.port}/slow", allow_loopback=True, timeout=1.0, deadline=0.4)


def test_read_timeout(server4: ServerThread) -> None:
    with pytest.raises(FetchTimeoutError):
        fetch(f"http://v4.test:{server4.port}/hang", allow_loopback=True, timeout=0.2, deadline=5)


@pytest.mark.parametrize(
    "values",
    [
        {"timeout": 0},
        {"deadline": -1},
        {"timeout": float("inf")},
        {"deadline": float("inf")},
        {"timeout": float("nan")},
        {"timeout": None},
    ],
)
def test_timeouts_can_never_be_disabled(values: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="never None"):
        FetchPolicy(**values)


def test_environment_proxies_are_ignored(
    server4: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy from the environment would make the SSRF check meaningless (the proxy,
    not us, would connect). Point every proxy variable at a recording server: the fetch
    must still go straight to the target, and the proxy must see nothing."""
    seen: list[str] = []

    async def record(request: Request) -> Response:
        seen.append(str(request.url))
        return PlainTextResponse("from the proxy")

    proxy_app = Starlette(routes=[Route("/{path:path}", record)])
    with ServerThread(proxy_app, "127.0.0.1") as proxy:
        for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
            monkeypatch.setenv(var, proxy.base_url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        response = fetch(f"http://v4.test:{server4.port}/", allow_loopback=True)
    assert response.body == f"hello v4.test:{server4.port}".encode()
    assert seen == []


# -- TLS: connecting to the checked IP keeps SNI and certificate checks -----------------


def test_tls_to_checked_ip_keeps_hostname_verification(tmp_path: Path) -> None:
    files = make_tls_files(tmp_path, "secure.test")
    with ServerThread(
        APP, "127.0.0.1", ssl_certfile=str(files.cert), ssl_keyfile=str(files.key)
    ) as server:
        resolver = StaticHostResolver({"secure.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})

        async def go(name: str) -> bytes:
            async with SafeHttpClient(
                FetchPolicy(allow_loopback=True),
                resolver=resolver,
                ssl_context=files.client_context(),
            ) as client:
                response = await client.get(f"https://{name}:{server.port}/", max_bytes=1024)
                return response.body

        assert asyncio.run(go("secure.test")) == f"hello secure.test:{server.port}".encode()
        # Same IP, wrong name: the certificate check (by SNI host name) must fail.
        with pytest.raises(FetchConnectError):
            asyncio.run(go("other.test"))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:2582", True),
        ("http://127.3.4.5/", True),
        ("http://[::1]:2582", True),
        ("http://LOCALHOST:2582", True),
        ("https://plc.directory", False),
        ("http://10.0.0.1", False),
        ("http://[::ffff:10.0.0.1]", False),
        ("http://localhost.evil.test", False),
        ("not a url", False),
        ("", False),
    ],
)
def test_is_loopback_url(url: str, expected: bool) -> None:
    assert is_loopback_url(url) is expected

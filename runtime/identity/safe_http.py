"""An SSRF-safe HTTP client for fetching from untrusted URLs.

Identity resolution fetches URLs an attacker chooses (a did:web host, a handle's
``/.well-known/atproto-did``, endpoints read from DID documents). This module makes such
fetches safe by construction rather than by remembering to check:

- **The address actually connected is checked.** :class:`SafeNetworkBackend` is an
  httpcore network backend that resolves the host itself, classifies every address with
  :func:`~lexforge.runtime.identity.netguard.classify_address`, and opens the socket to
  the *checked IP* (TLS still uses the original host name for SNI and certificate
  checks, and the ``Host`` header is untouched). A second resolution by the OS cannot
  happen, so DNS rebinding (public answer first, private answer at connect time) has
  nothing to race. After connecting, the socket's peer address is classified again.
- **Ports**: only 80 and 443 on public addresses by default; loopback (when allowed for
  local development) may use any port.
- **No blind redirects**: the client never follows redirects by itself; callers say how
  many they accept, each hop's URL is re-validated, and each hop connects through the
  same guarded backend. HTTPS -> HTTP downgrades are refused.
- **Explicit timeouts** per operation plus an overall deadline for the whole fetch
  (``timeout=None`` in httpx would switch timeouts *off*; we never pass it).
- **Size caps enforced while streaming**: a declared ``Content-Length`` over the cap fails
  before reading; otherwise bytes are counted as they arrive, after bounded
  decompression (gzip / deflate only, so a compression bomb cannot expand unchecked).
- **No proxies from the environment** (``trust_env=False``), no HTTP/2 (the TS reference
  disabled it after an SSRF-check bypass), no Unix sockets.

:class:`SafeTransport` is a plain ``httpx.AsyncBaseTransport``, so other packages can
use it with their own ``httpx.AsyncClient`` when talking to hosts named in DID
documents. :class:`SafeHttpClient` adds the capped, deadline-bound fetch on top.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import socket
import ssl
import typing
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType

import httpcore
import httpx

from lexforge.runtime.identity.errors import (
    FetchConnectError,
    FetchError,
    FetchTimeoutError,
    RedirectError,
    ResponseTooLargeError,
    UnsafeAddressError,
    UnsafeUrlError,
)
from lexforge.runtime.identity.netguard import (
    AddressClass,
    AddressVerdict,
    IPAddress,
    classify_address,
)

__all__ = [
    "DEFAULT_PORTS",
    "FetchPolicy",
    "FetchResponse",
    "HostResolver",
    "SafeHttpClient",
    "SafeNetworkBackend",
    "SafeTransport",
    "StaticHostResolver",
    "check_url",
    "is_loopback_url",
    "system_resolver",
]

#: Ports allowed on public addresses unless the policy says otherwise.
DEFAULT_PORTS = frozenset({80, 443})

#: ``async (host, port) -> addresses``: how :class:`SafeNetworkBackend` resolves names.
HostResolver = Callable[[str, int], Awaitable[list[IPAddress]]]

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_MAX_ADDRESSES = 16


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Resolve ``host`` with the operating system's resolver (``getaddrinfo``)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchConnectError(f"cannot resolve host {host!r}: {exc}") from None
    out: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        addr = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
        if addr not in out:
            out.append(addr)
    return out


class StaticHostResolver:
    """A fixed name -> addresses table, for tests and local development.

    Names not in the table go to ``fallback`` if one is given (curl ``--resolve``
    semantics), else fail to resolve, so a test cannot accidentally reach the network.
    Pinned addresses are still checked by the SSRF guard like any other.
    """

    def __init__(
        self, table: Mapping[str, Iterable[str]], *, fallback: HostResolver | None = None
    ) -> None:
        self._table = {
            name.lower(): [ipaddress.ip_address(a) for a in addrs] for name, addrs in table.items()
        }
        self._fallback = fallback

    def set(self, name: str, addresses: Iterable[str]) -> None:
        """Point ``name`` at ``addresses`` (replacing any previous entry)."""
        self._table[name.lower()] = [ipaddress.ip_address(a) for a in addresses]

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        addrs = self._table.get(host.lower().rstrip("."))
        if not addrs and self._fallback is not None:
            return await self._fallback(host, port)
        if not addrs:
            raise FetchConnectError(f"cannot resolve host {host!r}: not in the static table")
        return list(addrs)


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """What outbound fetches may do.

    ``allow_loopback`` is the local-development switch: loopback addresses (127.0.0.0/8,
    ::1) become reachable on any port. Private, link-local, multicast and translated
    forms stay forbidden regardless.
    """

    allow_loopback: bool = False
    #: Per-operation timeout (connect, read, write, pool), seconds.
    timeout: float = 3.0
    #: Overall budget for one fetch including redirects, seconds.
    deadline: float = 5.0
    #: Ports allowed on public addresses; ``None`` allows any.
    allowed_ports: frozenset[int] | None = DEFAULT_PORTS
    user_agent: str = "lexforge-identity"

    def __post_init__(self) -> None:
        for value in (self.timeout, self.deadline):
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError("timeouts must be finite positive numbers (never None)")


def _verdict_allowed(verdict: AddressVerdict, port: int, policy: FetchPolicy) -> str | None:
    """None if connecting to ``verdict`` on ``port`` is allowed, else the reason why not."""
    if verdict.kind is AddressClass.FORBIDDEN:
        return f"{verdict.address} is forbidden ({verdict.reason})"
    if verdict.kind is AddressClass.LOOPBACK:
        if not policy.allow_loopback:
            return f"{verdict.address} is loopback ({verdict.reason}) and loopback is not allowed"
        return None
    if policy.allowed_ports is not None and port not in policy.allowed_ports:
        return f"port {port} is not allowed for public addresses"
    return None


class SafeNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore backend that connects only to addresses the policy allows.

    The host is resolved here (with ``resolver``), each address classified, and the
    socket opened to the checked IP. The peer address of the connected socket is checked
    again before the stream is handed to httpcore.
    """

    def __init__(
        self,
        policy: FetchPolicy,
        *,
        resolver: HostResolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolver: HostResolver = resolver or system_resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def _resolve(self, host: str, port: int, timeout: float | None) -> list[IPAddress]:
        try:
            return [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            pass
        try:
            async with asyncio.timeout(timeout):
                addrs = await self._resolver(host, port)
        except TimeoutError:
            raise FetchTimeoutError(f"resolving {host!r} timed out") from None
        return addrs[:_MAX_ADDRESSES]

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addrs = await self._resolve(host, port, timeout)
        if not addrs:
            raise FetchConnectError(f"host {host!r} has no addresses")
        refusals: list[str] = []
        allowed: list[AddressVerdict] = []
        for addr in addrs:
            verdict = classify_address(addr)
            why = _verdict_allowed(verdict, port, self._policy)
            if why is None:
                allowed.append(verdict)
            else:
                refusals.append(why)
        if not allowed:
            raise UnsafeAddressError(f"refusing to connect to {host!r}: {'; '.join(refusals)}")
        last_error: Exception | None = None
        for verdict in allowed:
            try:
                stream = await self._inner.connect_tcp(
                    str(verdict.connect_to),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
                continue
            await self._check_peer(stream, host, port)
            return stream
        assert last_error is not None
        raise last_error

    async def _check_peer(self, stream: httpcore.AsyncNetworkStream, host: str, port: int) -> None:
        peer = stream.get_extra_info("server_addr")
        try:
            addr = ipaddress.ip_address(str(peer[0]).partition("%")[0])
        except (TypeError, IndexError, ValueError):
            await stream.aclose()
            raise UnsafeAddressError(f"cannot determine the peer address for {host!r}") from None
        why = _verdict_allowed(classify_address(addr), port, self._policy)
        if why is not None:
            await stream.aclose()
            raise UnsafeAddressError(f"connected peer for {host!r} refused: {why}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeUrlError("Unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# httpcore exception -> httpx exception, most specific first.
_EXC_MAP: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
)


def _map_exception(exc: Exception) -> Exception:
    for src, dst in _EXC_MAP:
        if isinstance(exc, src):
            return dst(str(exc))
    return exc


class _MappedStream(httpx.AsyncByteStream):
    def __init__(self, inner: typing.AsyncIterable[bytes]) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._inner:
                yield part
        except Exception as exc:
            mapped = _map_exception(exc)
            if mapped is exc:
                raise
            raise mapped from exc

    async def aclose(self) -> None:
        closer = getattr(self._inner, "aclose", None)
        if closer is not None:
            await closer()


class SafeTransport(httpx.AsyncBaseTransport):
    """An httpx transport whose every connection goes through :class:`SafeNetworkBackend`.

    HTTP/1.1 only, no proxies, no retries. Use it for any request to a host that came
    from untrusted data. ``inner_backend`` is the backend that opens sockets to checked
    addresses (default anyio); tests use it to forward ports.
    """

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        *,
        resolver: HostResolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = 50,
        inner_backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.policy = policy or FetchPolicy()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections // 5 or 1,
            keepalive_expiry=30.0,
            http1=True,
            http2=False,
            retries=0,
            network_backend=SafeNetworkBackend(self.policy, resolver=resolver, inner=inner_backend),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in ("http", "https"):
            raise UnsafeUrlError(f"scheme {request.url.scheme!r} is not allowed")
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = await self._pool.handle_async_request(core_request)
        except Exception as exc:
            mapped = _map_exception(exc)
            if mapped is exc:
                raise
            raise mapped from exc
        assert isinstance(response.stream, typing.AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_MappedStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


@dataclass(frozen=True, slots=True)
class FetchResponse:
    """A fully read, size-capped response."""

    status: int
    headers: httpx.Headers
    body: bytes
    #: The URL that produced this response (after any accepted redirects).
    url: str
    redirects: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True for 2xx statuses."""
        return 200 <= self.status < 300

    @property
    def content_type(self) -> str:
        """The media type without parameters, lowercased ('' if absent)."""
        value: str = self.headers.get("content-type", "")
        return value.split(";", maxsplit=1)[0].strip().lower()


def is_loopback_url(url: str) -> bool:
    """True if ``url`` names ``localhost`` or a loopback IP literal as its host.

    For URLs an operator configured (a local PLC directory), which may then be reached
    in local-development mode without opening loopback to untrusted URLs as well.
    """
    try:
        host = httpx.URL(url).host
    except (httpx.InvalidURL, TypeError, ValueError):
        return False
    if host.lower() == "localhost":
        return True
    try:
        return classify_address(host).kind is AddressClass.LOOPBACK
    except ValueError:
        return False


def check_url(url: str, allowed_schemes: Iterable[str]) -> httpx.URL:
    """Validate ``url`` before any connection: scheme, no credentials, a host.

    Raises :class:`UnsafeUrlError`.
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise UnsafeUrlError(f"invalid URL {url[:200]!r}: {exc}") from None
    schemes = tuple(allowed_schemes)
    if parsed.scheme not in schemes:
        raise UnsafeUrlError(f"URL scheme {parsed.scheme!r} not allowed (allowed: {schemes})")
    if parsed.userinfo:
        raise UnsafeUrlError("URLs with credentials are not allowed")
    if not parsed.host:
        raise UnsafeUrlError(f"URL has no host: {url[:200]!r}")
    return parsed


class _BoundedDecoder:
    """Decode a gzip/deflate body without ever producing more than ``limit`` bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        if encoding in ("", "identity"):
            self._z = None
        elif encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj()
        else:
            raise FetchError(f"unsupported Content-Encoding {encoding!r}")
        self._limit = limit
        self._total = 0
        self._parts: list[bytes] = []

    def feed(self, data: bytes) -> None:
        if self._z is None:
            self._add(data)
            return
        try:
            out = self._z.decompress(data, self._limit - self._total + 1)
            self._add(out)
            if self._z.unconsumed_tail:
                raise ResponseTooLargeError(f"decoded body exceeds {self._limit} bytes")
        except zlib.error as exc:
            raise FetchError(f"corrupt compressed body: {exc}") from None

    def finish(self) -> bytes:
        if self._z is not None:
            try:
                self._add(self._z.flush(self._limit - self._total + 1))
            except zlib.error as exc:
                raise FetchError(f"corrupt compressed body: {exc}") from None
        return b"".join(self._parts)

    def _add(self, data: bytes) -> None:
        self._total += len(data)
        if self._total > self._limit:
            raise ResponseTooLargeError(f"response body exceeds {self._limit} bytes")
        self._parts.append(data)


class SafeHttpClient:
    """Size-capped, deadline-bound HTTP fetches through :class:`SafeTransport`.

    Use as an async context manager or call :meth:`aclose`. One client can be shared by
    every resolver of a process (it holds the connection pool).
    """

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        *,
        resolver: HostResolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.policy = policy or FetchPolicy()
        self._client = httpx.AsyncClient(
            transport=transport
            or SafeTransport(self.policy, resolver=resolver, ssl_context=ssl_context),
            timeout=httpx.Timeout(self.policy.timeout),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": self.policy.user_agent, "Accept-Encoding": "identity"},
        )

    async def __aenter__(self) -> SafeHttpClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def get(
        self,
        url: str,
        *,
        max_bytes: int,
        headers: Mapping[str, str] | None = None,
        max_redirects: int = 0,
        allowed_schemes: Iterable[str] = ("https",),
    ) -> FetchResponse:
        """GET ``url``; see :meth:`request`."""
        return await self.request(
            "GET",
            url,
            max_bytes=max_bytes,
            headers=headers,
            max_redirects=max_redirects,
            allowed_schemes=allowed_schemes,
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        max_bytes: int,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        max_redirects: int = 0,
        allowed_schemes: Iterable[str] = ("https",),
    ) -> FetchResponse:
        """Send one request and read the whole (capped) response.

        Redirects are followed only for GET/HEAD and at most ``max_redirects`` times;
        each target must pass the same URL checks (and HTTPS never downgrades to HTTP).
        A redirect beyond the limit raises :class:`RedirectError`. Non-2xx statuses are
        returned, not raised. Raises :class:`FetchError` subclasses for everything that
        went wrong on the way.
        """
        schemes = tuple(allowed_schemes)
        try:
            async with asyncio.timeout(self.policy.deadline):
                return await self._request(
                    method,
                    url,
                    max_bytes=max_bytes,
                    content=content,
                    headers=headers,
                    max_redirects=max_redirects,
                    schemes=schemes,
                )
        except TimeoutError:
            raise FetchTimeoutError(
                f"fetching {url[:200]!r} exceeded the {self.policy.deadline}s deadline"
            ) from None

    async def _request(
        self,
        method: str,
        url: str,
        *,
        max_bytes: int,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        max_redirects: int,
        schemes: tuple[str, ...],
    ) -> FetchResponse:
        target = check_url(url, schemes)
        hops: list[str] = []
        while True:
            status, resp_headers, body = await self._send_once(
                method, target, max_bytes, content, headers
            )
            if status not in _REDIRECT_STATUSES:
                return FetchResponse(status, resp_headers, body, str(target), hops)
            location = resp_headers.get("location")
            if max_redirects <= len(hops) or method not in ("GET", "HEAD"):
                raise RedirectError(
                    f"{target} answered {status} redirect to {location!r}; not followed"
                )
            if not location:
                raise RedirectError(f"{target} answered {status} without a Location header")
            try:
                next_url = target.join(location)
            except (httpx.InvalidURL, ValueError) as exc:
                raise RedirectError(f"invalid redirect Location {location[:200]!r}") from exc
            if target.scheme == "https" and next_url.scheme != "https":
                raise RedirectError(f"refusing HTTPS to {next_url.scheme} redirect: {next_url}")
            try:
                target = check_url(str(next_url), schemes)
            except UnsafeUrlError as exc:
                raise RedirectError(f"redirect target refused: {exc}") from exc
            hops.append(str(target))

    async def _send_once(
        self,
        method: str,
        target: httpx.URL,
        max_bytes: int,
        content: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> tuple[int, httpx.Headers, bytes]:
        request = self._client.build_request(method, target, content=content, headers=headers)
        try:
            response = await self._client.send(request, stream=True)
            try:
                declared = response.headers.get("content-length")
                if (
                    declared is not None
                    and declared.strip().isdigit()
                    and int(declared) > max_bytes
                ):
                    raise ResponseTooLargeError(
                        f"{target} declares {declared} bytes (cap {max_bytes})"
                    )
                encoding = response.headers.get("content-encoding", "").strip().lower()
                decoder = _BoundedDecoder(encoding, max_bytes)
                async for chunk in response.aiter_raw():
                    decoder.feed(chunk)
                body = decoder.finish()
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise FetchTimeoutError(f"timeout talking to {target.host}: {exc!r}") from None
        except httpx.TransportError as exc:
            raise FetchConnectError(f"request to {target.host} failed: {exc!r}") from None
        except httpx.HTTPError as exc:  # pragma: no cover - all raised ones are TransportError
            raise FetchConnectError(f"request to {target.host} failed: {exc!r}") from None
        return response.status_code, response.headers, body

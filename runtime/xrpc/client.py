"""XRPC clients over httpx: :class:`XrpcClient` (blocking) and :class:`AsyncXrpcClient`.

Generated clients subclass these and add one typed method per Lexicon method; each
method is a single call to :meth:`~XrpcClient.query`, :meth:`~XrpcClient.procedure` or
:meth:`~XrpcClient.subscribe`. Everything else happens here:

* query parameters per spec/xrpc.md §2 (:mod:`.params`), defaults sent explicitly;
* bodies: JSON models validated before sending, raw ``bytes`` or a chunk iterable for
  binary encodings, and *no body at all* for procedures without input;
* responses: JSON checked and validated into the output model, binary returned as
  ``bytes`` (or streamed with :meth:`~XrpcClient.query_stream`), errors raised as the
  method's declared class or the status class from :mod:`.errors`;
* auth hooks (:mod:`.auth`): headers per request, one refresh-and-retry on 401 or on
  400 ``ExpiredToken``;
* ``atproto-proxy`` and ``atproto-accept-labelers`` headers;
* timeouts always on (``None`` per request means "the client default", never "no
  timeout"), redirects never followed, response bodies capped while they stream.

What a JSON response must satisfy (a server is not trusted): the size cap; the output
model's strict types, formats and limits; for ``unknown`` content and unknown fields, the
data model (no floats, NaN or Infinity, integers within +/-(2^53 - 1), valid links,
bytes, blobs and ``$type``, at most 32 levels of nesting, valid Unicode). A body is read
in one pass (``model_validate_json`` on the bytes, through the model's fast validator);
whatever that refuses goes through the strict reader of :mod:`.codec`, which decides and
words the error, and reads ``1.0`` as the integer ``1`` as the data model says. Duplicate
object keys are read last-wins, as the peers of any server read them (the strict reader,
used for requests our server receives, refuses them): a response is not hashed or signed
as JSON. The incumbent Python SDK checks types only (stdlib ``json``: NaN, lone
surrogates and duplicate keys pass).
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Iterable,
    Iterator,
    Mapping,
)
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Self, TypeAlias, TypeVar, overload
from urllib.parse import urlencode

import anyio
import httpx
from pydantic import BaseModel, ValidationError

from lexforge.runtime import __version__
from lexforge.runtime.data.errors import DataModelError
from lexforge.runtime.xrpc import codec
from lexforge.runtime.xrpc.content import JSON, parse_content_type, request_content_type
from lexforge.runtime.xrpc.errors import (
    InvalidResponseError,
    ResponseTooLargeError,
    XrpcDeclaredError,
    XrpcTimeoutError,
    XrpcTransportError,
    error_from_payload,
    parse_error_body,
)
from lexforge.runtime.xrpc.params import encode_params
from lexforge.runtime.xrpc.retry import retry_after_seconds, retryable_status

if TYPE_CHECKING:
    from lexforge.runtime.xrpc.auth import AsyncAuth, Auth

__all__ = [
    "DEFAULT_MAX_RESPONSE_SIZE",
    "DEFAULT_TIMEOUT",
    "AsyncBinaryInput",
    "AsyncXrpcClient",
    "BinaryInput",
    "ClientOptions",
    "RetryPolicy",
    "StreamedResponse",
    "TimeoutLike",
    "XrpcClient",
    "check_proxy",
]

T = TypeVar("T")

#: 30 s per operation, 10 s to connect (a per-request override replaces it).
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
#: Cap on a response body read into memory (JSON or ``bytes``); stream larger ones.
DEFAULT_MAX_RESPONSE_SIZE = 256 * 1024 * 1024
#: Cap on an error body: only ``{"error", "message"}`` is wanted from it.
_MAX_ERROR_BODY = 64 * 1024

TimeoutLike: TypeAlias = float | httpx.Timeout
#: A raw request body: bytes, or chunks for a streamed upload.
BinaryInput: TypeAlias = bytes | bytearray | memoryview | Iterable[bytes]
AsyncBinaryInput: TypeAlias = BinaryInput | AsyncIterable[bytes]
ErrorClasses: TypeAlias = Iterable[type[XrpcDeclaredError]]

#: Set while an auth hook refreshes, so its own calls never trigger another refresh.
_REFRESHING: ContextVar[bool] = ContextVar("lexforge_xrpc_refreshing", default=False)

_PROXY = re.compile(r"did:[a-z]+:[a-zA-Z0-9._:%-]+#[^\s#]+")


def check_proxy(value: str) -> str:
    """Validate an ``atproto-proxy`` value (``<DID>#<service id>``) and return it."""
    if _PROXY.fullmatch(value) is None:
        raise ValueError(f"atproto-proxy must be '<did>#<service id>', got {value!r}")
    return value


def _timeout(value: TimeoutLike) -> httpx.Timeout:
    """A fully set :class:`httpx.Timeout`; refuses anything that would disable one."""
    if isinstance(value, httpx.Timeout):
        parts = (value.connect, value.read, value.write, value.pool)
        if any(p is None for p in parts):
            raise ValueError("every timeout (connect, read, write, pool) must be set")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {value!r}")
    return httpx.Timeout(float(value))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries with jittered exponential backoff (spec/xrpc.md §4).

    Only queries are retried (HTTP GET has no side effects; a procedure is never sent
    twice), on 429 and on 5xx except 501, and on connection failures and timeouts.
    ``attempts`` is the number of retries after the first try. ``Retry-After`` (seconds
    or an HTTP date) is honoured up to ``max_delay``.
    """

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 10.0

    def __post_init__(self) -> None:
        if self.attempts < 0 or self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("retry attempts and delays must be >= 0")

    @staticmethod
    def retries_status(status: int) -> bool:
        """Whether a reply with ``status`` is worth retrying (``retryable_status``)."""
        return retryable_status(status)

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        hint = retry_after_seconds(retry_after)
        if hint is not None:
            return min(self.max_delay, hint)
        ceiling = min(self.max_delay, self.base_delay * 2.0**attempt)
        return ceiling * random.uniform(0.5, 1.0)


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """Per-client settings shared by every request (copied by ``with_*`` methods)."""

    base_url: str
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    headers: Mapping[str, str] = field(default_factory=dict)
    proxy: str | None = None
    accept_labelers: str | None = None
    max_response_size: int | None = DEFAULT_MAX_RESPONSE_SIZE
    retry: RetryPolicy | None = None

    def url(self, nsid: str) -> str:
        return f"{self.base_url}/xrpc/{nsid}"

    def request_headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {"user-agent": f"lexforge/{__version__}", **self.headers}
        if self.proxy is not None:
            headers["atproto-proxy"] = self.proxy
        if self.accept_labelers is not None:
            headers["atproto-accept-labelers"] = self.accept_labelers
        if extra:
            headers.update(extra)
        return headers


def _labelers_header(labelers: str | Iterable[str] | None) -> str | None:
    """``atproto-accept-labelers``: ``did[;redact]`` items joined with ``, ``."""
    if labelers is None or isinstance(labelers, str):
        return labelers
    return ", ".join(labelers)


def _options(
    base_url: str,
    *,
    timeout: TimeoutLike,
    headers: Mapping[str, str] | None,
    proxy: str | None,
    accept_labelers: str | Iterable[str] | None,
    max_response_size: int | None,
    retry: RetryPolicy | None,
) -> ClientOptions:
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
    return ClientOptions(
        base_url=base_url.rstrip("/"),
        timeout=_timeout(timeout),
        headers=dict(headers or {}),
        proxy=None if proxy is None else check_proxy(proxy),
        accept_labelers=_labelers_header(accept_labelers),
        max_response_size=max_response_size,
        retry=retry,
    )


@dataclass(slots=True)
class _Prepared:
    """One request ready to send (and to send again after an auth refresh)."""

    nsid: str
    method: Literal["GET", "POST"]
    url: str
    params: list[tuple[str, str]]
    #: ``url`` with ``params`` as its query, parsed once (httpx parses a URL given as
    #: text, and again to merge ``params=``: a fifth of a small call).
    target: httpx.URL
    headers: dict[str, str]
    content: Any
    replayable: bool
    timeout: httpx.Timeout


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    headers: httpx.Headers
    body: bytes


def _prepare_body(
    input: Any,
    *,
    input_schema: Any,
    input_encoding: str | None,
    content_type: str | None,
) -> tuple[Any, str | None, bool]:
    """(content, Content-Type, replayable) for a procedure body."""
    if input_encoding is None:
        if input is not None:
            raise TypeError("this method takes no input")
        return None, None, True
    if input is None:
        raise TypeError("this method requires an input body")
    if input_schema is not None:
        if not isinstance(input, BaseModel):
            input = codec.validate(input_schema, input)
        return codec.dump_json(input), JSON, True
    ctype = request_content_type(input_encoding, content_type)
    if isinstance(input, bytes | bytearray | memoryview):
        return bytes(input), ctype, True
    if isinstance(input, BaseModel | Mapping) and parse_content_type(ctype) == JSON:
        return codec.dump_json(input), ctype, True
    return input, ctype, False


def _needs_refresh(reply: _Reply) -> bool:
    if reply.status == 401:
        return True
    if reply.status != 400:
        return False
    payload = parse_error_body(reply.body)
    return isinstance(payload, dict) and payload.get("error") == "ExpiredToken"


def _raise_for_status(reply: _Reply, errors: ErrorClasses) -> None:
    if 200 <= reply.status < 300:
        return
    raise error_from_payload(
        reply.status,
        parse_error_body(reply.body),
        declared=errors,
        headers=dict(reply.headers.items()),
    )


def _decode_output(nsid: str, reply: _Reply, output: Any) -> Any:
    if output is None:
        return None
    if output is bytes:
        return reply.body
    ctype = parse_content_type(reply.headers.get("content-type"))
    if ctype != JSON:
        raise InvalidResponseError(f"{nsid}: expected an application/json response, got {ctype}")
    if isinstance(output, type) and issubclass(output, BaseModel):
        # One pass: pydantic-core parses the bytes and the model's fast validator checks
        # them (formats, limits, unknown content against the data model). Anything it
        # refuses goes through the strict reader below, which decides and words the
        # error (and accepts what only it accepts, such as ``1.0`` for an integer).
        try:
            return output.model_validate_json(reply.body)
        except ValidationError:
            pass
    try:
        return codec.validate(output, codec.parse_json(reply.body))
    except DataModelError as exc:
        raise InvalidResponseError(f"{nsid}: invalid JSON response: {exc}") from None
    except ValidationError as exc:
        raise InvalidResponseError(f"{nsid}: response does not match the Lexicon: {exc}") from None


def _read_limit(status: int, options: ClientOptions) -> int | None:
    return options.max_response_size if 200 <= status < 300 else _MAX_ERROR_BODY


def _transport_error(exc: httpx.TransportError, nsid: str) -> XrpcTransportError:
    cls = XrpcTimeoutError if isinstance(exc, httpx.TimeoutException) else XrpcTransportError
    return cls(f"{nsid}: {type(exc).__name__}: {exc}")


@dataclass(frozen=True, slots=True)
class StreamedResponse:
    """A success response whose body is read chunk by chunk (see ``query_stream``)."""

    status: int
    headers: httpx.Headers
    chunks: Any

    @property
    def content_type(self) -> str | None:
        """The response's ``Content-Type`` header as sent."""
        value: str | None = self.headers.get("content-type")
        return value


class _ClientBase:
    """Configuration shared by the blocking and async clients."""

    _options: ClientOptions

    @property
    def base_url(self) -> str:
        """The service URL requests go to (``/xrpc/<nsid>`` is appended)."""
        return self._options.base_url

    @property
    def options(self) -> ClientOptions:
        """The client's settings."""
        return self._options

    def _prepare(
        self,
        *,
        nsid: str,
        method: Literal["GET", "POST"],
        params: BaseModel | Mapping[str, Any] | None,
        content: Any,
        content_type: str | None,
        replayable: bool,
        headers: Mapping[str, str] | None,
        timeout: TimeoutLike | None,
    ) -> _Prepared:
        request_headers = self._options.request_headers(headers)
        if content_type is not None:
            request_headers["content-type"] = content_type
        url = self._options.url(nsid)
        items = encode_params(params)
        # urlencode writes exactly what httpx's params= wrote (tests/xrpc check).
        target = httpx.URL(f"{url}?{urlencode(items)}" if items else url)
        return _Prepared(
            nsid=nsid,
            method=method,
            url=url,
            params=items,
            target=target,
            headers=request_headers,
            content=content,
            replayable=replayable,
            timeout=self._options.timeout if timeout is None else _timeout(timeout),
        )

    def _derive(self, **changes: Any) -> Self:
        clone = object.__new__(type(self))
        clone.__dict__.update(
            {k: v for k, v in self.__dict__.items() if k in self._shared_attributes()}
        )
        clone.__dict__["_owns_http"] = False  # the original closes the shared pool
        clone._options = replace(self._options, **changes)
        return clone

    @staticmethod
    def _shared_attributes() -> frozenset[str]:
        return frozenset({"_http", "_auth", "_owns_http"})

    def with_proxy(self, service: str | None) -> Self:
        """A client sending ``atproto-proxy: <service>`` (``did#service_id``), sharing
        this one's connection pool and auth. ``None`` removes the header."""
        return self._derive(proxy=None if service is None else check_proxy(service))

    def with_labelers(self, labelers: str | Iterable[str] | None) -> Self:
        """A client sending ``atproto-accept-labelers`` (``did`` or ``did;redact``
        items), sharing this one's connection pool and auth."""
        return self._derive(accept_labelers=_labelers_header(labelers))

    def with_headers(self, headers: Mapping[str, str]) -> Self:
        """A client sending these extra headers on every request."""
        return self._derive(headers={**self._options.headers, **headers})


class XrpcClient(_ClientBase):
    """Blocking XRPC client.

    ``auth`` adds credentials and may refresh them (see :mod:`.auth`); ``timeout`` is
    the default for every request; ``proxy`` sets ``atproto-proxy``;
    ``accept_labelers`` sets ``atproto-accept-labelers``; ``retry`` enables retries of
    queries (:class:`RetryPolicy`, off by default). Pass ``transport`` (e.g.
    ``httpx.MockTransport``) or a configured ``http_client`` for tests; redirects are
    not followed either way.
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: Auth | None = None,
        timeout: TimeoutLike = DEFAULT_TIMEOUT,
        headers: Mapping[str, str] | None = None,
        proxy: str | None = None,
        accept_labelers: str | Iterable[str] | None = None,
        max_response_size: int | None = DEFAULT_MAX_RESPONSE_SIZE,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._options = _options(
            base_url,
            timeout=timeout,
            headers=headers,
            proxy=proxy,
            accept_labelers=accept_labelers,
            max_response_size=max_response_size,
            retry=retry,
        )
        self._auth = auth
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            transport=transport, follow_redirects=False, timeout=self._options.timeout
        )

    @property
    def auth(self) -> Auth | None:
        """The auth hook, if any."""
        return self._auth

    def close(self) -> None:
        """Close the connection pool (when this client created it)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls used by generated code ---------------------------------------------------

    @overload
    def query(
        self,
        nsid: str,
        params: BaseModel | Mapping[str, Any] | None = ...,
        *,
        output: type[T],
        errors: ErrorClasses = ...,
        headers: Mapping[str, str] | None = ...,
        timeout: TimeoutLike | None = ...,
    ) -> T: ...
    @overload
    def query(
        self,
        nsid: str,
        params: BaseModel | Mapping[str, Any] | None = ...,
        *,
        output: None = ...,
        errors: ErrorClasses = ...,
        headers: Mapping[str, str] | None = ...,
        timeout: TimeoutLike | None = ...,
    ) -> None: ...
    def query(
        self,
        nsid: str,
        params: BaseModel | Mapping[str, Any] | None = None,
        *,
        output: Any = None,
        errors: ErrorClasses = (),
        headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike | None = None,
    ) -> Any:
        """Call a query (HTTP GET).

        ``output`` is the output model (validated from JSON), ``bytes`` for a raw
        body, or ``None`` when the method has no output. ``errors`` are the method's
        declared error classes.
        """
        prepared = self._prepare(
            nsid=nsid,
            method="GET",
            params=params,
            content=None,
            content_type=None,
            replayable=True,
            headers=headers,
            timeout=timeout,
        )
        reply = self._send(prepared)
        _raise_for_status(reply, errors)
        return _decode_output(nsid, reply, output)

    @overload
    def procedure(
        self,
        nsid: str,
        params: BaseModel | Mapping[str, Any] | None = ...,
        *,
        input: Any = ...,
        input_schema: Any = ...,
        input_encoding: str | None = ...,
        content_type: str | None = ...,
        output: type[T],
        errors: ErrorClasses = ...,
        headers: Mapping[str, str] | None = ...,
        timeout: TimeoutLike | None = ...,
    ) -> T: ...
    @overload
    def procedure(
        self,
        nsid: str,
        params: BaseModel | Mapping[str, Any] | None = ...,
        *,
        input: Any = ...,
        input_schema: Any = ...,
        input_encoding: str | None = ...,
        content_type: str | None = ...,
        output: None = ...,
        errors: ErrorClasses = ...,
        headers: Mapping[str, str] | None = ...,
        timeout: TimeoutLike | None = ...,
    ) -> None: ...
    def procedure(
        self,
        nsid: str,
        params: BaseModel | Mapping[str, Any] | None = None,
        *,
        input: Any = None,
        input_schema: Any = None,
        input_encoding: str | None = None,
        content_type: str | None = None,
        output: Any = None,
        errors: ErrorClasses = (),
        headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike | None = None,
    ) -> Any:
        """Call a procedure (HTTP POST).

        ``input_encoding`` is the Lexicon input encoding (``None``: the method has no
        input and no body is sent). ``input_schema`` is the input model for JSON bodies
        (a mapping is validated into it); for other encodings ``input`` is bytes or an
        iterable of chunks, and ``content_type`` picks the MIME type for wildcard
        encodings such as ``*/*``. ``output`` as in :meth:`query`.
        """
        content, ctype, replayable = _prepare_body(
            input,
            input_schema=input_schema,
            input_encoding=input_encoding,
            content_type=content_type,
        )
        prepared = self._prepare(
            nsid=nsid,
            method="POST",
            params=params,
            content=content,
            content_type=ctype,
            replayable=replayable,
            headers=headers,
            timeout=timeout,
        )
        reply = self._send(prepared)
        _raise_for_status(reply, errors)
        return _decode_output(nsid, reply, output)

    @contextmanager
    def query_stream(
        self,
        nsid: str,
        params: BaseModel | Mapping[str, Any] | None = None,
        *,
        errors: ErrorClasses = (),
        headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike | None = None,
        chunk_size: int | None = None,
    ) -> Iterator[StreamedResponse]:
        """Call a query with a binary output and stream the body (no size cap).

        ``with client.query_stream(get_repo.NSID, get_repo.Params(did=d)) as resp:
        for chunk in resp.chunks: ...``. Errors are raised on entry.
        """
        prepared = self._prepare(
            nsid=nsid,
            method="GET",
            params=params,
            content=None,
            content_type=None,
            replayable=True,
            headers=headers,
            timeout=timeout,
        )
        for attempt in (0, 1):
            with self._open(prepared) as response:
                if not 200 <= response.status_code < 300:
                    reply = self._read(response, nsid, _MAX_ERROR_BODY)
                    if attempt == 0 and self._should_refresh(reply, prepared):
                        self._refresh(reply, errors, prepared)
                        continue
                    _raise_for_status(reply, errors)
                yield StreamedResponse(
                    status=response.status_code,
                    headers=response.headers,
                    chunks=self._iter_chunks(response, nsid, chunk_size),
                )
                return

    def subscribe(
        self,
        nsid: str,
        params: BaseModel | Mapping[str, Any] | None = None,
        *,
        messages: Mapping[str, Any],
        errors: ErrorClasses = (),
        headers: Mapping[str, str] | None = None,
        max_size: int | None = None,
    ) -> Iterator[Any]:
        """Subscribe to an event stream: a blocking iterator of typed messages.

        See :func:`lexforge.runtime.xrpc.stream.subscribe_sync`.
        """
        # websockets loads here, not when the client is imported.
        from lexforge.runtime.xrpc.stream import (  # noqa: PLC0415
            DEFAULT_MAX_FRAME_SIZE,
            subscribe_sync,
        )

        request_headers = self._options.request_headers(headers)
        if self._auth is not None:
            request_headers.update(self._auth.auth_headers(nsid))
        return subscribe_sync(
            self._options.url(nsid),
            encode_params(params),
            messages=messages,
            errors=errors,
            headers=request_headers,
            open_timeout=self._options.timeout.connect or 10.0,
            max_size=max_size or DEFAULT_MAX_FRAME_SIZE,
        )

    # -- plumbing -------------------------------------------------------------------------

    def _open(self, prepared: _Prepared) -> Any:
        headers = dict(prepared.headers)
        if self._auth is not None:
            headers = {**headers, **self._auth.auth_headers(prepared.nsid)}
        request = self._http.build_request(
            prepared.method,
            prepared.target,
            headers=headers,
            content=prepared.content,
            timeout=prepared.timeout,
        )
        try:
            response = self._http.send(request, stream=True, follow_redirects=False)
        except httpx.TransportError as exc:
            raise _transport_error(exc, prepared.nsid) from exc
        return _closing(response)

    def _read(self, response: httpx.Response, nsid: str, limit: int | None) -> _Reply:
        body = bytearray()
        try:
            for chunk in response.iter_bytes():
                body += chunk
                if limit is not None and len(body) > limit:
                    if 200 <= response.status_code < 300:
                        raise ResponseTooLargeError(f"{nsid}: response body over {limit} bytes")
                    break
        except httpx.TransportError as exc:
            raise _transport_error(exc, nsid) from exc
        return _Reply(response.status_code, response.headers, bytes(body))

    def _iter_chunks(
        self, response: httpx.Response, nsid: str, chunk_size: int | None
    ) -> Iterator[bytes]:
        try:
            yield from response.iter_bytes(chunk_size)
        except httpx.TransportError as exc:
            raise _transport_error(exc, nsid) from exc

    def _send(self, prepared: _Prepared) -> _Reply:
        reply = self._send_retrying(prepared)
        if self._should_refresh(reply, prepared):
            self._refresh(reply, (), prepared)
            reply = self._send_retrying(prepared)
        return reply

    def _send_retrying(self, prepared: _Prepared) -> _Reply:
        policy = self._options.retry if prepared.method == "GET" else None
        attempt = 0
        while True:
            try:
                reply = self._send_once(prepared)
            except XrpcTransportError:
                if policy is None or attempt >= policy.attempts:
                    raise
                time.sleep(policy.delay(attempt))
            else:
                if policy is None or attempt >= policy.attempts:
                    return reply
                if not policy.retries_status(reply.status):
                    return reply
                time.sleep(policy.delay(attempt, reply.headers.get("retry-after")))
            attempt += 1

    def _send_once(self, prepared: _Prepared) -> _Reply:
        with self._open(prepared) as response:
            return self._read(
                response, prepared.nsid, _read_limit(response.status_code, self._options)
            )

    def _should_refresh(self, reply: _Reply, prepared: _Prepared) -> bool:
        return (
            self._auth is not None
            and not _REFRESHING.get()
            and prepared.replayable
            and _needs_refresh(reply)
        )

    def _refresh(self, reply: _Reply, errors: ErrorClasses, prepared: _Prepared) -> None:
        assert self._auth is not None
        error = error_from_payload(
            reply.status, parse_error_body(reply.body), declared=errors, headers=reply.headers
        )
        token = _REFRESHING.set(True)
        try:
            refreshed = self._auth.refresh(self, error)
        finally:
            _REFRESHING.reset(token)
        if not refreshed:
            raise error


class AsyncXrpcClient(_ClientBase):
    """Async XRPC client; same arguments and behaviour as :class:`XrpcClient`."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: AsyncAuth | None = None,
        timeout: TimeoutLike = DEFAULT_TIMEOUT,
        headers: Mapping[str, str] | None = None,
        proxy: str | None = None,
        accept_labelers: str | Iterable[str] | None = None,
        max_response_size: int | None = DEFAULT_MAX_RESPONSE_SIZE,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._options = _options(
            base_url,
            timeout=timeout,
            headers=headers,
            proxy=proxy,
            accept_labelers=accept_labelers,
            max_response_size=max_response_size,
            retry=retry,
        )
        self._auth = auth
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            transport=transport, follow_redirects=False, timeout=self._options.timeout
        )

    @property
    def auth(self) -> AsyncAuth | None:
        """The auth hook, if any."""
        return self._auth

    async def aclose(self) -> None:
        """Close the connection pool (when this client created it)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @overload
    async def query(
        self,
        nsid: str,
        params: BaseModel | Mapping[str, Any] | None = ...,
        *,
        output: type[T],
        errors: ErrorClasses = ...,
        headers: Mapping[str, str] | None = ...,
        timeout: TimeoutLike | None = ...,
    ) -> T: ...
    @overload
    async def query(
        self,
        nsid: str,
        params: BaseModel | Mapping[str, Any] | None = ...,
        *,
        output: None = ...,
        errors: ErrorClasses = ...,
        headers: Mapping[str, str] | None = ...,
        timeout: TimeoutLike | None = ...,
    ) -> None: ...
    async def query(
        self,
        nsid: str,
        params: BaseModel | Mapping[str, Any] | None = None,
        *,
        output: Any = None,
        errors: ErrorClasses = (),
        headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike | None = None,
    ) -> Any:
        """Call a query (HTTP GET); see :meth:`XrpcClient.query`."""
        prepared = self._prepare(
            nsid=nsid,
            method="GET",
            params=params,
            content=None,
            content_type=None,
            replayable=True,
            headers=headers,
            timeout=timeout,
        )
        reply = await self._send(prepared)
        _raise_for_status(reply, errors)
        return _decode_output(nsid, reply, output)

    @overload
    async def procedure(
        self,
        nsid: str,
        params: BaseModel | Mapping[str, Any] | None = ...,
        *,
        input: Any = ...,
        input_schema: Any = ...,
        input_encoding: str | None = ...,
        content_type: str | None = ...,
        output: type[T],
        errors: ErrorClasses = ...,
        headers: Mapping[str, str] | None = ...,
        timeout: TimeoutLike | None = ...,
    ) -> T: ...
    @overload
    async def procedure(
        self,
        nsid: str,
        params: BaseModel | Mapping[str, Any] | None = ...,
        *,
        input: Any = ...,
        input_schema: Any = ...,
        input_encoding: str | None = ...,
        content_type: str | None = ...,
        output: None = ...,
        errors: ErrorClasses = ...,
        headers: Mapping[str, str] | None = ...,
        timeout: TimeoutLike | None = ...,
    ) -> None: ...
    async def procedure(
        self,
        nsid: str,
        params: BaseModel | Mapping[str, Any] | None = None,
        *,
        input: Any = None,
        input_schema: Any = None,
        input_encoding: str | None = None,
        content_type: str | None = None,
        output: Any = None,
        errors: ErrorClasses = (),
        headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike | None = None,
    ) -> Any:
        """Call a procedure (HTTP POST); see :meth:`XrpcClient.procedure`. ``input`` may
        also be an async iterable of chunks."""
        content, ctype, replayable = _prepare_body(
            input,
            input_schema=input_schema,
            input_encoding=input_encoding,
            content_type=content_type,
        )
        prepared = self._prepare(
            nsid=nsid,
            method="POST",
            params=params,
            content=content,
            content_type=ctype,
            replayable=replayable,
            headers=headers,
            timeout=timeout,
        )
        reply = await self._send(prepared)
        _raise_for_status(reply, errors)
        return _decode_output(nsid, reply, output)

    @asynccontextmanager
    async def query_stream(
        self,
        nsid: str,
        params: BaseModel | Mapping[str, Any] | None = None,
        *,
        errors: ErrorClasses = (),
        headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike | None = None,
        chunk_size: int | None = None,
    ) -> AsyncIterator[StreamedResponse]:
        """Call a query with a binary output and stream the body; ``resp.chunks`` is an
        async iterator. See :meth:`XrpcClient.query_stream`."""
        prepared = self._prepare(
            nsid=nsid,
            method="GET",
            params=params,
            content=None,
            content_type=None,
            replayable=True,
            headers=headers,
            timeout=timeout,
        )
        for attempt in (0, 1):
            response = await self._open(prepared)
            try:
                if not 200 <= response.status_code < 300:
                    reply = await self._read(response, nsid, _MAX_ERROR_BODY)
                    if attempt == 0 and self._should_refresh(reply, prepared):
                        await self._refresh(reply, errors, prepared)
                        continue
                    _raise_for_status(reply, errors)
                yield StreamedResponse(
                    status=response.status_code,
                    headers=response.headers,
                    chunks=self._iter_chunks(response, nsid, chunk_size),
                )
                return
            finally:
                await response.aclose()

    async def subscribe(
        self,
        nsid: str,
        params: BaseModel | Mapping[str, Any] | None = None,
        *,
        messages: Mapping[str, Any],
        errors: ErrorClasses = (),
        headers: Mapping[str, str] | None = None,
        max_size: int | None = None,
    ) -> AsyncIterator[Any]:
        """Subscribe to an event stream: an async iterator of typed messages.

        ``messages`` maps frame types (``#commit``) to message models; frames of other
        types are skipped. An error frame raises the declared error class (or
        :class:`~.errors.XrpcStreamError`). To resume, pass the last ``seq`` seen as
        the ``cursor`` parameter. See :func:`lexforge.runtime.xrpc.stream.subscribe`.
        """
        # websockets loads here, not when the client is imported.
        from lexforge.runtime.xrpc.stream import DEFAULT_MAX_FRAME_SIZE  # noqa: PLC0415
        from lexforge.runtime.xrpc.stream import subscribe as subscribe_async  # noqa: PLC0415

        request_headers = self._options.request_headers(headers)
        if self._auth is not None:
            request_headers.update(await self._auth.auth_headers(nsid))
        async for message in subscribe_async(
            self._options.url(nsid),
            encode_params(params),
            messages=messages,
            errors=errors,
            headers=request_headers,
            open_timeout=self._options.timeout.connect or 10.0,
            max_size=max_size or DEFAULT_MAX_FRAME_SIZE,
        ):
            yield message

    # -- plumbing -------------------------------------------------------------------------

    async def _open(self, prepared: _Prepared) -> Any:
        headers = dict(prepared.headers)
        if self._auth is not None:
            headers = {**headers, **(await self._auth.auth_headers(prepared.nsid))}
        request = self._http.build_request(
            prepared.method,
            prepared.target,
            headers=headers,
            content=_async_content(prepared.content),
            timeout=prepared.timeout,
        )
        try:
            return await self._http.send(request, stream=True, follow_redirects=False)
        except httpx.TransportError as exc:
            raise _transport_error(exc, prepared.nsid) from exc

    async def _read(self, response: httpx.Response, nsid: str, limit: int | None) -> _Reply:
        body = bytearray()
        try:
            async for chunk in response.aiter_bytes():
                body += chunk
                if limit is not None and len(body) > limit:
                    if 200 <= response.status_code < 300:
                        raise ResponseTooLargeError(f"{nsid}: response body over {limit} bytes")
                    break
        except httpx.TransportError as exc:
            raise _transport_error(exc, nsid) from exc
        return _Reply(response.status_code, response.headers, bytes(body))

    async def _iter_chunks(
        self, response: httpx.Response, nsid: str, chunk_size: int | None
    ) -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_bytes(chunk_size):
                yield chunk
        except httpx.TransportError as exc:
            raise _transport_error(exc, nsid) from exc

    async def _send(self, prepared: _Prepared) -> _Reply:
        reply = await self._send_retrying(prepared)
        if self._should_refresh(reply, prepared):
            await self._refresh(reply, (), prepared)
            reply = await self._send_retrying(prepared)
        return reply

    async def _send_retrying(self, prepared: _Prepared) -> _Reply:
        policy = self._options.retry if prepared.method == "GET" else None
        attempt = 0
        while True:
            try:
                reply = await self._send_once(prepared)
            except XrpcTransportError:
                if policy is None or attempt >= policy.attempts:
                    raise
                await anyio.sleep(policy.delay(attempt))
            else:
                if policy is None or attempt >= policy.attempts:
                    return reply
                if not policy.retries_status(reply.status):
                    return reply
                await anyio.sleep(policy.delay(attempt, reply.headers.get("retry-after")))
            attempt += 1

    async def _send_once(self, prepared: _Prepared) -> _Reply:
        response = await self._open(prepared)
        try:
            limit = _read_limit(response.status_code, self._options)
            return await self._read(response, prepared.nsid, limit)
        finally:
            await response.aclose()

    def _should_refresh(self, reply: _Reply, prepared: _Prepared) -> bool:
        return (
            self._auth is not None
            and not _REFRESHING.get()
            and prepared.replayable
            and _needs_refresh(reply)
        )

    async def _refresh(self, reply: _Reply, errors: ErrorClasses, prepared: _Prepared) -> None:
        assert self._auth is not None
        error = error_from_payload(
            reply.status, parse_error_body(reply.body), declared=errors, headers=reply.headers
        )
        token = _REFRESHING.set(True)
        try:
            refreshed = await self._auth.refresh(self, error)
        finally:
            _REFRESHING.reset(token)
        if not refreshed:
            raise error


def _async_content(content: Any) -> Any:
    """httpx's async client refuses sync iterables of chunks: wrap them."""
    if content is None or isinstance(content, bytes | AsyncIterable):
        return content
    if isinstance(content, Iterable):
        return _aiter(content)
    return content


async def _aiter(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


@contextmanager
def _closing(response: httpx.Response) -> Iterator[httpx.Response]:
    try:
        yield response
    finally:
        response.close()

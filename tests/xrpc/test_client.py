"""The XRPC clients: request shape, response decoding, errors, auth refresh, options."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from lexforge.runtime.xrpc import (
    AsyncXrpcClient,
    BearerAuth,
    Session,
    SessionAuth,
    XrpcBadRequest,
    XrpcClient,
    XrpcError,
    XrpcForbidden,
    XrpcInternalServerError,
    XrpcNotFound,
    XrpcNotImplemented,
    XrpcRateLimited,
    XrpcUnauthorized,
)
from lexforge.runtime.xrpc.errors import (
    InvalidResponseError,
    ResponseTooLargeError,
    XrpcTimeoutError,
    XrpcTransportError,
)
from tests.xrpc import models
from tests.xrpc.conftest import make_app

Handler = Callable[[httpx.Request], httpx.Response]


def client_for(handler: Handler, **kwargs: object) -> XrpcClient:
    return XrpcClient("https://pds.example/", transport=httpx.MockTransport(handler), **kwargs)  # type: ignore[arg-type]


def ok(payload: object = None) -> httpx.Response:
    if payload is None:
        return httpx.Response(200)
    return httpx.Response(200, json=payload)


ECHO_OUT = {"name": "a", "count": 1, "includeAll": False}


def test_query_encodes_params_per_spec() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok(ECHO_OUT)

    client = client_for(handler)
    params = models.EchoParams(name="a b", tags=["x", "y"], nums=[1, 2], flag=True)
    out = client.query("com.example.echo", params, output=models.EchoOutput)
    assert isinstance(out, models.EchoOutput)
    assert out.include_all is False
    request = seen[0]
    assert request.method == "GET"
    assert request.url.path == "/xrpc/com.example.echo"
    assert request.url.params.multi_items() == [
        ("name", "a b"),
        ("count", "1"),  # defaults are sent explicitly
        ("flag", "true"),
        ("tags", "x"),
        ("tags", "y"),
        ("nums", "1"),
        ("nums", "2"),
        ("includeAll", "false"),  # wire name
    ]
    assert request.content == b""
    assert "content-type" not in request.headers
    assert request.headers["user-agent"].startswith("lexforge/")


def test_procedure_without_input_sends_no_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok()

    assert client_for(handler).procedure("com.example.ping") is None
    request = seen[0]
    assert request.method == "POST"
    assert request.content == b""
    assert "content-type" not in request.headers
    assert request.headers.get("content-length", "0") == "0"
    with pytest.raises(TypeError):
        client_for(handler).procedure("com.example.ping", input={})


def test_procedure_json_input_is_validated_and_typed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok({"uri": "at://x", "cid": "c"})

    client = client_for(handler)
    out = client.procedure(
        "com.example.create",
        input={"text": "hi", "createdAt": "2024"},
        input_schema=models.CreateInput,
        input_encoding="application/json",
        output=models.CreateOutput,
    )
    assert out == models.CreateOutput(uri="at://x", cid="c")
    assert seen[0].headers["content-type"] == "application/json"
    assert json.loads(seen[0].content) == {"text": "hi", "createdAt": "2024"}
    with pytest.raises(ValueError, match="text"):
        client.procedure(
            "com.example.create",
            input={"createdAt": "2024"},
            input_schema=models.CreateInput,
            input_encoding="application/json",
            output=models.CreateOutput,
        )


def test_binary_input_content_types() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        request.read()
        return ok()

    client = client_for(handler)
    client.procedure("com.example.upload", input=b"abc", input_encoding="*/*")
    assert seen[-1].headers["content-type"] == "application/octet-stream"
    client.procedure("x.y.z", input=b"abc", input_encoding="*/*", content_type="image/png")
    assert seen[-1].headers["content-type"] == "image/png"
    client.procedure("x.y.z", input=iter([b"a", b"b"]), input_encoding="application/vnd.ipld.car")
    assert seen[-1].headers["content-type"] == "application/vnd.ipld.car"
    assert seen[-1].content == b"ab"
    with pytest.raises(ValueError, match="does not match"):
        client.procedure("x.y.z", input=b"", input_encoding="video/mp4", content_type="image/png")


def test_raw_output_is_bytes() -> None:
    client = client_for(lambda r: httpx.Response(200, content=b"\x01\x02"))
    assert client.query("com.example.download", output=bytes) == b"\x01\x02"


@pytest.mark.parametrize(
    ("status", "body", "cls", "error"),
    [
        (400, {"error": "ThingNotFound", "message": "m"}, models.NotFoundError, "ThingNotFound"),
        (400, {"error": "InvalidRequest", "message": "m"}, XrpcBadRequest, "InvalidRequest"),
        (400, {"error": "ExpiredToken"}, XrpcBadRequest, "ExpiredToken"),
        (401, {"error": "AuthMissing"}, XrpcUnauthorized, "AuthMissing"),
        (403, {"error": "Forbidden"}, XrpcForbidden, "Forbidden"),
        (404, "<html>not found</html>", XrpcNotFound, "XRPCNotSupported"),
        (418, {"message": "teapot"}, XrpcBadRequest, "InvalidRequest"),
        (429, {"error": "RateLimitExceeded"}, XrpcRateLimited, "RateLimitExceeded"),
        (500, b"\xff\xfe garbage", XrpcInternalServerError, "InternalServerError"),
        (501, {"error": "MethodNotImplemented"}, XrpcNotImplemented, "MethodNotImplemented"),
        (599, {"error": "Weird Name With Spaces"}, XrpcInternalServerError, "InternalServerError"),
        (302, None, XrpcNotFound, "XRPCNotSupported"),
    ],
)
def test_error_mapping(status: int, body: object, cls: type[XrpcError], error: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"retry-after": "7", "location": "https://elsewhere.example/"}
        if isinstance(body, dict):
            return httpx.Response(status, json=body, headers=headers)
        if isinstance(body, str):
            return httpx.Response(status, text=body, headers=headers)
        return httpx.Response(status, content=body or b"", headers=headers)

    with pytest.raises(cls) as info:
        client_for(handler).query(
            "com.example.echo",
            {"name": "a"},
            output=models.EchoOutput,
            errors=[models.NotFoundError],
        )
    exc = info.value
    assert type(exc) is cls
    assert exc.status == status
    assert exc.error == error
    assert exc.headers["retry-after"] == "7"
    if isinstance(exc, XrpcRateLimited):
        assert exc.retry_after == 7


def test_declared_error_keeps_message() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "ThingNotFound", "message": "gone"})

    with pytest.raises(models.NotFoundError) as info:
        client_for(handler).query("com.example.echo", errors=(models.NotFoundError,))
    assert info.value.message == "gone"
    assert str(info.value) == "400 ThingNotFound: gone"


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="not json", headers={"content-type": "application/json"}),
        httpx.Response(200, text='{"name": 1}', headers={"content-type": "application/json"}),
        httpx.Response(200, content=b"{}", headers={"content-type": "text/html"}),
        httpx.Response(200, content=b'{"a":NaN}', headers={"content-type": "application/json"}),
    ],
)
def test_invalid_success_responses(response: httpx.Response) -> None:
    client = client_for(lambda r: response)
    with pytest.raises(InvalidResponseError):
        client.query("com.example.echo", output=models.EchoOutput)


def test_response_size_cap() -> None:
    client = client_for(lambda r: httpx.Response(200, content=b"x" * 2000), max_response_size=1000)
    with pytest.raises(ResponseTooLargeError):
        client.query("com.example.download", output=bytes)


def test_timeouts_are_always_set() -> None:
    seen: list[dict[str, float | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return ok()

    client = client_for(handler, timeout=12)
    client.procedure("com.example.ping")
    client.procedure("com.example.ping", timeout=None)  # None = client default, not "off"
    client.procedure("com.example.ping", timeout=httpx.Timeout(3.0))
    assert [t["read"] for t in seen] == [12.0, 12.0, 3.0]
    assert all(v is not None for t in seen for v in t.values())
    with pytest.raises(ValueError, match="timeout"):
        client.procedure("com.example.ping", timeout=httpx.Timeout(None))
    with pytest.raises(ValueError, match="timeout"):
        client_for(handler, timeout=httpx.Timeout(5.0, read=None))
    with pytest.raises(ValueError, match="timeout"):
        client_for(handler, timeout=0)


def test_transport_errors_are_wrapped() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(XrpcTransportError):
        client_for(refuse).procedure("com.example.ping")
    with pytest.raises(XrpcTimeoutError):
        client_for(slow).procedure("com.example.ping")


def test_proxy_labelers_and_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok()

    client = client_for(handler, accept_labelers=["did:plc:a;redact", "did:web:b.example"])
    proxied = client.with_proxy("did:web:api.bsky.app#bsky_appview")
    proxied.procedure("com.example.ping", headers={"x-extra": "1"})
    client.procedure("com.example.ping")
    assert seen[0].headers["atproto-proxy"] == "did:web:api.bsky.app#bsky_appview"
    assert seen[0].headers["atproto-accept-labelers"] == "did:plc:a;redact, did:web:b.example"
    assert seen[0].headers["x-extra"] == "1"
    assert "atproto-proxy" not in seen[1].headers
    for bad in ("did:web:x", "did:web:x#a#b", "nodid#x", "did:web:x# y", "did:web:x#"):
        with pytest.raises(ValueError, match="atproto-proxy"):
            client.with_proxy(bad)


def test_redirects_are_not_followed() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(301, headers={"location": "https://evil.example/xrpc/x"})

    with pytest.raises(XrpcNotFound):
        client_for(handler).procedure("com.example.ping")
    assert len(calls) == 1


class RecordingAuth:
    def __init__(self, result: bool) -> None:
        self.token = "old"
        self.refreshes = 0
        self.result = result

    def auth_headers(self, nsid: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    def refresh(self, client: XrpcClient, error: XrpcError) -> bool:
        self.refreshes += 1
        self.token = "new"
        return self.result


@pytest.mark.parametrize(
    ("status", "error", "refreshes"),
    [(401, "AuthMissing", 1), (400, "ExpiredToken", 1), (400, "InvalidToken", 0), (403, "X", 0)],
)
def test_auth_refresh_then_single_retry(status: int, error: str, refreshes: int) -> None:
    tokens: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        tokens.append(request.headers["authorization"])
        if request.headers["authorization"] == "Bearer old":
            return httpx.Response(status, json={"error": error})
        return ok()

    auth = RecordingAuth(result=True)
    client = client_for(handler, auth=auth)
    if refreshes:
        client.procedure("com.example.ping")
        assert tokens == ["Bearer old", "Bearer new"]
    else:
        with pytest.raises(XrpcError):
            client.procedure("com.example.ping")
        assert tokens == ["Bearer old"]
    assert auth.refreshes == refreshes


def test_auth_refresh_never_loops() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(401, json={"error": "AuthMissing"})

    auth = RecordingAuth(result=True)
    with pytest.raises(XrpcUnauthorized):
        client_for(handler, auth=auth).procedure("com.example.ping")
    assert calls == 2
    assert auth.refreshes == 1
    declined = RecordingAuth(result=False)
    with pytest.raises(XrpcUnauthorized):
        client_for(handler, auth=declined).procedure("com.example.ping")
    assert declined.refreshes == 1


def test_streamed_upload_is_not_replayed() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        request.read()
        return httpx.Response(401, json={"error": "AuthMissing"})

    auth = RecordingAuth(result=True)
    with pytest.raises(XrpcUnauthorized):
        client_for(handler, auth=auth).procedure(
            "com.example.upload", input=iter([b"a"]), input_encoding="*/*"
        )
    assert (calls, auth.refreshes) == (1, 0)


def _session_server(valid: dict[str, str]) -> Handler:
    """A fake PDS: createSession/refreshSession rotate tokens; others need the access JWT."""
    counter = iter(range(1, 100))

    def handler(request: httpx.Request) -> httpx.Response:
        nsid = request.url.path.removeprefix("/xrpc/")
        auth = request.headers.get("authorization", "")
        if nsid == "com.atproto.server.createSession":
            assert json.loads(request.content)["password"] == "pw"
        elif nsid == "com.atproto.server.refreshSession":
            assert request.content == b""
            if auth != f"Bearer {valid['refresh']}":
                return httpx.Response(400, json={"error": "ExpiredToken"})
        elif auth != f"Bearer {valid['access']}":
            return httpx.Response(400, json={"error": "ExpiredToken"})
        else:
            return ok()
        n = next(counter)
        valid.update(access=f"a{n}", refresh=f"r{n}")
        return ok(
            {"accessJwt": f"a{n}", "refreshJwt": f"r{n}", "did": "did:plc:x", "handle": "h.test"}
        )

    return handler


def test_session_auth_login_and_refresh() -> None:
    valid: dict[str, str] = {}
    updates: list[Session] = []
    auth = SessionAuth(on_update=updates.append)
    client = client_for(_session_server(valid), auth=auth)
    session = auth.login(client, "h.test", "pw")
    assert session.access_jwt == "a1"
    client.procedure("com.example.ping")
    valid["access"] = "expired-out-from-under-us"
    client.procedure("com.example.ping")
    assert auth.session is not None
    assert auth.session.access_jwt == "a2"
    assert [s.refresh_jwt for s in updates] == ["r1", "r2"]
    valid["access"] = valid["refresh"] = "both-gone"
    with pytest.raises(XrpcBadRequest):
        client.procedure("com.example.ping")


def test_bearer_auth() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(401, json={"error": "AuthMissing"})

    with pytest.raises(XrpcUnauthorized):
        client_for(handler, auth=BearerAuth("t")).procedure("com.example.ping")
    assert seen == ["Bearer t"]


def test_query_stream() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("name") == "missing":
            return httpx.Response(400, json={"error": "ThingNotFound"})
        return httpx.Response(
            200, content=b"abc" * 1000, headers={"content-type": "application/vnd.ipld.car"}
        )

    client = client_for(handler)
    with client.query_stream("com.example.download", {"name": "x"}, chunk_size=100) as resp:
        assert resp.content_type == "application/vnd.ipld.car"
        chunks: Iterator[bytes] = resp.chunks
        assert b"".join(chunks) == b"abc" * 1000
    with (
        pytest.raises(models.NotFoundError),
        client.query_stream(
            "com.example.download", {"name": "missing"}, errors=[models.NotFoundError]
        ),
    ):
        pass  # pragma: no cover


def test_bad_base_url() -> None:
    with pytest.raises(ValueError, match="base_url"):
        XrpcClient("pds.example")


@pytest.mark.anyio
async def test_async_client_against_the_asgi_app() -> None:
    app = make_app()
    transport = httpx.ASGITransport(app=app)
    async with AsyncXrpcClient("http://test", transport=transport, auth=_AsyncBearer()) as client:
        out = await client.query(
            "com.example.echo",
            models.EchoParams(name="n", tags=["a", "b"]),
            output=models.EchoOutput,
        )
        assert out.tags == ["a", "b"]
        with pytest.raises(models.NotFoundError):
            await client.query(
                "com.example.echo",
                {"name": "missing"},
                output=models.EchoOutput,
                errors=[models.NotFoundError],
            )
        with pytest.raises(XrpcBadRequest) as info:
            await client.query("com.example.echo", {"count": "7"}, output=models.EchoOutput)
        assert info.value.error == "InvalidRequest"
        created = await client.procedure(
            "com.example.create",
            input=models.CreateInput(text="t", createdAt="now"),
            input_schema=models.CreateInput,
            input_encoding="application/json",
            output=models.CreateOutput,
        )
        assert created.cid == "secret-token"
        assert await client.procedure("com.example.ping") is None
        uploaded = await client.procedure(
            "com.example.upload",
            input=_achunks(),
            input_encoding="*/*",
            content_type="video/mp4",
            output=models.CreateOutput,
        )
        assert uploaded == models.CreateOutput(uri="len:6", cid="video/mp4")
        assert (
            await client.query("com.example.download", {"name": "z", "count": 2}, output=bytes)
            == b"zz"
        )
        async with client.query_stream("com.example.download", {"name": "q"}) as resp:
            assert b"".join([c async for c in resp.chunks]) == b"q"
        with pytest.raises(XrpcNotImplemented):
            await client.query("com.example.unknownThing")


async def _achunks() -> AsyncIterator[bytes]:
    yield b"abc"
    yield b"def"


class _AsyncBearer:
    async def auth_headers(self, nsid: str) -> dict[str, str]:
        return {"authorization": "Bearer secret-token"}

    async def refresh(self, client: AsyncXrpcClient, error: XrpcError) -> bool:
        return False


def test_retries_queries_on_429_and_5xx_but_not_501_or_procedures() -> None:
    from lexforge.runtime.xrpc import RetryPolicy

    statuses: list[int] = []

    def flaky(codes: list[int]) -> Handler:
        def handler(request: httpx.Request) -> httpx.Response:
            code = codes.pop(0) if codes else 200
            statuses.append(code)
            if code == 200:
                return ok(ECHO_OUT)
            return httpx.Response(code, json={"error": "X"}, headers={"retry-after": "0"})

        return handler

    policy = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.01)
    client = client_for(flaky([429, 503, 500]), retry=policy)
    assert client.query("com.example.echo", output=models.EchoOutput).name == "a"
    assert statuses == [429, 503, 500, 200]

    statuses.clear()
    with pytest.raises(XrpcNotImplemented):
        client_for(flaky([501]), retry=policy).query("com.example.echo", output=models.EchoOutput)
    assert statuses == [501]

    statuses.clear()
    with pytest.raises(XrpcInternalServerError):
        client_for(flaky([500] * 10), retry=policy).query("com.example.echo")
    assert statuses == [500] * 4  # first try + 3 retries

    statuses.clear()
    with pytest.raises(XrpcInternalServerError):
        client_for(flaky([500, 500]), retry=policy).procedure("com.example.ping")
    assert statuses == [500]  # procedures are never repeated

    calls = 0

    def refuse_then_ok(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("refused", request=request)
        return ok(ECHO_OUT)

    client_for(refuse_then_ok, retry=policy).query("com.example.echo", output=models.EchoOutput)
    assert calls == 2
    assert 0.5 <= RetryPolicy(base_delay=1.0).delay(0) <= 1.0
    assert RetryPolicy(max_delay=5.0).delay(0, "120") == 5.0
    assert RetryPolicy(max_delay=5.0).delay(0, "2") == 2.0
    # An HTTP date: past means no wait; far future is capped; garbage means backoff.
    assert RetryPolicy().delay(3, "Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert RetryPolicy(max_delay=5.0).delay(0, "Fri, 01 Jan 9999 00:00:00 GMT") == 5.0
    assert 0.5 <= RetryPolicy(base_delay=1.0).delay(0, "soon") <= 1.0
    with pytest.raises(ValueError, match="retry"):
        RetryPolicy(attempts=-1)

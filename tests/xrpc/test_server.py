"""Server endpoints (spec/xrpc.md §1-4) through httpx's ASGITransport."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.xrpc.conftest import make_app

pytestmark = pytest.mark.anyio

JSON_HEADERS = {"content-type": "application/json", "authorization": "Bearer tok"}
GOOD_INPUT = b'{"text":"hi","createdAt":"2024-01-01T00:00:00Z"}'


async def test_query_ok_with_params_and_response_headers(http: httpx.AsyncClient) -> None:
    r = await http.get(
        "/xrpc/com.example.echo",
        params=[
            ("name", "a"),
            ("tags", "x"),
            ("tags", "y"),
            ("nums", "1"),
            ("nums", "-2"),
            ("flag", "false"),
            ("includeAll", "true"),
            ("unknown", "ignored"),
        ],
    )
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.headers["atproto-repo-rev"] == "3kabc"
    assert r.json() == {
        "name": "a",
        "count": 1,
        "flag": False,
        "tags": ["x", "y"],
        "nums": [1, -2],
        "includeAll": True,
    }


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("", "name"),  # required missing
        ("name=a&count=abc", "'count' must be an integer"),
        ("name=a&count=1.5", "'count' must be an integer"),
        ("name=a&count=0", "count"),  # minimum
        ("name=a&count=101", "count"),  # maximum
        ("name=a&flag=yes", "'flag' must be 'true' or 'false'"),
        ("name=a&flag=True", "'flag' must be 'true' or 'false'"),
        ("name=a&name=b", "must not be repeated"),
        ("name=" + "x" * 21, "name"),
        ("name=a&nums=1&nums=x", "'nums' must be an integer"),
        ("name=a&__proto__=1", "__proto__"),
        ("name=a&count=99999999999999999999999", "'count' must be an integer"),
    ],
)
async def test_bad_params_are_400(http: httpx.AsyncClient, query: str, fragment: str) -> None:
    r = await http.get(f"/xrpc/com.example.echo?{query}")
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "InvalidRequest"
    assert fragment in body["message"]


async def test_wrong_http_method_is_400(http: httpx.AsyncClient) -> None:
    r = await http.post("/xrpc/com.example.echo?name=a")
    assert r.status_code == 400
    assert r.json() == {
        "error": "InvalidRequest",
        "message": "Incorrect HTTP method (POST) expected GET",
    }
    r = await http.get("/xrpc/com.example.ping")
    assert r.status_code == 400
    assert "expected POST" in r.json()["message"]


async def test_unknown_and_unhandled_methods_are_501(http: httpx.AsyncClient) -> None:
    for method in ("GET", "POST"):
        r = await http.request(method, "/xrpc/com.example.nothingHere")
        assert r.status_code == 501
        assert r.json()["error"] == "MethodNotImplemented"


async def test_non_nsid_path_is_400(http: httpx.AsyncClient) -> None:
    for path in ("/xrpc/not-an-nsid", "/xrpc/com.example.x/extra", "/xrpc/_health"):
        r = await http.get(path)
        assert r.status_code == 400, path
        assert r.json()["error"] == "InvalidRequest"


async def test_declared_error_is_400_with_its_name(http: httpx.AsyncClient) -> None:
    r = await http.get("/xrpc/com.example.echo?name=missing")
    assert r.status_code == 400
    assert r.json() == {"error": "ThingNotFound", "message": "no such thing"}


async def test_internal_error_does_not_leak(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    r = await http.get("/xrpc/com.example.echo?name=boom")
    assert r.status_code == 500
    assert r.json() == {"error": "InternalServerError", "message": "Internal Server Error"}
    assert "secret" not in r.text
    assert any("secret internal detail" in str(rec.exc_info) for rec in caplog.records)


async def test_invalid_output_is_500(http: httpx.AsyncClient) -> None:
    r = await http.get("/xrpc/com.example.echo?name=badout")
    assert r.status_code == 500
    assert r.json()["error"] == "InternalServerError"


async def test_procedure_json_input(http: httpx.AsyncClient) -> None:
    r = await http.post("/xrpc/com.example.create", content=GOOD_INPUT, headers=JSON_HEADERS)
    assert r.status_code == 200, r.text
    assert r.json() == {"uri": "at://x/hi", "cid": "tok"}
    # parameters on the MIME type are ignored for matching
    headers = {**JSON_HEADERS, "content-type": "Application/JSON; charset=utf-8"}
    r = await http.post("/xrpc/com.example.create", content=GOOD_INPUT, headers=headers)
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("body", "headers", "fragment"),
    [
        (GOOD_INPUT, {"authorization": "Bearer t"}, "Content-Type"),
        (GOOD_INPUT, {"content-type": "text/plain", "authorization": "Bearer t"}, "encoding"),
        (b"", JSON_HEADERS, "body is expected"),
        (b"{", JSON_HEADERS, "Invalid JSON"),
        (b"[]", JSON_HEADERS, "Invalid JSON"),
        (b'{"text":"a","text":"b","createdAt":"x"}', JSON_HEADERS, "Invalid JSON"),
        (b'{"text":NaN,"createdAt":"x"}', JSON_HEADERS, "Invalid JSON"),
        (b'{"text":"a"}', JSON_HEADERS, "createdAt"),
        (b'{"text":5,"createdAt":"x"}', JSON_HEADERS, "text"),
        (b'{"text":"a","createdAt":"x","n":9007199254740993}', JSON_HEADERS, "Invalid JSON"),
        (b'{"text":"\\ud800","createdAt":"x"}', JSON_HEADERS, "Invalid JSON"),
        (b"[" * 100_000, JSON_HEADERS, "Invalid JSON"),
    ],
)
async def test_bad_input_is_400(
    http: httpx.AsyncClient, body: bytes, headers: dict[str, str], fragment: str
) -> None:
    r = await http.post("/xrpc/com.example.create", content=body, headers=headers)
    assert r.status_code in (400, 413), r.text
    if r.status_code == 400:
        assert r.json()["error"] == "InvalidRequest"
        assert fragment in r.json()["message"]


async def test_auth_hook_results_and_refusals(http: httpx.AsyncClient) -> None:
    r = await http.post(
        "/xrpc/com.example.create",
        content=GOOD_INPUT,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 401
    assert r.json()["error"] == "AuthMissing"
    r = await http.post(
        "/xrpc/com.example.create",
        content=GOOD_INPUT,
        headers={**JSON_HEADERS, "authorization": "Bearer forbidden"},
    )
    assert r.status_code == 403
    assert r.json()["error"] == "Forbidden"


async def test_procedure_without_input_refuses_a_body(http: httpx.AsyncClient) -> None:
    assert (await http.post("/xrpc/com.example.ping")).status_code == 200
    r = await http.post("/xrpc/com.example.ping", headers={"content-length": "0"})
    assert r.status_code == 200
    assert r.content == b""
    r = await http.post("/xrpc/com.example.ping", json={})
    assert r.status_code == 400
    assert "not allowed" in r.json()["message"]


async def test_body_cap_413_with_and_without_content_length(http: httpx.AsyncClient) -> None:
    big = b'{"text":"' + b"a" * 3000 + b'","createdAt":"x"}'
    r = await http.post("/xrpc/com.example.create", content=big, headers=JSON_HEADERS)
    assert r.status_code == 413
    assert r.json()["error"] == "PayloadTooLarge"
    assert r.headers["connection"] == "close"

    async def chunks() -> AsyncIterator[bytes]:  # chunked: no Content-Length
        for _ in range(10):
            yield b"a" * 1000

    r = await http.post("/xrpc/com.example.upload", content=chunks(), headers=JSON_HEADERS)
    assert r.status_code == 413


async def test_lying_content_length_is_capped(app: object) -> None:
    # A transport that sends more than Content-Length claims: the counter still stops it.
    from starlette.types import Message

    sent: list[Message] = []
    big = b"x" * 10_000
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/xrpc/com.example.upload",
        "raw_path": b"/xrpc/com.example.upload",
        "query_string": b"",
        "headers": [(b"content-type", b"application/octet-stream"), (b"content-length", b"10")],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("test", 80),
        "client": ("c", 1),
        "root_path": "",
    }
    chunks = [
        {"type": "http.request", "body": big[i : i + 1000], "more_body": True}
        for i in range(0, len(big), 1000)
    ]
    chunks.append({"type": "http.request", "body": b"", "more_body": False})

    async def receive() -> Message:
        return chunks.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)  # type: ignore[operator]
    assert sent[0]["status"] == 413


async def test_gzip_body_is_decoded_and_capped(http: httpx.AsyncClient) -> None:
    headers = {**JSON_HEADERS, "content-encoding": "gzip"}
    r = await http.post(
        "/xrpc/com.example.create", content=gzip.compress(GOOD_INPUT), headers=headers
    )
    assert r.status_code == 200, r.text
    deflated = zlib.compress(GOOD_INPUT)
    headers["content-encoding"] = "deflate"
    r = await http.post("/xrpc/com.example.create", content=deflated, headers=headers)
    assert r.status_code == 200
    # a gzip bomb: 10 MB of zeros compresses to ~10 KB; stopped at the 4 KiB binary cap
    bomb = gzip.compress(b"\0" * 10_000_000)
    headers = {"content-type": "image/png", "content-encoding": "gzip"}
    r = await http.post("/xrpc/com.example.upload", content=bomb, headers=headers)
    assert r.status_code == 413
    r = await http.post("/xrpc/com.example.upload", content=b"not gzip", headers=headers)
    assert r.status_code == 400
    r = await http.post(
        "/xrpc/com.example.upload", content=gzip.compress(b"abc")[:-6], headers=headers
    )
    assert r.status_code == 400
    headers["content-encoding"] = "br"
    r = await http.post("/xrpc/com.example.upload", content=b"abc", headers=headers)
    assert r.status_code == 415
    assert r.json()["error"] == "UnsupportedMediaType"


async def test_binary_input_and_outputs(http: httpx.AsyncClient) -> None:
    r = await http.post(
        "/xrpc/com.example.upload", content=b"\x89PNG....", headers={"content-type": "image/png"}
    )
    assert r.status_code == 200
    assert r.json() == {"uri": "len:8", "cid": "image/png"}
    r = await http.get("/xrpc/com.example.download?name=ab&count=3")
    assert r.status_code == 200
    assert r.content == b"ababab"
    assert r.headers["content-type"] == "application/vnd.ipld.car"
    r = await http.get("/xrpc/com.example.download?name=typed")
    assert r.headers["content-type"] == "image/png"


async def test_subscription_over_plain_http(http: httpx.AsyncClient) -> None:
    r = await http.get("/xrpc/com.example.subscribe")
    assert r.status_code == 426
    assert r.json()["error"] == "InvalidRequest"
    r = await http.post("/xrpc/com.example.subscribe")
    assert r.status_code == 405
    assert r.json()["error"] == "InvalidRequest"


async def test_output_validation_can_be_disabled() -> None:
    app = make_app(validate_output=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.get("/xrpc/com.example.echo?name=a")
        assert r.status_code == 200


async def test_client_disconnect_mid_body_is_not_an_internal_error(
    app: object, caplog: pytest.LogCaptureFixture
) -> None:
    from starlette.types import Message

    sent: list[Message] = []
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/xrpc/com.example.upload",
        "raw_path": b"/xrpc/com.example.upload",
        "query_string": b"",
        "headers": [(b"content-type", b"image/png"), (b"content-length", b"100")],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("test", 80),
        "client": ("c", 1),
        "root_path": "",
    }
    incoming: list[Message] = [
        {"type": "http.request", "body": b"x" * 10, "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)  # type: ignore[operator]
    assert sent[0]["status"] == 400
    assert not [r for r in caplog.records if r.levelname == "ERROR"]

"""Generated clients against generated server bindings, in process.

The ``basic`` case is compiled into a throwaway package; the async client talks to the
app through httpx's ASGITransport, the blocking client through Starlette's TestClient
(an ``httpx.Client``). Handlers are a plain NSID -> function mapping here; the
end-to-end test uses scaffolded handler modules and a real server. The generated
client's auth hook, timeouts and proxy header are checked against mock transports,
its subscriptions against a hand-written event stream on a real uvicorn.
"""

from __future__ import annotations

import base64
import importlib
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

import anyio
import httpx
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from lexforge.runtime.data import encode
from lexforge.runtime.xrpc import (
    AuthRequest,
    Limits,
    XrpcBadRequest,
    XrpcContext,
    XrpcError,
    XrpcNotImplemented,
    XrpcUnauthorized,
)
from lexforge.runtime.xrpc.frames import encode_error_frame, encode_message_frame
from tests.codegen.xrpc_support import SyncASGITransport, emitted_package
from tests.xrpc.live import serve

PACKAGE = "xrpc_behaviour_gen"


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    with emitted_package("basic", PACKAGE, tmp_path_factory.mktemp("gen")):
        for name in ("client", "server", "models.com.example.get_thing"):
            importlib.import_module(f"{PACKAGE}.{name}")
        importlib.import_module(f"{PACKAGE}.models.com.example.create_thing")
        yield importlib.import_module(PACKAGE)


def handlers(gen: ModuleType) -> dict[str, Any]:
    get_thing = importlib.import_module(f"{PACKAGE}.models.com.example.get_thing")
    create_thing = importlib.import_module(f"{PACKAGE}.models.com.example.create_thing")
    upload_thing = importlib.import_module(f"{PACKAGE}.models.com.example.upload_thing")
    defs = importlib.import_module(f"{PACKAGE}.models.com.example.defs")

    async def h_get_thing(ctx: XrpcContext, params: Any) -> Any:
        if params.name == "missing":
            raise get_thing.ThingNotFoundError("nothing called missing")
        values = {
            "name": params.name,
            "actor": params.actor,
            "limit": params.limit,
            "includeHidden": params.include_hidden,
            "tags": params.tags,
            "sizes": params.sizes,
            "sort": ctx.headers.get("atproto-proxy") or params.sort,
            "mode": params.mode,
        }
        return defs.Thing.model_validate({k: v for k, v in values.items() if v is not None})

    async def h_create_thing(ctx: XrpcContext, input: Any) -> Any:
        if input.name == "taken":
            raise create_thing.ThingExistsError("already there")
        assert input.data == b"\x00\x01"
        return create_thing.Output(
            uri=f"at://did:plc:abc/com.example.thing/{input.name}", cid=ctx.auth
        )

    async def h_ping(ctx: XrpcContext) -> None:
        return None

    async def h_upload(ctx: XrpcContext, input: bytes) -> Any:
        return upload_thing.Output(size=len(input), mime_type=ctx.input_encoding or "")

    async def h_export(ctx: XrpcContext, params: Any) -> bytes:
        return f"CAR for {params.did}".encode()

    async def h_subscribe(ctx: XrpcContext, params: Any) -> AsyncIterator[Any]:
        yield None  # pragma: no cover - subscriptions run over uvicorn in the e2e test

    return {
        "com.example.getThing": h_get_thing,
        "com.example.createThing": h_create_thing,
        "com.example.ping": h_ping,
        "com.example.uploadThing": h_upload,
        "com.example.exportThings": h_export,
        "com.example.subscribeThings": h_subscribe,
    }


CID = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"


async def auth(request: AuthRequest) -> str | None:
    if request.nsid == "com.example.createThing":
        if request.headers.get("authorization") != "Bearer good":
            raise XrpcUnauthorized("Authentication Required")
        return CID
    return None


def test_sync_client(gen: ModuleType) -> None:
    app = gen.server.create_app(handlers=handlers(gen), auth=auth)
    client = gen.client.Client(
        "http://testserver",
        transport=SyncASGITransport(app),
        headers={"authorization": "Bearer good"},
    )
    thing = client.com.example.get_thing(
        name="a", actor="Alice.Example.COM", tags=["x", "y"], sizes=[1, 2], mode="fast"
    )
    assert thing.name == "a"
    assert thing.actor == "Alice.Example.COM"  # validated, kept exactly as sent
    assert (thing.limit, thing.include_hidden) == (50, False)  # defaults were sent
    assert (thing.tags, thing.sizes, thing.mode) == (["x", "y"], [1, 2], "fast")

    get_thing = gen.models.com.example.get_thing
    with pytest.raises(get_thing.ThingNotFoundError) as info:
        client.com.example.get_thing(name="missing")
    assert (info.value.status, info.value.error) == (400, "ThingNotFound")
    assert info.value.message == "nothing called missing"

    # client-side validation catches a bad value before any request
    with pytest.raises(ValidationError):
        client.com.example.get_thing(name="a", limit=0)
    # the server's validation, reached with the raw API, is a typed 400
    with pytest.raises(XrpcBadRequest) as bad:
        client.query(get_thing.NSID, {"name": "a", "limit": "0"}, output=get_thing.Output)
    assert bad.value.error == "InvalidRequest"

    created = client.com.example.create_thing(
        {"name": "n1", "createdAt": "2024-01-01T00:00:00Z", "data": b"\x00\x01"}
    )
    assert created.uri == "at://did:plc:abc/com.example.thing/n1"
    assert created.cid == CID
    with pytest.raises(gen.models.com.example.create_thing.ThingExistsError):
        client.com.example.create_thing(
            {"name": "taken", "createdAt": "2024-01-01T00:00:00Z", "data": b"\x00\x01"}
        )

    assert client.com.example.ping() is None
    uploaded = client.com.example.upload_thing(iter([b"ab", b"cd"]), content_type="image/png")
    assert (uploaded.size, uploaded.mime_type) == (4, "image/png")
    assert client.com.example.export_things(did="did:plc:abc") == b"CAR for did:plc:abc"
    export_things = gen.models.com.example.export_things
    with client.query_stream(export_things.NSID, {"did": "did:plc:abc"}, chunk_size=4) as resp:
        assert resp.content_type == "application/vnd.ipld.car"
        assert b"".join(resp.chunks) == b"CAR for did:plc:abc"
    with pytest.raises(XrpcNotImplemented):
        client.com.example.admin.reset_things({"confirm": True})

    proxied = client.with_proxy("did:web:api.example.com#svc")
    assert proxied.com.example.get_thing(name="p").sort == "did:web:api.example.com#svc"


@pytest.mark.anyio
async def test_async_client(gen: ModuleType) -> None:
    app = gen.server.create_app(handlers=handlers(gen), auth=auth)
    transport = httpx.ASGITransport(app=app)
    async with gen.client.AsyncClient("http://test", transport=transport) as client:
        thing = await client.com.example.get_thing(name="b", include_hidden=True, limit=3)
        assert (thing.name, thing.limit, thing.include_hidden) == ("b", 3, True)
        with pytest.raises(XrpcUnauthorized):
            await client.com.example.create_thing(
                {"name": "n", "createdAt": "2024-01-01T00:00:00Z"}
            )
        create_thing = gen.models.com.example.create_thing
        authed = client.with_headers({"authorization": "Bearer good"})
        out = await authed.com.example.create_thing(
            create_thing.Input(name="n2", created_at="2024-01-01T00:00:00Z", data=b"\x00\x01")
        )
        assert out.cid == CID

        async def chunks() -> AsyncIterator[bytes]:
            yield b"xyz"

        uploaded = await client.com.example.upload_thing(chunks())
        assert (uploaded.size, uploaded.mime_type) == (3, "application/octet-stream")
        assert await client.com.example.ping() is None
        with pytest.raises(XrpcNotImplemented):
            await client.com.example.admin.reset_things({})


def test_bytes_travel_as_dollar_bytes(gen: ModuleType) -> None:
    seen: list[bytes] = []

    def transport(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(200, json={"uri": "at://did:plc:a/c.d.e/f", "cid": CID})

    client = gen.client.Client("http://x.test", transport=httpx.MockTransport(transport))
    client.com.example.create_thing(
        {"name": "n", "createdAt": "2024-01-01T00:00:00Z", "data": b"\x00\x01"}
    )
    encoded = base64.b64encode(b"\x00\x01").decode().rstrip("=")
    assert f'"data":{{"$bytes":"{encoded}"}}'.encode() in seen[0]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- the generated server bindings, over raw HTTP --------------------------------------


async def _raw(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        return await http.request(method, path, **kwargs)


def _error(response: httpx.Response) -> tuple[int, str]:
    assert response.headers["content-type"].startswith("application/json")
    return response.status_code, response.json()["error"]


@pytest.mark.anyio
async def test_generated_server_routing_params_bodies_and_errors(gen: ModuleType) -> None:
    """What a client that is not ours may send to the generated bindings: every answer
    is the XRPC error JSON with the status of spec/xrpc.md."""
    app = gen.server.create_app(
        handlers=handlers(gen), auth=auth, limits=Limits(json=200, binary=8)
    )
    get = "/xrpc/com.example.getThing"

    # parameters: repeated keys for arrays, booleans, integers, defaults, unknown keys
    ok = await _raw(
        app,
        "GET",
        get + "?name=a&tags=x&tags=y&sizes=1&sizes=2&includeHidden=true&other=1",
    )
    assert ok.status_code == 200
    assert ok.headers["content-type"] == "application/json; charset=utf-8"
    assert ok.json() == {
        "name": "a",
        "limit": 50,
        "includeHidden": True,
        "tags": ["x", "y"],
        "sizes": [1, 2],
    }
    for query in (
        "",  # name is required
        "?name=a&name=b",  # not an array
        "?name=a&limit=x",
        "?name=a&limit=1.5",
        "?name=a&limit=0",  # minimum 1
        "?name=a&includeHidden=yes",
        "?name=a&sizes=one",
        "?name=" + "n" * 21,  # maxLength 20
        "?name=a&actor=not%20an%20identifier",
        "?name=a&mode=medium",  # enum
    ):
        assert _error(await _raw(app, "GET", get + query)) == (400, "InvalidRequest"), query

    # routing: the wrong HTTP method, unknown and unhandled methods, non-NSID paths
    wrong = await _raw(app, "POST", get + "?name=a")
    assert _error(wrong) == (400, "InvalidRequest")
    assert "Incorrect HTTP method (POST) expected GET" in wrong.json()["message"]
    assert _error(await _raw(app, "GET", "/xrpc/com.example.createThing")) == (
        400,
        "InvalidRequest",
    )
    assert _error(await _raw(app, "POST", "/xrpc/com.example.admin.resetThings")) == (
        501,
        "MethodNotImplemented",
    )
    assert _error(await _raw(app, "GET", "/xrpc/com.example.nothingHere")) == (
        501,
        "MethodNotImplemented",
    )
    assert _error(await _raw(app, "GET", "/xrpc/not-an-nsid")) == (400, "InvalidRequest")

    # bodies: auth first, then content type, presence, size and the input schema
    create = "/xrpc/com.example.createThing"
    good = {"authorization": "Bearer good"}
    body = {"name": "n", "createdAt": "2024-01-01T00:00:00Z"}
    assert _error(await _raw(app, "POST", create, json=body)) == (401, "AuthenticationRequired")
    assert _error(
        await _raw(
            app, "POST", create, content=b"{}", headers={**good, "content-type": "text/plain"}
        )
    ) == (400, "InvalidRequest")
    assert _error(await _raw(app, "POST", create, headers=good)) == (400, "InvalidRequest")
    big = {**body, "name": "x" * 300}
    assert _error(await _raw(app, "POST", create, json=big, headers=good)) == (
        413,
        "PayloadTooLarge",
    )
    for bad in ({"name": "n"}, {**body, "createdAt": "yesterday"}, {**body, "data": 1}):
        response = await _raw(app, "POST", create, json=bad, headers=good)
        assert _error(response) == (400, "InvalidRequest"), bad
    taken = await _raw(app, "POST", create, json={**body, "name": "taken"}, headers=good)
    assert _error(taken) == (400, "ThingExists")
    assert taken.json()["message"] == "already there"
    assert _error(
        await _raw(
            app,
            "POST",
            "/xrpc/com.example.uploadThing",
            content=b"123456789",
            headers={"content-type": "image/png"},
        )
    ) == (413, "PayloadTooLarge")

    # a procedure without input refuses a body and answers an empty 200
    ping = "/xrpc/com.example.ping"
    assert _error(await _raw(app, "POST", ping, json={})) == (400, "InvalidRequest")
    empty = await _raw(app, "POST", ping)
    assert (empty.status_code, empty.content) == (200, b"")

    # subscriptions need a WebSocket upgrade
    stream = "/xrpc/com.example.subscribeThings"
    # (no generic error name exists for these: unknown 4xx read as InvalidRequest)
    assert _error(await _raw(app, "GET", stream)) == (426, "InvalidRequest")
    assert _error(await _raw(app, "POST", stream))[0] == 405


@pytest.mark.anyio
async def test_generated_server_validates_handler_output(gen: ModuleType) -> None:
    async def bad_output(ctx: XrpcContext, params: Any) -> Any:
        return {"name": params.name}  # limit and includeHidden are required

    app = gen.server.create_app(handlers={"com.example.getThing": bad_output})
    response = await _raw(app, "GET", "/xrpc/com.example.getThing?name=a")
    assert _error(response) == (500, "InternalServerError")
    assert "includeHidden" not in response.text  # no details leak


# --- the generated client's transport behaviour: auth hook, timeouts, proxy --------------


def _thing(name: str) -> dict[str, object]:
    return {"name": name, "limit": 50, "includeHidden": False}


class _RefreshingAuth:
    """An auth hook whose token is stale until ``refresh`` runs once."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.refreshed: list[tuple[int, str]] = []

    def auth_headers(self, nsid: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    def refresh(self, client: object, error: XrpcError) -> bool:
        self.refreshed.append((error.status, error.error))
        self.token = "fresh"
        return True


def _auth_server(seen: list[str | None]) -> httpx.MockTransport:
    """401 for ``stale401``, 400 ExpiredToken for ``stale400``, 400 InvalidRequest for
    ``bad``, the thing for ``fresh``."""

    def handle(request: httpx.Request) -> httpx.Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        seen.append(token)
        if token == "stale401":
            return httpx.Response(401, json={"error": "AuthMissing"})
        if token == "stale400":
            return httpx.Response(400, json={"error": "ExpiredToken", "message": "expired"})
        if token == "bad":
            return httpx.Response(400, json={"error": "InvalidRequest"})
        return httpx.Response(200, json=_thing(request.url.params["name"]))

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    ("token", "status", "error"),
    [("stale401", 401, "AuthMissing"), ("stale400", 400, "ExpiredToken")],
)
def test_auth_hook_refreshes_on_401_and_expired_token(
    gen: ModuleType, token: str, status: int, error: str
) -> None:
    seen: list[str | None] = []
    auth = _RefreshingAuth(token)
    client = gen.client.Client("http://x.test", auth=auth, transport=_auth_server(seen))
    assert client.com.example.get_thing(name="a").name == "a"
    assert auth.refreshed == [(status, error)]
    assert seen == [token, "fresh"]  # one retry, with the refreshed credentials


def test_other_errors_do_not_refresh(gen: ModuleType) -> None:
    seen: list[str | None] = []
    auth = _RefreshingAuth("bad")
    client = gen.client.Client("http://x.test", auth=auth, transport=_auth_server(seen))
    with pytest.raises(XrpcBadRequest):
        client.com.example.get_thing(name="a")
    assert auth.refreshed == []
    assert seen == ["bad"]


def test_a_refresh_that_fails_raises_the_original_error(gen: ModuleType) -> None:
    class Refuses(_RefreshingAuth):
        def refresh(self, client: object, error: XrpcError) -> bool:
            self.refreshed.append((error.status, error.error))
            return False

    seen: list[str | None] = []
    auth = Refuses("stale401")
    client = gen.client.Client("http://x.test", auth=auth, transport=_auth_server(seen))
    with pytest.raises(XrpcUnauthorized) as info:
        client.com.example.get_thing(name="a")
    assert info.value.error == "AuthMissing"
    assert seen == ["stale401"]


@pytest.mark.anyio
async def test_async_auth_hook_refreshes_on_expired_token(gen: ModuleType) -> None:
    class AsyncRefreshing:
        token = "stale400"
        refreshed = 0

        async def auth_headers(self, nsid: str) -> dict[str, str]:
            return {"authorization": f"Bearer {self.token}"}

        async def refresh(self, client: object, error: XrpcError) -> bool:
            self.refreshed += 1
            self.token = "fresh"
            return True

    seen: list[str | None] = []
    sync_transport = _auth_server(seen)

    async def handle(request: httpx.Request) -> httpx.Response:
        return sync_transport.handle_request(request)

    auth = AsyncRefreshing()
    transport = httpx.MockTransport(handle)
    async with gen.client.AsyncClient("http://x.test", auth=auth, transport=transport) as client:
        assert (await client.com.example.get_thing(name="b")).name == "b"
    assert auth.refreshed == 1
    assert seen == ["stale400", "fresh"]


def test_timeouts_are_always_set(gen: ModuleType) -> None:
    timeouts: list[dict[str, float | None]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"])
        return httpx.Response(200, json=_thing("a"))

    client = gen.client.Client("http://x.test", transport=httpx.MockTransport(handle))
    client.com.example.get_thing(name="a")
    client.com.example.get_thing(name="a", timeout=2.5)
    client.com.example.get_thing(name="a", timeout=None)  # None: the client's default
    default, explicit, again = timeouts
    assert all(value is not None and value > 0 for value in default.values())
    assert set(explicit.values()) == {2.5}
    assert again == default
    for disabled in (None, 0, -1, httpx.Timeout(None)):
        with pytest.raises(ValueError, match="timeout"):
            gen.client.Client("http://x.test", timeout=disabled)
    with pytest.raises(ValueError, match="timeout"):
        client.com.example.get_thing(name="a", timeout=0)


def test_service_proxy_header(gen: ModuleType) -> None:
    headers: list[str | None] = []

    def handle(request: httpx.Request) -> httpx.Response:
        headers.append(request.headers.get("atproto-proxy"))
        return httpx.Response(200, json=_thing("a"))

    transport = httpx.MockTransport(handle)
    service = "did:web:api.example.com#bsky_appview"
    gen.client.Client("http://x.test", transport=transport).com.example.get_thing(name="a")
    gen.client.Client("http://x.test", proxy=service, transport=transport).com.example.get_thing(
        name="a"
    )
    assert headers == [None, service]
    for bad in ("did:web:api.example.com", "api.example.com#svc", "did:web:a#b c"):
        with pytest.raises(ValueError, match="atproto-proxy"):
            gen.client.Client("http://x.test", proxy=bad)


# --- the generated client's subscriptions over a real WebSocket --------------------------


def _stream_app(cursors: list[str | None]) -> Starlette:
    """A hand-written event stream (not a generated binding): known messages, frames of
    types and ops the client does not know, then a declared error frame."""

    async def stream(websocket: WebSocket) -> None:
        cursors.append(websocket.query_params.get("cursor"))
        await websocket.accept()
        await websocket.send_bytes(encode_message_frame("#created", {"seq": 1, "name": "a"}))
        await websocket.send_bytes(encode_message_frame("#renamed", {"seq": 2, "to": "b"}))
        await websocket.send_bytes(encode({"op": 2, "t": "#created"}) + encode({"seq": 3}))
        await websocket.send_bytes(encode_message_frame("#info", {"name": "OutdatedCursor"}))
        await websocket.send_bytes(encode_error_frame("FutureCursor", "too far"))
        await websocket.close(code=1008)

    return Starlette(routes=[WebSocketRoute("/xrpc/com.example.subscribeThings", stream)])


def test_subscription_typed_messages_unknown_types_skipped_error_frames_raise(
    gen: ModuleType,
) -> None:
    subscribe_things = gen.models.com.example.subscribe_things
    cursors: list[str | None] = []
    got: list[object] = []
    async_got: list[object] = []

    def consume(url: str) -> None:
        for message in gen.client.Client(url).com.example.subscribe_things(cursor=7):
            got.append(message)

    async def consume_async(url: str) -> None:
        async with gen.client.AsyncClient(url) as client:
            async for message in client.com.example.subscribe_things():
                async_got.append(message)

    with serve(_stream_app(cursors)) as url:
        with pytest.raises(subscribe_things.FutureCursorError) as info:
            consume(url)
        assert (info.value.error, info.value.message) == ("FutureCursor", "too far")
        with pytest.raises(subscribe_things.FutureCursorError):
            anyio.run(consume_async, url)
    assert got == [
        subscribe_things.Created(seq=1, name="a"),
        subscribe_things.Info(name="OutdatedCursor"),
    ]
    assert async_got == got
    assert cursors == ["7", None]

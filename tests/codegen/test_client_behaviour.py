"""Generated clients against generated server bindings, in process.

The ``basic`` case is compiled into a throwaway package; the async client talks to the
app through httpx's ASGITransport, the blocking client through Starlette's TestClient
(an ``httpx.Client``). Handlers are a plain NSID -> function mapping here; the
end-to-end test uses scaffolded handler modules and a real server.
"""

from __future__ import annotations

import base64
import importlib
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from lexforge.runtime.xrpc import (
    AuthRequest,
    XrpcBadRequest,
    XrpcContext,
    XrpcNotImplemented,
    XrpcUnauthorized,
)
from tests.codegen.xrpc_support import SyncASGITransport, emitted_package

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
    assert thing.actor == "alice.example.com"  # normalised by the runtime type
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

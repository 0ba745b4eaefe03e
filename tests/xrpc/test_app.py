"""Assembling servers: handler packages, setup errors, mounting, auth dispatch, outputs."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from lexforge.runtime.xrpc import (
    AuthRequest,
    Procedure,
    Query,
    XrpcContext,
    XrpcSetupError,
    auth_by_method,
    create_xrpc_app,
    load_handlers,
    xrpc_routes,
)
from lexforge.runtime.xrpc.app import load_binding
from tests.xrpc import models
from tests.xrpc.conftest import HANDLERS

pytestmark = pytest.mark.anyio


@pytest.fixture
def handler_package(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "xrpc_test_handlers"
    (root / "com" / "example").mkdir(parents=True)
    for init in (root, root / "com", root / "com" / "example"):
        (init / "__init__.py").write_text("")
    (root / "helpers.py").write_text("VALUE = 41\n")
    (root / "com" / "example" / "ping.py").write_text(
        textwrap.dedent(
            """
            from xrpc_test_handlers.helpers import VALUE

            NSID = "com.example.ping"

            async def handle(ctx):
                ctx.response_headers["x-value"] = str(VALUE + 1)
            """
        )
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield "xrpc_test_handlers"
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("xrpc_test_handlers")]:
            del sys.modules[name]


async def test_handlers_from_a_package(handler_package: str) -> None:
    handlers = load_handlers(handler_package)
    assert set(handlers) == {"com.example.ping"}
    app = create_xrpc_app(models.BINDINGS, handler_package)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.post("/xrpc/com.example.ping")
        assert (r.status_code, r.headers["x-value"]) == (200, "42")
        assert (await c.get("/xrpc/com.example.echo?name=a")).status_code == 501


def test_setup_errors(handler_package: str, tmp_path: Path) -> None:
    with pytest.raises(XrpcSetupError, match="unknown method"):
        xrpc_routes({}, {"com.example.ping": HANDLERS["com.example.ping"]})
    with pytest.raises(XrpcSetupError, match="not callable"):
        load_handlers({"com.example.ping": "nope"})  # type: ignore[dict-item]
    with pytest.raises(XrpcSetupError, match="is for"):
        xrpc_routes(
            {"com.example.ping": models.ECHO}, {"com.example.ping": HANDLERS["com.example.ping"]}
        )
    duplicate = tmp_path / "xrpc_test_handlers" / "com" / "example" / "ping2.py"
    duplicate.write_text('NSID = "com.example.ping"\nasync def handle(ctx): ...\n')
    with pytest.raises(XrpcSetupError, match="two handlers"):
        load_handlers(handler_package)
    duplicate.unlink()
    (duplicate.parent / "other.py").write_text('NSID = "com.example.other"\n')
    with pytest.raises(XrpcSetupError, match="no handle"):
        load_handlers(handler_package)
    with pytest.raises(XrpcSetupError, match="BINDING"):
        load_binding("tests.xrpc.models")
    with pytest.raises(XrpcSetupError, match="not an NSID"):
        Query(nsid="not an nsid")


async def test_routes_mount_into_an_existing_app() -> None:
    async def home(request: object) -> PlainTextResponse:
        return PlainTextResponse("home")

    app = Starlette(
        routes=[
            Route("/", home),
            Mount("", routes=xrpc_routes(models.BINDINGS, HANDLERS)),
        ]
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/")).text == "home"
        assert (await c.get("/xrpc/com.example.echo?name=z")).json()["name"] == "z"
        assert (await c.get("/xrpc/com.example.nope")).status_code == 501


async def test_auth_by_method() -> None:
    async def admin(request: AuthRequest) -> str:
        return "admin:" + request.nsid

    async def anyone(request: AuthRequest) -> str:
        return "anyone"

    hook = auth_by_method({"com.example.ping": admin}, default=anyone)
    seen: list[object] = []

    async def ping(ctx: XrpcContext) -> None:
        seen.append(ctx.auth)

    async def download(ctx: XrpcContext, params: models.EchoParams) -> bytes:
        seen.append(ctx.auth)
        return b""

    app = create_xrpc_app(
        models.BINDINGS, {"com.example.ping": ping, "com.example.download": download}, auth=hook
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        await c.post("/xrpc/com.example.ping")
        await c.get("/xrpc/com.example.download?name=x")
    assert seen == ["admin:com.example.ping", "anyone"]
    assert await auth_by_method({})(AuthRequest("a.b.c", None)) is None  # type: ignore[arg-type]


async def test_handler_output_bugs_are_500s() -> None:
    async def returns_value(ctx: XrpcContext) -> object:
        return {"unexpected": True}

    async def wrong_raw(ctx: XrpcContext, params: object) -> object:
        return {"not": "bytes"}

    async def no_output(ctx: XrpcContext, input: object) -> None:
        return None

    async def streamed(ctx: XrpcContext) -> AsyncIterator[bytes]:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"ab"
            yield b"cd"

        return chunks()

    bindings = {
        **models.BINDINGS,
        "com.example.stream": Query(nsid="com.example.stream", output_encoding="*/*"),
    }
    app = create_xrpc_app(
        bindings,
        {
            "com.example.ping": returns_value,
            "com.example.download": wrong_raw,
            "com.example.create": no_output,
            "com.example.stream": streamed,
        },
        auth=None,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.post("/xrpc/com.example.ping")).status_code == 500
        assert (await c.get("/xrpc/com.example.download?name=x")).status_code == 500
        r = await c.post(
            "/xrpc/com.example.create",
            content=b'{"text":"a","createdAt":"b"}',
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 500
        r = await c.get("/xrpc/com.example.stream")
        assert (r.status_code, r.content) == (200, b"abcd")
        assert r.headers["content-type"] == "application/octet-stream"


def test_binding_checks() -> None:
    with pytest.raises(XrpcSetupError, match="encoding"):
        Query(nsid="com.example.a", output=dict)
    with pytest.raises(XrpcSetupError, match="encoding"):
        Procedure(nsid="com.example.a", input=dict)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"

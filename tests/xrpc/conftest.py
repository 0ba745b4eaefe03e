"""Fixtures for the XRPC runtime tests: an app over the stand-in models."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from lexforge.runtime.xrpc import (
    AuthRequest,
    Limits,
    XrpcContext,
    XrpcForbidden,
    XrpcUnauthorized,
    create_xrpc_app,
)
from tests.xrpc import models

__all__ = ["gzip_bytes"]


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data)


async def echo(ctx: XrpcContext, params: models.EchoParams) -> models.EchoOutput:
    if params.name == "missing":
        raise models.NotFoundError("no such thing")
    if params.name == "boom":
        raise RuntimeError("secret internal detail")
    if params.name == "badout":
        return models.EchoOutput.model_construct(name="x")  # missing required fields
    ctx.response_headers["atproto-repo-rev"] = "3kabc"
    return models.EchoOutput(
        name=params.name,
        count=params.count,
        flag=params.flag,
        tags=params.tags,
        nums=params.nums,
        includeAll=params.include_all,
    )


async def create(ctx: XrpcContext, input: models.CreateInput) -> models.CreateOutput:
    return models.CreateOutput(uri=f"at://x/{input.text}", cid=str(ctx.auth))


async def ping(ctx: XrpcContext) -> None:
    return None


async def upload(ctx: XrpcContext, input: bytes) -> dict[str, Any]:
    return {"uri": f"len:{len(input)}", "cid": ctx.input_encoding or ""}


async def download(ctx: XrpcContext, params: models.EchoParams) -> bytes:
    if params.name == "typed":
        ctx.response_headers["content-type"] = "image/png"
    return params.name.encode() * params.count


async def subscribe(ctx: XrpcContext, params: models.SubParams) -> AsyncIterator[object]:
    cursor = params.cursor or 0
    if cursor > 100:
        raise models.FutureCursorError("cursor in the future")
    yield models.Info(name="OutdatedCursor")
    for seq in range(cursor + 1, cursor + 4):
        yield models.Commit(seq=seq, repo="did:plc:abc")
    if cursor == 50:
        raise RuntimeError("secret")


HANDLERS = {
    "com.example.echo": echo,
    "com.example.create": create,
    "com.example.ping": ping,
    "com.example.upload": upload,
    "com.example.download": download,
    "com.example.subscribe": subscribe,
}


async def auth_hook(request: AuthRequest) -> str | None:
    header = request.headers.get("authorization")
    if request.nsid == "com.example.create":
        if header is None:
            raise XrpcUnauthorized("Authentication Required", error="AuthMissing")
        if header == "Bearer forbidden":
            raise XrpcForbidden("nope")
        return header.removeprefix("Bearer ")
    return None


def make_app(**kwargs: Any) -> Starlette:
    kwargs.setdefault("auth", auth_hook)
    kwargs.setdefault("limits", Limits(json=2048, binary=4096))
    return create_xrpc_app(models.BINDINGS, HANDLERS, **kwargs)


@pytest.fixture
def app() -> Starlette:
    return make_app()


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"

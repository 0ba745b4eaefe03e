"""The XRPC client's subscriptions on a refused handshake: one typed error, no retry.

Reconnecting is the caller's job (the firehose consumer does it, see
tests/sync/test_handshake.py); the client hands over everything needed to decide:
the status class, the XRPC error name and message from the JSON body, the headers
(``Retry-After``). A real uvicorn on 127.0.0.1 refuses each handshake as scripted.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lexforge.runtime.xrpc import (
    AsyncXrpcClient,
    XrpcBadRequest,
    XrpcClient,
    XrpcError,
    XrpcForbidden,
    XrpcInternalServerError,
    XrpcNotEnoughResources,
    XrpcNotImplemented,
    XrpcRateLimited,
    XrpcUnauthorized,
    XrpcUpstreamFailure,
    XrpcUpstreamTimeout,
)
from tests.xrpc import models
from tests.xrpc.refusing import Refusal, RefusingServer, refusing_server, xrpc_body

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

NSID = "com.example.subscribe"
MESSAGES = {"#commit": models.Commit}


@pytest.fixture(scope="module")
def module_server() -> Iterator[RefusingServer]:
    with refusing_server() as server:
        yield server


@pytest.fixture
def server(module_server: RefusingServer) -> RefusingServer:
    module_server.reset([])
    return module_server


CASES = [
    (501, "MethodNotImplemented", XrpcNotImplemented),
    (400, "InvalidRequest", XrpcBadRequest),
    (401, "AuthMissing", XrpcUnauthorized),
    (403, "Forbidden", XrpcForbidden),
    (429, "RateLimitExceeded", XrpcRateLimited),
    (500, "InternalServerError", XrpcInternalServerError),
    (502, "UpstreamFailure", XrpcUpstreamFailure),
    (503, "NotEnoughResources", XrpcNotEnoughResources),
    (504, "UpstreamTimeout", XrpcUpstreamTimeout),
]


@pytest.mark.parametrize(("status", "error", "cls"), CASES)
async def test_async_client_raises_the_status_class_once(
    server: RefusingServer, status: int, error: str, cls: type[XrpcError]
) -> None:
    server.reset([Refusal(status, xrpc_body(error, "why"))] * 3)
    async with AsyncXrpcClient(server.base_url) as client:
        with pytest.raises(cls) as info:
            async for _ in client.subscribe(NSID, messages=MESSAGES):
                pass  # pragma: no cover
    assert (info.value.status, info.value.error, info.value.message) == (status, error, "why")
    assert len(server.attempts) == 1


@pytest.mark.parametrize(("status", "error", "cls"), CASES[:5])
def test_sync_client_raises_the_status_class_once(
    server: RefusingServer, status: int, error: str, cls: type[XrpcError]
) -> None:
    server.reset([Refusal(status, xrpc_body(error))] * 3)
    with XrpcClient(server.base_url) as client, pytest.raises(cls) as info:
        list(client.subscribe(NSID, messages=MESSAGES))
    assert (info.value.status, info.value.error) == (status, error)
    assert len(server.attempts) == 1


async def test_rate_limit_carries_retry_after(server: RefusingServer) -> None:
    server.reset([Refusal(429, xrpc_body("RateLimitExceeded"), headers={"Retry-After": "7"})])
    async with AsyncXrpcClient(server.base_url) as client:
        with pytest.raises(XrpcRateLimited) as info:
            async for _ in client.subscribe(NSID, messages=MESSAGES):
                pass  # pragma: no cover
    assert info.value.retry_after == 7


async def test_html_error_page_gets_the_generic_name(server: RefusingServer) -> None:
    server.reset([Refusal(502, b"<html>Bad Gateway</html>", content_type="text/html")])
    async with AsyncXrpcClient(server.base_url) as client:
        with pytest.raises(XrpcUpstreamFailure) as info:
            async for _ in client.subscribe(NSID, messages=MESSAGES):
                pass  # pragma: no cover
    assert (info.value.error, info.value.message) == ("UpstreamFailure", None)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"

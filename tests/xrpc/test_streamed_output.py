"""Raw (non-JSON) outputs streamed by handlers, served by a real uvicorn on 127.0.0.1.

A raw-output handler may return ``bytes`` (sent with ``Content-Length``) or an async or
sync iterable of chunks (sent chunked, read incrementally). Failures before the first
chunk are ordinary XRPC errors; after it the connection is aborted so a client never
takes a short body for a whole one. The handler's iterator is closed however it ends.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from typing import Any, get_type_hints

import pytest
from pydantic import BaseModel
from starlette.applications import Starlette

from lexforge.runtime.xrpc import (
    Query,
    RawOutput,
    XrpcClient,
    XrpcContext,
    XrpcInternalServerError,
    XrpcNotFound,
    XrpcTransportError,
    create_xrpc_app,
)
from tests.xrpc.live import serve

CAR = "com.example.getCar"
ANY = "com.example.getAny"


class Params(BaseModel):
    mode: str
    count: int = 1
    size: int = 1


class State:
    """What handlers report back to the tests (they run in uvicorn's thread)."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.closed = threading.Event()
        self.reset()

    def reset(self) -> None:
        self.gate.clear()
        self.closed.clear()


STATE = State()


def chunk(i: int, size: int) -> bytes:
    return bytes([i % 251]) * size


async def agen(count: int, size: int) -> AsyncIterator[bytes]:
    for i in range(count):
        yield chunk(i, size)
        if i % 16 == 0:
            await asyncio.sleep(0)


def sgen(count: int, size: int) -> Iterator[bytes]:
    for i in range(count):
        yield chunk(i, size)


async def gated() -> AsyncIterator[bytes]:
    yield b"first"
    deadline = time.monotonic() + 5
    while not STATE.gate.is_set():
        if time.monotonic() > deadline:
            raise RuntimeError("the client never saw the first chunk")
        await asyncio.sleep(0.005)
    yield b"second"


async def failing(count: int) -> AsyncIterator[bytes]:
    try:
        for i in range(count):
            yield chunk(i, 1024)
        raise RuntimeError("disk went away")
    finally:
        STATE.closed.set()


async def endless_async() -> AsyncIterator[bytes]:
    try:
        while True:
            yield b"z" * 65536
            await asyncio.sleep(0)
    finally:
        STATE.closed.set()


def endless_sync() -> Iterator[bytes]:
    try:
        while True:
            yield b"s" * 65536
    finally:
        STATE.closed.set()


async def early_failure() -> AsyncIterator[bytes]:
    raise XrpcNotFound("no such repo", error="RepoNotFound")
    yield b""  # pragma: no cover - makes this an async generator


async def handle(ctx: XrpcContext, params: Params) -> RawOutput:
    mode, count, size = params.mode, params.count, params.size
    results: dict[str, Any] = {
        "bytes": lambda: chunk(0, size),
        "bytearray": lambda: bytearray(chunk(0, size)),
        "async": lambda: agen(count, size),
        "sync": lambda: sgen(count, size),
        "list": lambda: [chunk(i, size) for i in range(count)],
        "empty": lambda: agen(0, size),
        "gated": gated,
        "fail": lambda: failing(count),
        "endless": endless_async,
        "endless_sync": endless_sync,
        "early": early_failure,
        "str": lambda: "not bytes",
        "int": lambda: 42,
        "dict": lambda: {"a": b"b"},
        "str_chunks": lambda: iter(["text"]),
        "none": lambda: None,
    }
    return results[mode]()  # type: ignore[no-any-return]


async def typed_stream(ctx: XrpcContext, params: Params) -> AsyncIterator[bytes]:
    """An async-generator handler setting its content type before the first chunk."""
    if params.mode == "typed":
        ctx.response_headers["content-type"] = "image/png"
    ctx.response_headers["x-extra"] = "yes"
    for i in range(params.count):
        yield chunk(i, params.size)


BINDINGS = {
    CAR: Query(nsid=CAR, params=Params, output_encoding="application/vnd.ipld.car"),
    ANY: Query(nsid=ANY, params=Params, output_encoding="*/*"),
}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    app: Starlette = create_xrpc_app(BINDINGS, {CAR: handle, ANY: typed_stream})
    with serve(app) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[XrpcClient]:
    STATE.reset()
    with XrpcClient(base_url, timeout=10) as c:
        yield c


def expected(count: int, size: int) -> bytes:
    return b"".join(chunk(i, size) for i in range(count))


def test_bytes_keep_content_length(client: XrpcClient) -> None:
    for mode in ("bytes", "bytearray"):
        with client.query_stream(CAR, Params(mode=mode, size=1000)) as resp:
            assert resp.headers["content-length"] == "1000"
            assert "transfer-encoding" not in resp.headers
            assert resp.content_type == "application/vnd.ipld.car"
            assert b"".join(resp.chunks) == chunk(0, 1000)


@pytest.mark.parametrize("mode", ["async", "sync", "list"])
def test_iterables_stream_chunked(client: XrpcClient, mode: str) -> None:
    params = Params(mode=mode, count=300, size=1000)
    with client.query_stream(CAR, params) as resp:
        assert resp.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in resp.headers
        assert resp.content_type == "application/vnd.ipld.car"
        assert b"".join(resp.chunks) == expected(300, 1000)
    assert client.query(CAR, params, output=bytes) == expected(300, 1000)


def test_client_reads_chunks_before_the_stream_ends(client: XrpcClient) -> None:
    with client.query_stream(CAR, Params(mode="gated")) as resp:
        first = next(resp.chunks)
        assert first == b"first"  # the server is still waiting for the gate
        STATE.gate.set()
        assert b"".join(resp.chunks) == b"second"


def test_empty_stream_is_an_empty_body(client: XrpcClient) -> None:
    with client.query_stream(CAR, Params(mode="empty")) as resp:
        assert resp.headers["content-length"] == "0"
        assert b"".join(resp.chunks) == b""


def test_async_generator_handler_sets_headers_for_any_output(client: XrpcClient) -> None:
    with client.query_stream(ANY, Params(mode="typed", count=3, size=10)) as resp:
        assert resp.content_type == "image/png"
        assert resp.headers["x-extra"] == "yes"
        assert b"".join(resp.chunks) == expected(3, 10)
    with client.query_stream(ANY, Params(mode="plain", count=2, size=10)) as resp:
        assert resp.content_type == "application/octet-stream"  # */* unchanged
        assert b"".join(resp.chunks) == expected(2, 10)


def test_failure_before_the_first_chunk_is_an_xrpc_error(client: XrpcClient) -> None:
    with pytest.raises(XrpcNotFound) as info:
        client.query(CAR, Params(mode="early"), output=bytes)
    assert info.value.error == "RepoNotFound"


@pytest.mark.parametrize("mode", ["str", "int", "dict", "str_chunks", "none"])
def test_wrong_return_type_is_a_500(
    client: XrpcClient, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.ERROR, logger="lexforge.runtime.xrpc"),
        pytest.raises(XrpcInternalServerError) as info,
    ):
        client.query(CAR, Params(mode=mode), output=bytes)
    assert info.value.error == "InternalServerError"
    assert "raw output" not in str(info.value)  # no details leak
    logged = [r for r in caplog.records if r.name == "lexforge.runtime.xrpc"]
    assert len(logged) == 1
    assert isinstance(logged[0].exc_info and logged[0].exc_info[1], TypeError)


def read_stream(client: XrpcClient, params: Params, into: bytearray) -> None:
    with client.query_stream(CAR, params) as resp:
        assert resp.status == 200
        for part in resp.chunks:
            into += part


def test_mid_stream_failure_aborts_the_connection(
    client: XrpcClient, caplog: pytest.LogCaptureFixture
) -> None:
    received = bytearray()
    with caplog.at_level(logging.ERROR, logger="lexforge.runtime.xrpc"):
        with pytest.raises(XrpcTransportError, match="RemoteProtocolError"):
            read_stream(client, Params(mode="fail", count=50), received)
        with pytest.raises(XrpcTransportError):
            client.query(CAR, Params(mode="fail", count=50), output=bytes)
    assert bytes(received) == expected(50, 1024)  # every chunk before the failure arrived
    assert STATE.closed.wait(5)
    logged = [r for r in caplog.records if r.name == "lexforge.runtime.xrpc"]
    assert len(logged) == 2  # once per request
    assert all("com.example.getCar" in r.getMessage() for r in logged)
    assert all(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in logged)


@pytest.mark.parametrize("mode", ["endless", "endless_sync"])
def test_client_leaving_early_closes_the_iterator(client: XrpcClient, mode: str) -> None:
    with client.query_stream(CAR, Params(mode=mode)) as resp:
        got = 0
        for part in resp.chunks:
            got += len(part)
            if got > 1 << 20:
                break
    assert STATE.closed.wait(5), "the handler's finally did not run"
    # the server still serves others
    assert client.query(CAR, Params(mode="bytes", size=3), output=bytes) == chunk(0, 3)


def test_large_stream_is_not_held_in_memory(client: XrpcClient) -> None:
    size, count = 64 * 1024, 800  # 50 MiB
    tracemalloc.start()
    try:
        total = 0
        with client.query_stream(CAR, Params(mode="async", count=count, size=size)) as resp:
            for part in resp.chunks:
                total += len(part)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == size * count
    # server and client share this process: both together stay far below the body
    assert peak < 8 * 1024 * 1024, peak


def test_generated_raw_output_handlers_are_typed_raw_output() -> None:
    from lexforge.generated.server.com.atproto.sync import get_blob, get_repo

    for module in (get_repo, get_blob):
        hints = get_type_hints(module.Handler.__call__)
        assert hints["return"] == RawOutput

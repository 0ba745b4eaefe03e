"""The handshake of a subscription is decided by the handler's first step.

A real uvicorn on loopback serves handlers of each kind; a real ``websockets`` client
looks at the HTTP status of the handshake, the frames and the close code. See the module
docstring of :mod:`lexforge.runtime.xrpc.subscription` for the rules.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from lexforge.runtime.xrpc import (
    AsyncXrpcClient,
    MethodNotImplemented,
    Subscription,
    XrpcContext,
    XrpcNotImplemented,
    create_xrpc_app,
)
from lexforge.runtime.xrpc.frames import OP_ERROR, OP_MESSAGE, decode_frame
from tests.xrpc import models
from tests.xrpc.live import serve

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

MESSAGES = {"#commit": models.Commit}


class Gate:
    """Something a handler awaits in the server's loop, opened from the test's thread."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.event: asyncio.Event | None = None
        self.waiting = threading.Event()
        self.closed = threading.Event()
        self.cancelled = False

    def open(self) -> None:
        assert self.loop is not None
        assert self.event is not None
        self.loop.call_soon_threadsafe(self.event.set)

    @property
    def is_open(self) -> bool:
        return self.event is not None and self.event.is_set()


gate = Gate()


async def stub(ctx: XrpcContext) -> AsyncIterator[object]:
    """What ``lexforge scaffold`` writes for a subscription."""
    raise MethodNotImplemented()
    yield  # makes it an async generator


async def stub_after_awaits(ctx: XrpcContext) -> AsyncIterator[object]:
    """Not implemented, found out after a few steps that do not block (no I/O)."""
    lock = anyio.Lock()
    async with lock:
        await anyio.sleep(0)
    raise MethodNotImplemented("streams are switched off here")
    yield


async def not_implemented_later(ctx: XrpcContext) -> AsyncIterator[object]:
    """Raises 501 only after really waiting: by then the handshake was accepted."""
    await anyio.sleep(0.05)
    raise MethodNotImplemented("too late for the handshake")
    yield


async def future_cursor(ctx: XrpcContext) -> AsyncIterator[object]:
    raise models.FutureCursorError("cursor in the future")
    yield


async def crashes(ctx: XrpcContext) -> AsyncIterator[object]:
    raise RuntimeError("secret internal detail")
    yield


async def empty(ctx: XrpcContext) -> AsyncIterator[object]:
    return
    yield


async def immediate(ctx: XrpcContext) -> AsyncIterator[object]:
    for seq in (1, 2, 3):
        yield models.Commit(seq=seq, repo="did:plc:now")


async def gated(ctx: XrpcContext) -> AsyncIterator[object]:
    """Waits for the test to open ``gate`` before its first message."""
    gate.loop = asyncio.get_running_loop()
    gate.event = asyncio.Event()
    try:
        gate.waiting.set()
        await gate.event.wait()
        for seq in (1, 2, 3):
            yield models.Commit(seq=seq, repo="did:plc:later")
    except asyncio.CancelledError:
        gate.cancelled = True
        raise
    finally:
        gate.closed.set()


HANDLERS = {
    "com.example.stub": stub,
    "com.example.stubAfterAwaits": stub_after_awaits,
    "com.example.notImplementedLater": not_implemented_later,
    "com.example.futureCursor": future_cursor,
    "com.example.crashes": crashes,
    "com.example.empty": empty,
    "com.example.immediate": immediate,
    "com.example.gated": gated,
}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    bindings = {
        nsid: Subscription(
            nsid=nsid, messages={"#commit": models.Commit}, errors=(models.FutureCursorError,)
        )
        for nsid in HANDLERS
    }
    with serve(create_xrpc_app(bindings, HANDLERS)) as url:
        yield url


@pytest.fixture
def fresh_gate() -> Iterator[Gate]:
    global gate  # noqa: PLW0603 - the handler runs in the server's thread
    gate = Gate()
    yield gate
    if gate.event is not None and not gate.is_open:
        gate.open()  # never leave a handler waiting


def ws(base_url: str, nsid: str) -> str:
    return base_url.replace("http://", "ws://") + f"/xrpc/{nsid}"


async def refused(base_url: str, nsid: str) -> tuple[int, dict[str, str], Any]:
    with pytest.raises(InvalidStatus) as info:
        async with connect(ws(base_url, nsid), open_timeout=5):
            pass  # pragma: no cover - the handshake must fail
    response = info.value.response
    headers = {k.lower(): v for k, v in response.headers.raw_items()}
    return response.status_code, headers, json.loads(response.body or b"null")


async def frames_until_close(conn: ClientConnection) -> tuple[list[Any], int, str]:
    """Every frame until the server closes; then the close code and reason."""
    frames = []
    try:
        while True:
            data = await asyncio.wait_for(conn.recv(), 5)
            assert isinstance(data, bytes)
            frames.append(decode_frame(data))
    except ConnectionClosed:
        pass
    assert conn.close_code is not None
    return frames, conn.close_code, conn.close_reason or ""


# -- 501 at the handshake -------------------------------------------------------------


async def test_scaffold_style_stub_is_refused_with_501(base_url: str) -> None:
    status, headers, body = await refused(base_url, "com.example.stub")
    assert status == 501
    assert headers["content-type"] == "application/json"
    assert body == {"error": "MethodNotImplemented"}


async def test_stub_that_awaits_without_blocking_is_refused_with_501(base_url: str) -> None:
    status, _, body = await refused(base_url, "com.example.stubAfterAwaits")
    assert status == 501
    assert body == {"error": "MethodNotImplemented", "message": "streams are switched off here"}


async def test_xrpc_client_raises_not_implemented_for_a_stub(base_url: str) -> None:
    async with AsyncXrpcClient(base_url) as client:
        with pytest.raises(XrpcNotImplemented) as info:
            async for _ in client.subscribe("com.example.stub", messages=MESSAGES):
                pass  # pragma: no cover
    assert info.value.status == 501
    assert info.value.error == "MethodNotImplemented"


async def test_not_implemented_after_blocking_is_an_error_frame(base_url: str) -> None:
    async with connect(ws(base_url, "com.example.notImplementedLater")) as conn:
        frames, code, reason = await frames_until_close(conn)
    assert [(f.op, f.body) for f in frames] == [
        (OP_ERROR, {"error": "MethodNotImplemented", "message": "too late for the handshake"})
    ]
    assert (code, reason) == (1008, "MethodNotImplemented")


# -- other first steps: accepted -------------------------------------------------------


async def test_future_cursor_before_the_first_yield_is_an_error_frame(base_url: str) -> None:
    async with connect(ws(base_url, "com.example.futureCursor")) as conn:
        frames, code, reason = await frames_until_close(conn)
    assert [(f.op, f.body) for f in frames] == [
        (OP_ERROR, {"error": "FutureCursor", "message": "cursor in the future"})
    ]
    assert (code, reason) == (1008, "FutureCursor")


async def test_crash_before_the_first_yield_is_an_internal_error_frame(base_url: str) -> None:
    async with connect(ws(base_url, "com.example.crashes")) as conn:
        frames, code, reason = await frames_until_close(conn)
    assert [(f.op, f.body["error"]) for f in frames] == [(OP_ERROR, "InternalServerError")]
    assert "secret" not in str(frames[0].body)
    assert (code, reason) == (1008, "InternalServerError")


async def test_empty_stream_is_accepted_and_closed_normally(base_url: str) -> None:
    async with connect(ws(base_url, "com.example.empty")) as conn:
        frames, code, _ = await frames_until_close(conn)
    assert (frames, code) == ([], 1000)


async def test_immediate_messages_arrive_in_order(base_url: str) -> None:
    async with connect(ws(base_url, "com.example.immediate")) as conn:
        frames, code, _ = await frames_until_close(conn)
    assert [(f.op, f.t, f.body["seq"]) for f in frames] == [
        (OP_MESSAGE, "#commit", 1),
        (OP_MESSAGE, "#commit", 2),
        (OP_MESSAGE, "#commit", 3),
    ]
    assert code == 1000


async def test_pending_first_step_does_not_hold_the_handshake(
    base_url: str, fresh_gate: Gate
) -> None:
    async with connect(ws(base_url, "com.example.gated"), open_timeout=5) as conn:
        # Upgraded while the handler is still waiting for its first message.
        assert fresh_gate.waiting.is_set()
        assert not fresh_gate.is_open
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(conn.recv(), 0.05)
        fresh_gate.open()
        frames, code, _ = await frames_until_close(conn)
    assert [f.body["seq"] for f in frames] == [1, 2, 3]  # the pending step's message first
    assert code == 1000
    assert await asyncio.to_thread(fresh_gate.closed.wait, 5)
    assert not fresh_gate.cancelled


async def test_client_leaving_during_a_pending_first_step_cancels_the_handler(
    base_url: str, fresh_gate: Gate
) -> None:
    async with connect(ws(base_url, "com.example.gated"), open_timeout=5):
        assert fresh_gate.waiting.is_set()
    assert await asyncio.to_thread(fresh_gate.closed.wait, 5)
    assert fresh_gate.cancelled
    assert not fresh_gate.is_open


async def test_xrpc_client_over_a_pending_first_step(base_url: str, fresh_gate: Gate) -> None:
    async with AsyncXrpcClient(base_url) as client:
        stream = client.subscribe("com.example.gated", messages=MESSAGES)
        first = asyncio.ensure_future(anext(stream))
        assert await asyncio.to_thread(fresh_gate.waiting.wait, 5)
        fresh_gate.open()
        got = [await first] + [m async for m in stream]
    assert [m.seq for m in got] == [1, 2, 3]


# -- a stub written by `lexforge scaffold` ----------------------------------------------


@pytest.fixture(scope="module")
def scaffolded_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from lexforge.codegen.scaffold import scaffold
    from lexforge.generated.server import create_app

    out = tmp_path_factory.mktemp("stubs")
    nsid = "com.atproto.label.subscribeLabels"
    (path,) = scaffold([nsid], out)
    assert "raise MethodNotImplemented()" in path.read_text()
    spec = importlib.util.spec_from_file_location("scaffolded_subscribe_labels", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with serve(create_app({nsid: module.handle})) as url:
        yield url


async def test_scaffolded_subscription_stub_is_a_501(scaffolded_url: str) -> None:
    from lexforge.generated.client import AsyncClient

    status, _, body = await refused(scaffolded_url, "com.atproto.label.subscribeLabels")
    assert (status, body) == (501, {"error": "MethodNotImplemented"})
    async with AsyncClient(scaffolded_url) as client:
        with pytest.raises(XrpcNotImplemented):
            async for _ in client.com.atproto.label.subscribe_labels(cursor=0):
                pass  # pragma: no cover


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"

"""Subscriptions end to end over a real uvicorn on loopback, plus frame unit tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator

import pytest

from lexforge.runtime.data import encode
from lexforge.runtime.xrpc import (
    AsyncXrpcClient,
    Subscription,
    XrpcBadRequest,
    XrpcClient,
    XrpcContext,
    XrpcNotImplemented,
    XrpcStreamError,
    create_xrpc_app,
)
from lexforge.runtime.xrpc.errors import InvalidFrameError, XrpcTransportError
from lexforge.runtime.xrpc.frames import decode_frame, encode_error_frame, encode_message_frame
from lexforge.runtime.xrpc.stream import decode_message
from tests.xrpc import models
from tests.xrpc.conftest import HANDLERS, auth_hook
from tests.xrpc.live import serve

pytestmark = pytest.mark.anyio

MESSAGES = {"#commit": models.Commit, "#info": models.Info}
NSID = "com.example.subscribe"
ENDLESS = "com.example.endless"

closed = threading.Event()


async def endless(ctx: XrpcContext) -> AsyncIterator[object]:
    try:
        seq = 0
        while True:
            seq += 1
            yield models.Commit(seq=seq, repo="did:plc:x")
            await asyncio.sleep(0.01)
    finally:
        closed.set()


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    bindings = {
        **models.BINDINGS,
        ENDLESS: Subscription(nsid=ENDLESS, messages={"#commit": models.Commit}),
    }
    app = create_xrpc_app(bindings, {**HANDLERS, ENDLESS: endless}, auth=auth_hook)
    with serve(app) as url:
        yield url


async def collect(client: AsyncXrpcClient, cursor: int | None, **kw: object) -> list[object]:
    return [
        m
        async for m in client.subscribe(
            NSID,
            models.SubParams(cursor=cursor),
            messages=kw.pop("messages", MESSAGES),  # type: ignore[arg-type]
            errors=[models.FutureCursorError],
        )
    ]


async def test_messages_after_cursor(base_url: str) -> None:
    async with AsyncXrpcClient(base_url) as client:
        got = await collect(client, 10)
    assert got == [
        models.Info(name="OutdatedCursor"),
        models.Commit(seq=11, repo="did:plc:abc"),
        models.Commit(seq=12, repo="did:plc:abc"),
        models.Commit(seq=13, repo="did:plc:abc"),
    ]


async def test_unknown_frame_types_are_skipped(base_url: str) -> None:
    async with AsyncXrpcClient(base_url) as client:
        got = await collect(client, None, messages={"#commit": models.Commit})
    assert [type(m) for m in got] == [models.Commit] * 3


async def test_declared_error_frame(base_url: str) -> None:
    async with AsyncXrpcClient(base_url) as client:
        with pytest.raises(models.FutureCursorError) as info:
            await collect(client, 1000)
    assert info.value.message == "cursor in the future"


async def test_internal_error_frame_after_messages(base_url: str) -> None:
    got: list[object] = []

    async def consume(client: AsyncXrpcClient) -> None:
        async for m in client.subscribe(NSID, {"cursor": 50}, messages=MESSAGES):
            got.append(m)

    async with AsyncXrpcClient(base_url) as client:
        with pytest.raises(XrpcStreamError) as info:
            await consume(client)
    assert len(got) == 4
    assert info.value.error == "InternalServerError"
    assert "secret" not in str(info.value)


async def test_handshake_refusals(base_url: str) -> None:
    async with AsyncXrpcClient(base_url) as client:
        with pytest.raises(XrpcBadRequest) as bad:
            [m async for m in client.subscribe(NSID, {"cursor": "x"}, messages=MESSAGES)]
        assert "cursor" in (bad.value.message or "")
        with pytest.raises(XrpcNotImplemented):
            [m async for m in client.subscribe("com.example.nope", messages=MESSAGES)]


async def test_frame_over_max_size(base_url: str) -> None:
    async with AsyncXrpcClient(base_url) as client:
        with pytest.raises(XrpcTransportError):
            [m async for m in client.subscribe(NSID, {}, messages=MESSAGES, max_size=10)]


async def test_client_disconnect_stops_the_handler(base_url: str) -> None:
    closed.clear()
    async with AsyncXrpcClient(base_url) as client:
        stream = client.subscribe(ENDLESS, messages={"#commit": models.Commit})
        seqs = []
        async for m in stream:
            seqs.append(m.seq)
            if len(seqs) == 3:
                break
        await stream.aclose()  # type: ignore[attr-defined]
    assert seqs == [1, 2, 3]
    assert await asyncio.to_thread(closed.wait, 5)


def test_sync_client_subscription(base_url: str) -> None:
    with XrpcClient(base_url) as client:
        got = list(client.subscribe(NSID, {"cursor": 0}, messages=MESSAGES))
    assert [getattr(m, "seq", None) for m in got] == [None, 1, 2, 3]


# -- frames --------------------------------------------------------------------------


def test_frame_round_trip() -> None:
    frame = encode_message_frame("#commit", {"seq": 5, "repo": "did:plc:x"})
    decoded = decode_frame(frame)
    assert (decoded.op, decoded.t, decoded.body) == (1, "#commit", {"seq": 5, "repo": "did:plc:x"})
    assert decode_message(frame, MESSAGES) == models.Commit(seq=5, repo="did:plc:x")
    error = encode_error_frame("FutureCursor", "too far")
    with pytest.raises(models.FutureCursorError):
        decode_message(error, MESSAGES, [models.FutureCursorError])
    with pytest.raises(XrpcStreamError) as info:
        decode_message(error, MESSAGES)
    assert (info.value.error, info.value.message) == ("FutureCursor", "too far")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        encode({"op": 1, "t": "#commit"}),  # no body
        encode({"op": 1, "t": "#commit"}) + encode({"seq": 1}) + b"\x00",  # trailing
        encode([1]) + encode({}),  # header not a map
        encode({"t": "#commit"}) + encode({}),  # no op
        encode({"op": 1}) + encode({}),  # message without t
        encode({"op": 1, "t": "#commit"}) + encode([1]),  # body not a map
        encode({"op": -1}) + encode({"message": "x"}),  # error without name
        b"\xa2\x61t\x67#commit\x62op\x01" + encode({}),  # unsorted keys: not canonical
        encode({"op": 1, "t": "#commit"}) + encode({"seq": "x", "repo": "r"}),  # schema
        "text frame",
    ],
)
def test_malformed_frames(data: bytes | str) -> None:
    with pytest.raises(InvalidFrameError):
        decode_message(data, MESSAGES)


def test_unknown_op_and_type_are_skipped() -> None:
    assert decode_message(encode({"op": 2, "t": "#x"}) + encode({}), MESSAGES) is None
    assert decode_message(encode({"op": 1, "t": "#other"}) + encode({}), MESSAGES) is None


def test_encode_rejects_bad_names() -> None:
    with pytest.raises(ValueError, match="frame type"):
        encode_message_frame("commit", {})
    with pytest.raises(ValueError, match="error name"):
        encode_error_frame("has space")

"""The firehose consumer against a real WebSocket server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from pathlib import Path

import pytest

from lexforge.runtime.data import encode
from lexforge.runtime.sync import (
    CommitEvent,
    ConsumerTooSlowError,
    EventError,
    FrameLimitError,
    FutureCursorError,
    HandlerError,
    IdentityEvent,
    InfoEvent,
    RepoEvent,
    StreamErrorFrame,
    VerificationError,
    encode_error_frame,
    encode_frame,
)
from lexforge.runtime.sync.consumer import Backoff, FirehoseConsumer, subscribe_url
from lexforge.runtime.sync.cursor import MemoryCursorStore, SqliteCursorStore
from lexforge.runtime.xrpc.frames import encode_message_frame
from tests.sync.firehose_fixtures import (
    TIME,
    FakeRelay,
    interleave,
    make_histories,
    running_relay,
)

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

HISTORIES = make_histories(4, 6)
EVENTS = interleave(HISTORIES)  # 24 commits, seq 1, 3, 5, ...
SEQS = [e.seq for e in EVENTS]
FAST = Backoff(initial=0.01, maximum=0.05)


class Collector:
    """A handler that records events and says when it has seen ``until``."""

    def __init__(self, until: int = SEQS[-1], delay: float = 0.0) -> None:
        self.events: list[RepoEvent] = []
        self.until = until
        self.delay = delay
        self.done = asyncio.Event()
        self.running = 0
        self.max_running = 0

    async def __call__(self, event: RepoEvent) -> None:
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            if self.delay:
                await asyncio.sleep(random.random() * self.delay)
            self.events.append(event)
            if event.seq >= self.until:
                self.done.set()
        finally:
            self.running -= 1

    @property
    def seqs(self) -> list[int]:
        return [e.seq for e in self.events]


async def consume_until(consumer: FirehoseConsumer, collector: Collector) -> None:
    async with consumer:
        await asyncio.wait_for(collector.done.wait(), 10)


async def test_in_order_delivery_and_cursor_saved() -> None:
    async with running_relay(FakeRelay(list(EVENTS))) as relay:
        collector = Collector()
        store = MemoryCursorStore()
        consumer = FirehoseConsumer(relay.url, collector, cursor_store=store, backoff=FAST)
        await consume_until(consumer, collector)
    assert collector.seqs == SEQS
    assert collector.events == EVENTS  # decoded exactly as encoded
    assert relay.cursors == [None]  # no cursor stored: start live
    assert store.seq == SEQS[-1]
    assert store.history == sorted(store.history)
    assert consumer.cursor == SEQS[-1]


async def test_resume_after_disconnect_without_gaps() -> None:
    relay = FakeRelay(list(EVENTS))
    relay.drop_after = {0: 7, 1: 5}  # the server drops us twice mid-stream
    async with running_relay(relay):
        collector = Collector()
        consumer = FirehoseConsumer(relay.url, collector, backoff=FAST, cursor=0)
        await consume_until(consumer, collector)
    assert relay.cursors == [0, SEQS[6], SEQS[11]]
    assert collector.seqs == SEQS  # every event, in order, once
    assert consumer.connections == 3


async def test_restart_resumes_from_the_persisted_cursor(tmp_path: Path) -> None:
    db = tmp_path / "cursor.sqlite"
    first_seen: list[int] = []
    reached = asyncio.Event()

    async def first(event: RepoEvent) -> None:
        first_seen.append(event.seq)
        if event.seq == SEQS[9]:
            reached.set()
        if event.seq > SEQS[9]:
            await asyncio.Event().wait()  # in flight when the process "dies"

    async with running_relay(FakeRelay(list(EVENTS))) as relay:
        store = SqliteCursorStore(db)
        async with FirehoseConsumer(relay.url, first, cursor_store=store, cursor=0):
            await asyncio.wait_for(reached.wait(), 10)
            while len(first_seen) < 11:
                await asyncio.sleep(0.01)
        store.close()
        saved = await SqliteCursorStore(db).load()
        assert saved == SEQS[9]
        second = Collector()
        store = SqliteCursorStore(db)
        consumer = FirehoseConsumer(relay.url, second, cursor_store=store)
        await consume_until(consumer, second)
        store.close()
    assert relay.cursors == [0, SEQS[9]]
    # at least once: the event in flight at the stop is delivered again, nothing is lost
    assert first_seen[-1] == SEQS[10]
    assert second.seqs == SEQS[10:]


async def test_per_repo_order_with_several_workers() -> None:
    many = interleave(make_histories(6, 5))
    async with running_relay(FakeRelay(list(many))) as relay:
        collector = Collector(until=many[-1].seq, delay=0.01)
        store = MemoryCursorStore()
        finished: list[int] = []

        async def handler(event: RepoEvent) -> None:
            await collector(event)
            finished.append(event.seq)

        consumer = FirehoseConsumer(
            relay.url, handler, workers=4, queue_size=2, cursor=0, cursor_store=store
        )
        async with consumer:
            await asyncio.wait_for(collector.done.wait(), 10)
            while len(finished) < len(many):
                await asyncio.sleep(0.01)
    by_repo: dict[str, list[int]] = defaultdict(list)
    for event in collector.events:
        by_repo[event.did].append(event.seq)
    for did, seqs in by_repo.items():
        expected = [e.seq for e in many if e.did == did]
        assert seqs == expected, did
    assert collector.max_running > 1  # different repos did run concurrently
    assert finished != sorted(finished)  # ... and finished out of stream order
    # the persisted cursor only ever moved forward, and ended at the last event
    assert store.history == sorted(store.history)
    assert store.seq == many[-1].seq


async def test_cursor_never_passes_an_unfinished_event() -> None:
    """A slow repo holds the cursor back while other repos finish after it."""
    slow_did = EVENTS[0].did
    release = asyncio.Event()
    store = MemoryCursorStore()
    seen: list[int] = []

    async def handler(event: RepoEvent) -> None:
        if event.did == slow_did and event.seq == EVENTS[0].seq:
            await release.wait()
        seen.append(event.seq)

    async with running_relay(FakeRelay(list(EVENTS))) as relay:
        consumer = FirehoseConsumer(relay.url, handler, workers=4, cursor=0, cursor_store=store)
        async with consumer:
            while len(seen) < 10:
                await asyncio.sleep(0.01)
            assert store.seq is None  # seq 1 is still running: nothing may be saved
            assert consumer.cursor == 0
            release.set()
            while store.seq != SEQS[-1]:
                await asyncio.sleep(0.01)
    assert all(s < EVENTS[0].seq or s >= EVENTS[0].seq for s in store.history)
    assert store.history == sorted(store.history)


async def test_future_cursor_stops_the_consumer() -> None:
    relay = FakeRelay([])
    relay.prefix = {0: [encode_error_frame("FutureCursor", "Cursor in the future.")]}
    errors: list[BaseException] = []
    async with running_relay(relay):
        consumer = FirehoseConsumer(
            relay.url, Collector(), cursor=10**6, on_error=errors.append, backoff=FAST
        )
        with pytest.raises(FutureCursorError):
            await asyncio.wait_for(consumer.run(), 10)
    assert relay.cursors == [10**6]
    assert len(errors) == 1
    assert isinstance(errors[0], FutureCursorError)


async def test_consumer_too_slow_and_other_error_frames_reconnect() -> None:
    relay = FakeRelay(list(EVENTS))
    relay.prefix = {
        0: [encode_error_frame("ConsumerTooSlow", "Stream consumer too slow")],
        1: [encode_error_frame("InternalError")],
    }
    errors: list[BaseException] = []
    async with running_relay(relay):
        collector = Collector()
        consumer = FirehoseConsumer(
            relay.url, collector, cursor=0, on_error=errors.append, backoff=FAST
        )
        await consume_until(consumer, collector)
    assert isinstance(errors[0], ConsumerTooSlowError)
    assert type(errors[1]) is StreamErrorFrame
    assert errors[1].error == "InternalError"
    assert collector.seqs == SEQS
    assert relay.cursors == [0, 0, 0]


async def test_outdated_cursor_info_is_reported() -> None:
    relay = FakeRelay(list(EVENTS))
    relay.prefix = {0: [encode_frame(InfoEvent(name="OutdatedCursor", message="old"))]}
    infos: list[InfoEvent] = []

    async def on_info(event: InfoEvent) -> None:
        infos.append(event)

    async with running_relay(relay):
        collector = Collector()
        consumer = FirehoseConsumer(relay.url, collector, cursor=0, on_info=on_info)
        await consume_until(consumer, collector)
    assert infos == [InfoEvent(name="OutdatedCursor", message="old")]
    assert collector.seqs == SEQS


async def test_bad_cbor_drops_the_connection_and_reconnects() -> None:
    relay = FakeRelay(list(EVENTS))
    relay.prefix = {0: [encode({"op": 1, "t": "#commit"}) + b"\xff\xff"]}
    errors: list[BaseException] = []
    async with running_relay(relay):
        collector = Collector()
        consumer = FirehoseConsumer(
            relay.url, collector, cursor=0, on_error=errors.append, backoff=FAST
        )
        await consume_until(consumer, collector)
    assert isinstance(errors[0], EventError)
    assert relay.cursors == [0, 0]
    assert collector.seqs == SEQS


async def test_oversized_frame_is_refused_then_reconnects() -> None:
    relay = FakeRelay(list(EVENTS))
    relay.prefix = {0: [b"\xa0" * 5_100_000]}
    errors: list[BaseException] = []
    async with running_relay(relay):
        collector = Collector()
        consumer = FirehoseConsumer(
            relay.url, collector, cursor=0, on_error=errors.append, backoff=FAST
        )
        await consume_until(consumer, collector)
    assert isinstance(errors[0], FrameLimitError)
    assert relay.cursors == [0, 0]
    assert collector.seqs == SEQS


async def test_two_megabyte_commit_frame_is_accepted() -> None:
    """Above websockets' 1 MiB default, within the protocol's caps."""
    big = EVENTS[0]
    body = {
        **encode_frame_body(big),
        "blocks": big.blocks + b"\0" * (1_999_000 - len(big.blocks)),
    }
    relay = FakeRelay([])
    relay.prefix = {0: [encode_message_frame("#commit", body)]}
    async with running_relay(relay):
        collector = Collector(until=big.seq)
        await consume_until(FirehoseConsumer(relay.url, collector, cursor=0), collector)
    assert len(collector.events) == 1
    assert isinstance(collector.events[0], CommitEvent)
    assert len(collector.events[0].blocks) == 1_999_000


def encode_frame_body(event: CommitEvent) -> dict[str, object]:
    from lexforge.runtime.sync.events import event_to_body

    return event_to_body(event)


async def test_unknown_t_is_skipped_on_the_same_connection() -> None:
    relay = FakeRelay(list(EVENTS))
    relay.insert = {SEQS[3]: encode_message_frame("#labels", {"seq": 1, "labels": []})}
    relay.prefix = {0: [encode({"op": 7, "t": "#commit"}) + encode({})]}
    async with running_relay(relay):
        collector = Collector()
        consumer = FirehoseConsumer(relay.url, collector, cursor=0)
        await consume_until(consumer, collector)
    assert collector.seqs == SEQS
    assert consumer.connections == 1


async def test_replayed_events_are_dropped() -> None:
    relay = FakeRelay(list(EVENTS))
    identity = IdentityEvent(seq=SEQS[2], did=EVENTS[2].did, time=TIME)  # a replayed seq
    relay.insert = {SEQS[5]: encode_frame(identity)}
    async with running_relay(relay):
        collector = Collector()
        consumer = FirehoseConsumer(relay.url, collector, cursor=0)
        await consume_until(consumer, collector)
    assert collector.seqs == SEQS
    assert consumer.duplicates == 1


async def test_handler_error_stops_without_passing_the_cursor() -> None:
    store = MemoryCursorStore()

    async def handler(event: RepoEvent) -> None:
        if event.seq == SEQS[4]:
            raise RuntimeError("database down")

    async with running_relay(FakeRelay(list(EVENTS))) as relay:
        consumer = FirehoseConsumer(relay.url, handler, cursor=0, cursor_store=store)
        with pytest.raises(HandlerError) as info:
            await asyncio.wait_for(consumer.run(), 10)
    assert info.value.seq == SEQS[4]
    assert isinstance(info.value.__cause__, RuntimeError)
    assert store.seq == SEQS[3]


async def test_verify_hook_rejects_and_accepts() -> None:
    rejected: list[tuple[int, VerificationError]] = []

    async def verify(event: RepoEvent) -> None:
        if event.seq in (SEQS[1], SEQS[2]):
            raise VerificationError("bad signature")

    async def on_invalid(event: RepoEvent, error: VerificationError) -> None:
        rejected.append((event.seq, error))

    store = MemoryCursorStore()
    async with running_relay(FakeRelay(list(EVENTS))) as relay:
        collector = Collector()
        consumer = FirehoseConsumer(
            relay.url,
            collector,
            cursor=0,
            verifier=verify,
            on_invalid=on_invalid,
            cursor_store=store,
        )
        await consume_until(consumer, collector)
    assert collector.seqs == [s for s in SEQS if s not in (SEQS[1], SEQS[2])]
    assert [seq for seq, _ in rejected] == [SEQS[1], SEQS[2]]
    assert store.seq == SEQS[-1]  # rejected events are done with, not pending


async def test_real_commit_verifier_plugs_in() -> None:
    """The repo engineer's CommitVerifier, through the verifier= hook."""
    from lexforge.runtime.sync.verify import CommitVerifier

    keys = {h.did: h.key.public_key for h in HISTORIES}

    async def lookup(did: str, refresh: bool) -> object:
        return keys[did]

    verifier = CommitVerifier(lookup)  # type: ignore[arg-type]
    tampered = list(EVENTS)
    bad = EVENTS[5]
    tampered[5] = CommitEvent(
        **{**{n: getattr(bad, n) for n in CommitEvent.__slots__}, "ops": bad.ops[:-1]}
    )
    rejected: list[int] = []

    async def on_invalid(event: RepoEvent, error: VerificationError) -> None:
        rejected.append(event.seq)

    async with running_relay(FakeRelay(tampered)) as relay:
        collector = Collector()
        consumer = FirehoseConsumer(
            relay.url, collector, cursor=0, verifier=verifier, on_invalid=on_invalid
        )
        await consume_until(consumer, collector)
    assert rejected == [bad.seq]
    assert bad.seq not in collector.seqs
    assert len(collector.seqs) == len(SEQS) - 1


async def test_stop_and_cancel_save_the_cursor() -> None:
    store = MemoryCursorStore()
    async with running_relay(FakeRelay(list(EVENTS))) as relay:
        collector = Collector(until=SEQS[5])
        consumer = FirehoseConsumer(relay.url, collector, cursor=0, cursor_store=store)
        task = asyncio.create_task(consumer.run())
        await asyncio.wait_for(collector.done.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert store.seq is not None
    assert store.seq >= SEQS[5]
    assert store.seq in collector.seqs


async def test_connection_refused_retries_with_backoff() -> None:
    errors: list[BaseException] = []
    consumer = FirehoseConsumer(
        "ws://127.0.0.1:9", Collector(), on_error=errors.append, backoff=FAST, open_timeout=1
    )
    async with consumer:
        while len(errors) < 3:
            await asyncio.sleep(0.01)
    assert all(isinstance(e, OSError) for e in errors)
    assert consumer.connections == 0


def test_backoff_is_capped_with_jitter() -> None:
    backoff = Backoff(initial=1.0, maximum=8.0)
    for attempt, cap in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (10, 8.0), (10**6, 8.0)]:
        delays = {backoff.delay(attempt) for _ in range(50)}
        assert all(cap / 2 <= d <= cap for d in delays)
        assert len(delays) > 1


@pytest.mark.parametrize(
    ("url", "cursor", "expected"),
    [
        ("bsky.network", None, "wss://bsky.network/xrpc/com.atproto.sync.subscribeRepos"),
        (
            "https://pds.example",
            5,
            "wss://pds.example/xrpc/com.atproto.sync.subscribeRepos?cursor=5",
        ),
        (
            "http://127.0.0.1:80/",
            0,
            "ws://127.0.0.1:80/xrpc/com.atproto.sync.subscribeRepos?cursor=0",
        ),
        ("ws://h/xrpc", None, "ws://h/xrpc/com.atproto.sync.subscribeRepos"),
        (
            "wss://h/xrpc/com.atproto.sync.subscribeRepos?cursor=3&x=1",
            9,
            "wss://h/xrpc/com.atproto.sync.subscribeRepos?x=1&cursor=9",
        ),
    ],
)
def test_subscribe_url(url: str, cursor: int | None, expected: str) -> None:
    assert subscribe_url(url, cursor) == expected


@pytest.mark.parametrize("url", ["ftp://x", "wss://", "http:///path"])
def test_subscribe_url_rejects(url: str) -> None:
    with pytest.raises(ValueError, match="URL"):
        subscribe_url(url)

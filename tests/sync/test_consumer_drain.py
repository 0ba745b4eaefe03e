"""Graceful shutdown: ``FirehoseConsumer.stop(drain=...)`` against a real relay on 127.0.0.1.

The handlers here block on events (not sleeps), so each test knows exactly which events
are in flight when the drain starts; the cursor store then shows what was committed.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import sys
import time

import pytest

from lexforge.runtime.sync import HandlerError, RepoEvent
from lexforge.runtime.sync.cli import _install_shutdown, _remove_shutdown
from lexforge.runtime.sync.consumer import FirehoseConsumer
from lexforge.runtime.sync.cursor import MemoryCursorStore
from tests.sync.firehose_fixtures import FakeRelay, interleave, make_histories, running_relay

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(10)]

EVENTS = interleave(make_histories(4, 4))  # 16 commits of 4 repos, seq 1, 3, 5, ...
SEQS = [e.seq for e in EVENTS]


class Gated:
    """A handler that blocks on chosen seqs until released, and records what finished.

    ``entered[seq]`` is set when the handler starts on ``seq``; ``release(seq)`` lets it
    finish. Seqs in ``forever`` never finish (they are cancelled); ``cancelled`` lists
    them once that happened.
    """

    def __init__(self, hold: set[int] | None = None, forever: set[int] | None = None) -> None:
        self.hold = set(hold or ()) | set(forever or ())
        self.forever = set(forever or ())
        self.entered = {seq: asyncio.Event() for seq in SEQS}
        self.gates = {seq: asyncio.Event() for seq in SEQS}
        self.finished: list[int] = []
        self.cancelled: list[int] = []

    def release(self, seq: int) -> None:
        self.gates[seq].set()

    async def __call__(self, event: RepoEvent) -> None:
        self.entered[event.seq].set()
        try:
            if event.seq in self.forever:
                await asyncio.Event().wait()
            if event.seq in self.hold:
                await self.gates[event.seq].wait()
        except asyncio.CancelledError:
            self.cancelled.append(event.seq)
            raise
        self.finished.append(event.seq)


async def entered(handler: Gated, seq: int) -> None:
    await asyncio.wait_for(handler.entered[seq].wait(), 5)


async def queue_filled(consumer: FirehoseConsumer, count: int) -> None:
    """Wait until ``count`` events were handed to workers (the reader then blocks)."""
    for _ in range(500):
        if consumer.dispatched >= count:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"only {consumer.dispatched} events dispatched")


async def test_drain_lets_in_flight_handlers_finish_and_commits_them() -> None:
    # One worker, queue of 3: the handler holds SEQS[2]; SEQS[3..5] wait in the queue,
    # SEQS[6] waits in the reader for queue space.
    handler = Gated(hold={SEQS[2], SEQS[4]})
    store = MemoryCursorStore()
    async with running_relay(FakeRelay(list(EVENTS))) as relay:
        consumer = FirehoseConsumer(relay.url, handler, cursor=0, cursor_store=store, queue_size=3)
        task = asyncio.create_task(consumer.run())
        await entered(handler, SEQS[2])
        await queue_filled(consumer, 6)
        consumer.stop(drain=5)
        received = consumer.dispatched
        handler.release(SEQS[2])  # the freed queue slot must not take SEQS[6] now
        await entered(handler, SEQS[4])
        handler.release(SEQS[4])
        await asyncio.wait_for(task, 5)  # returns normally
    assert received == 6
    assert consumer.dispatched == received  # nothing read after the drain started
    assert handler.finished == SEQS[:6]
    assert handler.cancelled == []
    assert store.seq == SEQS[5] == consumer.cursor
    assert relay.cursors == [0]


async def test_drain_timeout_cancels_the_rest_and_a_restart_redelivers_exactly_them() -> None:
    handler = Gated(forever={SEQS[3]})
    store = MemoryCursorStore()
    async with running_relay(FakeRelay(list(EVENTS))) as relay:
        consumer = FirehoseConsumer(relay.url, handler, cursor=0, cursor_store=store, queue_size=2)
        task = asyncio.create_task(consumer.run())
        await entered(handler, SEQS[3])
        await queue_filled(consumer, 6)
        started = time.monotonic()
        consumer.stop(drain=0.2)
        await asyncio.wait_for(task, 5)
        waited = time.monotonic() - started
        assert 0.15 <= waited < 2
        assert handler.finished == SEQS[:3]
        assert handler.cancelled == [SEQS[3]]
        assert store.seq == SEQS[2]  # the last contiguous finished event

        # A restart from the saved cursor gets exactly the events that did not finish.
        again = Gated()
        restarted = FirehoseConsumer(relay.url, again, cursor_store=store)
        task = asyncio.create_task(restarted.run())
        await entered(again, SEQS[-1])
        restarted.stop(drain=1)
        await asyncio.wait_for(task, 5)
    assert relay.cursors == [0, SEQS[2]]
    assert again.finished == SEQS[3:]
    assert store.seq == SEQS[-1]


async def test_drain_never_commits_past_an_unfinished_event_of_another_repo() -> None:
    # Four workers: one repo's event is stuck while later events of other repos finish.
    stuck = EVENTS[5]
    handler = Gated(forever={stuck.seq})
    store = MemoryCursorStore()
    async with running_relay(FakeRelay(list(EVENTS))) as relay:
        consumer = FirehoseConsumer(
            relay.url, handler, cursor=0, cursor_store=store, workers=4, queue_size=1
        )
        task = asyncio.create_task(consumer.run())
        await entered(handler, stuck.seq)
        later = [e.seq for e in EVENTS[6:] if e.did != stuck.did]
        await entered(handler, later[0])
        consumer.stop(drain=0.2)
        await asyncio.wait_for(task, 5)
    assert any(seq > stuck.seq for seq in handler.finished)  # others moved on ...
    assert store.seq == SEQS[4]  # ... but the cursor waits before the stuck one
    assert handler.cancelled == [stuck.seq]
    # per-repo order held during the drain
    for did in {e.did for e in EVENTS}:
        mine = [s for s in handler.finished if s in {e.seq for e in EVENTS if e.did == did}]
        assert mine == sorted(mine)


async def test_stop_without_drain_cancels_in_flight_handlers_at_once() -> None:
    handler = Gated(hold={SEQS[2]})
    store = MemoryCursorStore()
    async with running_relay(FakeRelay(list(EVENTS))) as relay:
        consumer = FirehoseConsumer(relay.url, handler, cursor=0, cursor_store=store, queue_size=2)
        task = asyncio.create_task(consumer.run())
        await entered(handler, SEQS[2])
        await queue_filled(consumer, 5)
        consumer.stop()
        await asyncio.wait_for(task, 1)
    assert handler.finished == SEQS[:2]
    assert handler.cancelled == [SEQS[2]]
    assert store.seq == SEQS[1]
    assert not consumer.draining


async def test_drain_with_nothing_queued_returns_at_once() -> None:
    handler = Gated()
    store = MemoryCursorStore()
    async with running_relay(FakeRelay(list(EVENTS))) as relay:
        consumer = FirehoseConsumer(relay.url, handler, cursor=0, cursor_store=store)
        task = asyncio.create_task(consumer.run())
        await entered(handler, SEQS[-1])
        while consumer.cursor != SEQS[-1]:
            await asyncio.sleep(0.005)
        started = time.monotonic()
        consumer.stop(drain=30)
        await asyncio.wait_for(task, 5)
        assert time.monotonic() - started < 0.5
    assert handler.finished == SEQS
    assert store.seq == SEQS[-1]


async def test_a_plain_stop_during_a_drain_cancels_at_once() -> None:
    handler = Gated(forever={SEQS[1]})
    store = MemoryCursorStore()
    async with running_relay(FakeRelay(list(EVENTS))) as relay:
        consumer = FirehoseConsumer(relay.url, handler, cursor=0, cursor_store=store)
        task = asyncio.create_task(consumer.run())
        await entered(handler, SEQS[1])
        consumer.stop(drain=math.inf)
        await asyncio.sleep(0.05)
        assert not task.done()  # an endless drain waits ...
        consumer.stop(drain=60)  # ... a later, longer one does not replace it ...
        consumer.stop()  # ... and a second Ctrl-C ends it
        await asyncio.wait_for(task, 1)
    assert handler.cancelled == [SEQS[1]]
    assert store.seq == SEQS[0]


async def test_a_shorter_drain_moves_the_deadline_closer() -> None:
    handler = Gated(forever={SEQS[1]})
    async with running_relay(FakeRelay(list(EVENTS))) as relay:
        consumer = FirehoseConsumer(relay.url, handler, cursor=0)
        task = asyncio.create_task(consumer.run())
        await entered(handler, SEQS[1])
        consumer.stop(drain=60)
        await asyncio.sleep(0.05)
        consumer.stop(drain=0)
        await asyncio.wait_for(task, 1)
    assert consumer.cursor == SEQS[0]


async def test_handler_error_during_drain_fails_as_usual() -> None:
    store = MemoryCursorStore()
    gate = asyncio.Event()
    in_flight = asyncio.Event()

    async def handler(event: RepoEvent) -> None:
        if event.seq == SEQS[2]:
            in_flight.set()
            await gate.wait()
            raise RuntimeError("database down")

    async with running_relay(FakeRelay(list(EVENTS))) as relay:
        consumer = FirehoseConsumer(relay.url, handler, cursor=0, cursor_store=store)
        task = asyncio.create_task(consumer.run())
        await asyncio.wait_for(in_flight.wait(), 5)
        consumer.stop(drain=5)
        gate.set()
        with pytest.raises(HandlerError) as info:
            await asyncio.wait_for(task, 2)
    assert info.value.seq == SEQS[2]
    assert store.seq == SEQS[1]


async def test_leaving_async_with_after_stop_drain_waits_for_the_drain() -> None:
    handler = Gated(hold={SEQS[1]})
    store = MemoryCursorStore()
    async with running_relay(FakeRelay(list(EVENTS))) as relay:
        consumer = FirehoseConsumer(relay.url, handler, cursor=0, cursor_store=store)
        async with consumer:
            await entered(handler, SEQS[1])
            consumer.stop(drain=5)
            asyncio.get_running_loop().call_later(0.05, handler.release, SEQS[1])
    assert SEQS[1] in handler.finished
    assert handler.cancelled == []
    assert store.seq == consumer.cursor
    assert store.seq is not None
    assert store.seq >= SEQS[1]


async def test_drain_before_run_reads_nothing() -> None:
    handler = Gated()
    async with running_relay(FakeRelay(list(EVENTS))) as relay:
        consumer = FirehoseConsumer(relay.url, handler, cursor=0)
        consumer.stop(drain=1)
        await asyncio.wait_for(consumer.run(), 1)
    assert consumer.dispatched == 0
    assert handler.finished == []


@pytest.mark.parametrize("bad", [-1.0, math.nan])
def test_drain_must_be_a_non_negative_number(bad: float) -> None:
    consumer = FirehoseConsumer("ws://127.0.0.1:9", Gated())
    with pytest.raises(ValueError, match="drain"):
        consumer.stop(drain=bad)
    assert not consumer.draining


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["TERM", "INT"]
)
async def test_cli_drains_on_a_signal_and_says_where_to_resume(
    signum: signal.Signals, code: int
) -> None:
    """``lexforge firehose`` as a real process: a signal drains, prints the resume cursor."""
    async with running_relay(FakeRelay(list(EVENTS))) as relay:
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "lexforge.runtime.cli", "firehose", relay.url),
            *("--cursor", "0", "--drain", "2"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        assert proc.stderr is not None
        try:
            lines = [await asyncio.wait_for(proc.stdout.readline(), 5) for _ in EVENTS]
            proc.send_signal(signum)
            rest, err = await asyncio.wait_for(proc.communicate(), 5)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert [int(line.split()[0]) for line in lines] == SEQS
    assert rest == b""
    stderr = err.decode()
    assert proc.returncode == code, stderr
    assert f"{signum.name}: finishing the events received (up to 2 s)" in stderr
    assert f"resume with --cursor {SEQS[-1]}" in stderr
    assert "Traceback" not in stderr


async def test_cli_second_signal_stops_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    handler = Gated(forever={SEQS[1]})
    received: list[int] = []
    async with running_relay(FakeRelay(list(EVENTS))) as relay:
        consumer = FirehoseConsumer(relay.url, handler, cursor=0)
        task = asyncio.create_task(consumer.run())
        assert _install_shutdown(consumer, 60, received)
        try:
            await entered(handler, SEQS[1])
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.sleep(0.05)
            assert consumer.draining
            assert not task.done()  # the 60 s drain waits for SEQS[1] ...
            os.kill(os.getpid(), signal.SIGINT)
            await asyncio.wait_for(task, 1)  # ... until the second signal
        finally:
            _remove_shutdown()
    assert received == [signal.SIGTERM, signal.SIGINT]
    assert handler.cancelled == [SEQS[1]]
    assert consumer.cursor == SEQS[0]
    assert "again to stop now" in capsys.readouterr().err

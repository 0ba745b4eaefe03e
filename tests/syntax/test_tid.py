"""TIDs and the TID clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.runtime.syntax import InvalidTidError, Tid, TidClock, TidExhaustedError, next_tid
from lexforge.runtime.syntax.tid import MAX_CLOCK_ID, MAX_TID_INT, MAX_TIMESTAMP_US

tid_ints = st.integers(min_value=0, max_value=MAX_TID_INT)


def test_known_values() -> None:
    assert Tid.from_int(0) == "2222222222222"
    assert Tid.from_int(MAX_TID_INT) == "jzzzzzzzzzzzz"
    assert Tid.from_int(2**63 - 1) == "bzzzzzzzzzzzz"
    assert Tid.from_parts(MAX_TIMESTAMP_US, MAX_CLOCK_ID).to_int() == 2**63 - 1
    assert Tid.parse("2222222222222").to_int() == 0
    assert Tid.parse("2222222222223").to_int() == 1
    tid = Tid.parse("3jzfcijpj2z2a")
    assert tid.to_int() == (tid.timestamp_us << 10) | tid.clock_id
    assert Tid.from_parts(tid.timestamp_us, tid.clock_id) == tid
    # 11 chars of timestamp + 2 chars of clock id, as the reference builds it.
    assert Tid.from_parts(1_700_000_000_000_000, 0).endswith("22")
    assert Tid.from_parts(1, 0) == "2222222222322"  # 1 << 10 == 32 * 32
    assert Tid.from_parts(0, 1) == "2222222222223"


@pytest.mark.parametrize(
    ("timestamp_us", "clock_id"),
    [(-1, 0), (MAX_TIMESTAMP_US + 1, 0), (0, -1), (0, MAX_CLOCK_ID + 1), (True, 0), (0, 1.0)],
)
def test_from_parts_rejects_out_of_range(timestamp_us: object, clock_id: object) -> None:
    with pytest.raises(InvalidTidError):
        Tid.from_parts(timestamp_us, clock_id)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [-1, MAX_TID_INT + 1, 2**64, True, "1", 1.0])
def test_from_int_rejects_out_of_range(value: object) -> None:
    with pytest.raises(InvalidTidError):
        Tid.from_int(value)  # type: ignore[arg-type]


@given(tid_ints)
@settings(max_examples=300)
def test_int_round_trip(value: int) -> None:
    tid = Tid.from_int(value)
    assert len(tid) == 13
    assert Tid.parse(tid) == tid
    assert tid.to_int() == value
    assert tid.timestamp_us == value >> 10
    assert tid.clock_id == value & 1023


@given(tid_ints, tid_ints)
@settings(max_examples=300)
def test_string_order_is_numeric_order(a: int, b: int) -> None:
    ta, tb = Tid.from_int(a), Tid.from_int(b)
    assert (ta < tb) == (a < b)
    assert (ta == tb) == (a == b)


class FakeClock:
    """A time source that returns the values it is given, then repeats the last."""

    def __init__(self, values: list[int]) -> None:
        self._values: Iterator[int] = iter(values)
        self.last = values[0] if values else 0

    def __call__(self) -> int:
        self.last = next(self._values, self.last)
        return self.last


def test_clock_uses_wall_clock_when_it_moves_forward() -> None:
    clock = TidClock(time_us=FakeClock([1000, 2000, 3000]), clock_id=7)
    assert [t.timestamp_us for t in (clock.next(), clock.next(), clock.next())] == [
        1000,
        2000,
        3000,
    ]
    assert clock.last is not None
    assert clock.last.timestamp_us == 3000
    assert clock.last.clock_id == 7


def test_clock_stays_monotonic_when_time_goes_backwards() -> None:
    hour = 3_600_000_000
    now = 1_700_000_000_000_000
    clock = TidClock(time_us=FakeClock([now, now, now - hour, now - hour, now + 5]), clock_id=3)
    tids = [clock.next() for _ in range(5)]
    assert tids == sorted(set(tids))
    assert [t.timestamp_us for t in tids] == [now, now + 1, now + 2, now + 3, now + 5]
    assert all(t.clock_id == 3 for t in tids)


def test_next_after_continues_a_repo_after_restart_with_clock_set_back() -> None:
    hour = 3_600_000_000
    now = 1_700_000_000_000_000
    before_restart = TidClock(time_us=FakeClock([now]), clock_id=900)
    last_rev = before_restart.next()
    # New process, wall clock an hour behind, lower clock id.
    clock = TidClock(time_us=FakeClock([now - hour]), clock_id=1)
    rev = clock.next_after(last_rev)
    assert rev > last_rev
    assert rev.timestamp_us == now + 1
    # Later calls keep increasing, even without passing the rev again.
    assert clock.next() > rev
    # With a higher clock id, the same timestamp already sorts above.
    high = TidClock(time_us=FakeClock([now - hour]), clock_id=901)
    assert high.next_after(last_rev) == Tid.from_parts(now, 901)


def test_next_after_an_old_rev_uses_the_wall_clock() -> None:
    clock = TidClock(time_us=FakeClock([5_000_000]), clock_id=0)
    assert clock.next_after(Tid.from_parts(10, 0)).timestamp_us == 5_000_000


def test_next_after_rejects_invalid_rev() -> None:
    clock = TidClock(clock_id=0)
    with pytest.raises(InvalidTidError):
        clock.next_after("3jzf-cij-pj2z-2a")


@pytest.mark.parametrize("top", [2**63 - 1, MAX_TID_INT, Tid.from_parts(MAX_TIMESTAMP_US, 0)])
def test_next_after_top_of_range_is_exhausted(top: int) -> None:
    clock = TidClock(time_us=FakeClock([0]), clock_id=0)
    with pytest.raises(TidExhaustedError):
        clock.next_after(Tid.from_int(top) if isinstance(top, int) else top)
    # The failed call did not move the clock.
    assert clock.last is None


def test_clock_id_is_random_and_validated() -> None:
    ids = {TidClock().clock_id for _ in range(50)}
    assert len(ids) > 1
    assert all(0 <= i <= MAX_CLOCK_ID for i in ids)
    with pytest.raises(ValueError, match="clock_id"):
        TidClock(clock_id=1024)
    with pytest.raises(TypeError):
        TidClock(clock_id="1")  # type: ignore[arg-type]


def test_bad_time_source_is_refused() -> None:
    clock = TidClock(time_us=lambda: 1.5, clock_id=0)  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError):
        clock.next()


def test_real_clock_and_process_default() -> None:
    clock = TidClock()
    tids = [clock.next() for _ in range(2000)]
    assert tids == sorted(set(tids))
    a, b = next_tid(), next_tid()
    assert b > a


def test_wall_clock_stepping_back_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real time source (no injection): an NTP step of an hour back mid-process
    changes nothing for the process-wide clock nor for a default TidClock."""
    wall = time.time_ns()
    clock = TidClock()
    before = [next_tid(), clock.next()]
    monkeypatch.setattr(time, "time_ns", lambda: wall - 3_600_000_000_000)
    after = [(next_tid(), clock.next()) for _ in range(200)]
    process = [before[0], *(a for a, _ in after)]
    own = [before[1], *(b for _, b in after)]
    for tids in (process, own):
        assert tids == sorted(set(tids))
        assert tids[-1].timestamp_us - tids[0].timestamp_us < 1_000_000  # no jump back
    # The next rev after one written before the step is still strictly later.
    assert clock.next_after(before[1]) > own[-1]
    monkeypatch.undo()
    assert next_tid() > process[-1]


def test_thread_safety() -> None:
    clock = TidClock(time_us=lambda: 42, clock_id=5)  # frozen clock: all contention
    results: list[Tid] = []
    lock = threading.Lock()

    def work() -> None:
        local = [clock.next() for _ in range(500)]
        with lock:
            results.extend(local)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 2000


@given(
    times=st.lists(st.integers(min_value=0, max_value=MAX_TIMESTAMP_US // 2), min_size=1),
    revs=st.lists(st.one_of(st.none(), tid_ints.map(lambda n: n >> 2)), min_size=1),
    clock_id=st.integers(min_value=0, max_value=MAX_CLOCK_ID),
)
@settings(max_examples=300)
def test_clock_monotonic_under_arbitrary_time_sequences(
    times: list[int], revs: list[int | None], clock_id: int
) -> None:
    clock = TidClock(time_us=FakeClock(times), clock_id=clock_id)
    previous: Tid | None = None
    for step in range(max(len(times), len(revs))):
        rev = revs[step % len(revs)]
        if rev is None:
            tid = clock.next()
        else:
            floor = Tid.from_int(rev)
            tid = clock.next_after(floor)
            assert tid > floor
        assert tid.clock_id == clock_id
        if previous is not None:
            assert tid > previous
        assert clock.last == tid
        previous = tid

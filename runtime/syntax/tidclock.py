"""TID generation: a per-instance clock that never goes backwards.

A TID is ``timestamp_us << 10 | clock_id``. Each :class:`TidClock` picks a random clock
id once and then emits TIDs whose timestamp part strictly increases: if the wall clock
returns a time at or before the last one used (same microsecond, NTP step back, VM
resume), the clock uses ``last + 1`` instead. With the clock id fixed, TIDs from one
instance are therefore strictly increasing as integers and as strings.

Repos must also keep ``rev`` increasing across restarts, when the in-memory state is
gone and the wall clock may have been set back: :meth:`TidClock.next_after` takes the
last persisted rev and returns a TID greater than both it and anything this clock has
emitted (the reference's ``TID.nextStr(prev)``).

The time source is injectable (``time_us``) so tests can drive the clock backwards.
Thread-safe.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable

from lexforge.runtime.syntax.errors import TidExhaustedError
from lexforge.runtime.syntax.tid import MAX_CLOCK_ID, MAX_TIMESTAMP_US, Tid

__all__ = ["TidClock", "next_tid"]


def _wall_clock_us() -> int:
    return time.time_ns() // 1000


class TidClock:
    """Monotonic TID generator.

    ``time_us`` returns the current time in microseconds since the epoch (default: the
    wall clock). ``clock_id`` defaults to a random value in 0..1023.
    """

    def __init__(
        self,
        *,
        time_us: Callable[[], int] = _wall_clock_us,
        clock_id: int | None = None,
    ) -> None:
        if clock_id is None:
            clock_id = secrets.randbelow(MAX_CLOCK_ID + 1)
        if isinstance(clock_id, bool) or not isinstance(clock_id, int):
            raise TypeError("clock_id must be an int")
        if not 0 <= clock_id <= MAX_CLOCK_ID:
            raise ValueError(f"clock_id must be in 0..{MAX_CLOCK_ID}")
        self._time_us = time_us
        self._clock_id = clock_id
        self._last_ts = -1  # timestamp part of the last TID emitted
        self._lock = threading.Lock()

    @property
    def clock_id(self) -> int:
        """The 10-bit clock id in every TID this clock emits (fixed per instance)."""
        return self._clock_id

    @property
    def last(self) -> Tid | None:
        """The last TID emitted, or None before the first."""
        with self._lock:
            if self._last_ts < 0:
                return None
            return Tid.from_parts(self._last_ts, self._clock_id)

    def next(self) -> Tid:
        """A TID greater than every TID this clock has returned."""
        return self._emit(0)

    def next_after(self, last_rev: str) -> Tid:
        """A TID greater than ``last_rev`` and than every TID this clock has returned.

        Raises :class:`~lexforge.runtime.syntax.errors.InvalidTidError` if ``last_rev`` is
        not a valid TID, and :class:`TidExhaustedError` if no greater TID exists
        (``last_rev`` at the very top of the 53-bit timestamp range).
        """
        floor = Tid.parse(last_rev)
        # A later timestamp beats the floor whatever the clock ids are; the same
        # timestamp does too if our clock id is higher.
        later = 0 if self._clock_id > floor.clock_id else 1
        return self._emit(floor.timestamp_us + later)

    def _emit(self, min_timestamp: int) -> Tid:
        """Emit a TID whose timestamp is at least ``min_timestamp``, above the last one
        emitted, and otherwise the current time."""
        now = self._time_us()
        if isinstance(now, bool) or not isinstance(now, int):
            raise TypeError("time source must return an int (microseconds)")
        with self._lock:
            timestamp = max(now, self._last_ts + 1, min_timestamp)
            if timestamp > MAX_TIMESTAMP_US:
                raise TidExhaustedError(
                    f"timestamp_us={timestamp}",
                    "no greater TID exists (53-bit timestamp exhausted)",
                )
            self._last_ts = timestamp
            return Tid.from_parts(timestamp, self._clock_id)


_default_clock: TidClock | None = None
_default_lock = threading.Lock()


def next_tid() -> Tid:
    """A fresh TID from a process-wide :class:`TidClock` (created on first use)."""
    global _default_clock  # noqa: PLW0603 - one lazily created clock per process
    with _default_lock:
        if _default_clock is None:
            _default_clock = TidClock()
        clock = _default_clock
    return clock.next()

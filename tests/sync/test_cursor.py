"""Cursor tracking (never past an unfinished seq) and the cursor stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.runtime.sync import CursorStoreError
from lexforge.runtime.sync.cursor import (
    CursorTracker,
    FileCursorStore,
    MemoryCursorStore,
    SqliteCursorStore,
)

pytestmark = pytest.mark.anyio


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_committed_never_passes_an_unfinished_seq(data: st.DataObject) -> None:
    start = data.draw(st.none() | st.integers(0, 50))
    gaps = data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=40))
    seqs, seq = [], start or 0
    for gap in gaps:
        seq += gap
        seqs.append(seq)
    order = data.draw(st.permutations(seqs))
    tracker = CursorTracker(start)
    started_upto = 0
    finished: set[int] = set()
    for done in order:
        # start everything up to ``done`` in stream order (a reader runs ahead of workers)
        while started_upto < len(seqs) and seqs[started_upto] <= done:
            tracker.start(seqs[started_upto])
            started_upto += 1
        tracker.finish(done)
        finished.add(done)
        unfinished = [s for s in seqs[:started_upto] if s not in finished]
        committed = tracker.committed
        if unfinished:
            assert committed is None or committed < min(unfinished)
        # and it is as far as allowed: the largest seq below the first unfinished one
        below = [s for s in seqs[:started_upto] if not unfinished or s < min(unfinished)]
        assert committed == (max(below) if below else start)
    assert tracker.committed == seqs[-1]
    assert tracker.in_flight == 0


def test_tracker_rejects_misuse() -> None:
    tracker = CursorTracker(10)
    with pytest.raises(ValueError, match="after"):
        tracker.start(10)
    tracker.start(11)
    with pytest.raises(ValueError, match="not in flight"):
        tracker.finish(12)
    assert tracker.finish(11)
    with pytest.raises(ValueError, match="not in flight"):
        tracker.finish(11)


async def test_memory_store() -> None:
    store = MemoryCursorStore()
    assert await store.load() is None
    await store.save(5)
    await store.save(9)
    assert await store.load() == 9
    assert store.history == [5, 9]


async def test_file_store(tmp_path: Path) -> None:
    path = tmp_path / "cursor"
    store = FileCursorStore(path)
    assert await store.load() is None
    await store.save(123)
    assert await FileCursorStore(path).load() == 123
    path.write_text("12x")
    with pytest.raises(CursorStoreError):
        await store.load()
    with pytest.raises(CursorStoreError):
        await store.save(-1)


async def test_sqlite_store_persists_named_cursors(tmp_path: Path) -> None:
    db = tmp_path / "cursors.sqlite"
    a = SqliteCursorStore(db, "relay-a")
    b = SqliteCursorStore(db, "relay-b")
    assert await a.load() is None
    await a.save(10)
    await a.save(42)
    await b.save(7)
    a.close()
    b.close()
    again = SqliteCursorStore(db, "relay-a")
    assert await again.load() == 42
    assert await SqliteCursorStore(db, "relay-b").load() == 7
    with pytest.raises(CursorStoreError):
        await again.save(True)  # type: ignore[arg-type]
    again.close()


def test_sqlite_store_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CursorStoreError):
        SqliteCursorStore(bad)

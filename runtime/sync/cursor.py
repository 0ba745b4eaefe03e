"""The firehose cursor: which seq has been *processed*, and where that is persisted.

Consumers must resume from the last processed seq, not the last received one
(spec/sync.md §3): with several workers, events finish out of order, so
:class:`CursorTracker` only advances over a contiguous run of finished seqs and never
past one still in flight. Stores (:class:`CursorStore`) persist that value: in memory,
in a small file replaced atomically, or in SQLite (real durability, several named
cursors per file). Store calls are async; file and SQLite I/O runs in a worker thread so
the event loop never blocks on disk.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections import deque
from pathlib import Path
from typing import Protocol

from lexforge.runtime.sync.errors import CursorStoreError

__all__ = [
    "CursorStore",
    "CursorTracker",
    "FileCursorStore",
    "MemoryCursorStore",
    "SqliteCursorStore",
]


class CursorStore(Protocol):
    """Persists the last *processed* seq of one stream."""

    async def load(self) -> int | None:
        """The stored seq, or None when nothing was stored yet."""
        ...

    async def save(self, seq: int) -> None:
        """Store ``seq`` (the consumer only ever saves increasing values)."""
        ...


class MemoryCursorStore:
    """Keeps the cursor in memory (tests, or a consumer that always starts live)."""

    def __init__(self, seq: int | None = None) -> None:
        self.seq = seq
        #: Every value saved, in order (lets tests check the cursor never went back).
        self.history: list[int] = []

    async def load(self) -> int | None:
        return self.seq

    async def save(self, seq: int) -> None:
        self.seq = seq
        self.history.append(seq)


def _check_seq(seq: object) -> int:
    if type(seq) is not int or seq < 0:
        raise CursorStoreError(f"cursor must be a non-negative integer, got {seq!r:.40}")
    return seq


class FileCursorStore:
    """Keeps the cursor as decimal text in a file, replaced atomically on each save."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def _load(self) -> int | None:
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise CursorStoreError(f"cannot read cursor file {self.path}: {exc}") from exc
        if not text.isascii() or not text.isdigit():
            raise CursorStoreError(f"cursor file {self.path} does not hold a number")
        return int(text)

    def _save(self, seq: int) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            with open(tmp, "w", encoding="ascii") as f:
                f.write(str(seq))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            raise CursorStoreError(f"cannot write cursor file {self.path}: {exc}") from exc

    async def load(self) -> int | None:
        return await asyncio.to_thread(self._load)

    async def save(self, seq: int) -> None:
        await asyncio.to_thread(self._save, _check_seq(seq))


class SqliteCursorStore:
    """Keeps named cursors in a SQLite file (WAL; one connection; writes in a thread).

    ``name`` tells streams apart (e.g. one per upstream host: relays have their own seq
    spaces, so a cursor is only meaningful for the host it came from).
    """

    def __init__(self, path: str | os.PathLike[str], name: str = "default") -> None:
        self.path = str(path)
        self.name = name
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS firehose_cursor "
                "(name TEXT PRIMARY KEY, seq INTEGER NOT NULL)"
            )
        except sqlite3.Error as exc:
            raise CursorStoreError(f"cannot open cursor database {self.path}: {exc}") from exc

    def _load(self) -> int | None:
        with self._lock:
            try:
                row = self._db.execute(
                    "SELECT seq FROM firehose_cursor WHERE name = ?", (self.name,)
                ).fetchone()
            except sqlite3.Error as exc:
                raise CursorStoreError(f"cannot read cursor: {exc}") from exc
        return None if row is None else _check_seq(row[0])

    def _save(self, seq: int) -> None:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute(
                    "INSERT INTO firehose_cursor (name, seq) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
                    (self.name, seq),
                )
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise CursorStoreError(f"cannot save cursor: {exc}") from exc

    async def load(self) -> int | None:
        return await asyncio.to_thread(self._load)

    async def save(self, seq: int) -> None:
        await asyncio.to_thread(self._save, _check_seq(seq))

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()


class CursorTracker:
    """The highest seq such that it and every seq started before it have finished.

    Seqs are :meth:`start`-ed in stream order (strictly increasing) and :meth:`finish`-ed
    in any order; :attr:`committed` only moves over a contiguous prefix of finished
    seqs, so persisting it never skips an event that is still in flight.
    """

    def __init__(self, committed: int | None = None) -> None:
        self.committed = committed
        self._started: deque[int] = deque()
        self._finished: set[int] = set()
        self._pending: set[int] = set()
        self._last_started = committed

    @property
    def last_started(self) -> int | None:
        """The newest seq started (what a reconnect resumes after within one run)."""
        return self._last_started

    @property
    def in_flight(self) -> int:
        """How many started seqs are not yet committed."""
        return len(self._started)

    def start(self, seq: int) -> None:
        """Record that ``seq`` was handed out; seqs must strictly increase."""
        if self._last_started is not None and seq <= self._last_started:
            raise ValueError(f"seq {seq} started after {self._last_started}")
        self._started.append(seq)
        self._pending.add(seq)
        self._last_started = seq

    def finish(self, seq: int) -> bool:
        """Record that ``seq`` was processed; True if :attr:`committed` advanced."""
        if seq not in self._pending:
            raise ValueError(f"seq {seq} is not in flight")
        self._pending.discard(seq)
        self._finished.add(seq)
        advanced = False
        started, finished = self._started, self._finished
        while started and started[0] in finished:
            head = started.popleft()
            finished.discard(head)
            self.committed = head
            advanced = True
        return advanced

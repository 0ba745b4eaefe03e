"""Block stores for one repository: content-addressed blocks plus the commit history.

A store holds blocks (``CID -> bytes``) and the list of commits ``rev -> commit CID``
whose last entry is the head. :meth:`BlockStore.apply_commit` writes a commit's new
blocks and moves the head in one atomic step, after checking the head is still the one
the write started from (so concurrent writers cannot both win).

:class:`MemoryBlockStore` is for tests and tools; :class:`SqliteBlockStore` keeps one
SQLite file in WAL mode and wraps every commit in ``BEGIN IMMEDIATE`` ... ``COMMIT``, so
a crash at any point leaves either the whole commit or none of it.
"""

from __future__ import annotations

import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path

from lexforge.runtime.data import CID
from lexforge.runtime.repo.errors import SwapError

__all__ = ["BlockStore", "MemoryBlockStore", "SqliteBlockStore"]


class BlockStore(ABC):
    """Blocks and commit history of one repository."""

    @abstractmethod
    def get(self, cid: CID) -> bytes | None:
        """The block's bytes, or None."""

    def has(self, cid: CID) -> bool:
        return self.get(cid) is not None

    @abstractmethod
    def head(self) -> tuple[CID, str] | None:
        """``(commit_cid, rev)`` of the latest commit, or None for a new store."""

    @abstractmethod
    def commit_at(self, rev: str) -> CID | None:
        """The commit CID recorded for ``rev``, or None."""

    @abstractmethod
    def apply_commit(
        self,
        blocks: Mapping[CID, bytes],
        *,
        commit: CID,
        rev: str,
        expected_head: CID | None,
    ) -> None:
        """Store ``blocks`` and make ``commit`` the head, atomically.

        Raises :class:`SwapError` (and stores nothing) if the head is not
        ``expected_head``.
        """

    @abstractmethod
    def close(self) -> None:
        """Release resources."""


class MemoryBlockStore(BlockStore):
    """An in-memory store (thread-safe)."""

    def __init__(self) -> None:
        self.blocks: dict[CID, bytes] = {}
        self._commits: dict[str, CID] = {}
        self._head: tuple[CID, str] | None = None
        self._lock = threading.Lock()

    def get(self, cid: CID) -> bytes | None:
        return self.blocks.get(cid)

    def close(self) -> None:
        """Nothing to release."""

    def head(self) -> tuple[CID, str] | None:
        return self._head

    def commit_at(self, rev: str) -> CID | None:
        return self._commits.get(rev)

    def apply_commit(
        self,
        blocks: Mapping[CID, bytes],
        *,
        commit: CID,
        rev: str,
        expected_head: CID | None,
    ) -> None:
        with self._lock:
            current = None if self._head is None else self._head[0]
            if current != expected_head:
                raise SwapError(f"repo head is {current}, expected {expected_head}")
            self.blocks.update(blocks)
            self._commits[rev] = commit
            self._head = (commit, rev)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks (cid BLOB PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS commits (rev TEXT PRIMARY KEY, cid BLOB NOT NULL) WITHOUT ROWID;
"""


class SqliteBlockStore(BlockStore):
    """One SQLite file (WAL, ``synchronous=NORMAL``), one writer connection.

    Survives process crashes with every acknowledged commit intact; a commit interrupted
    at any point is rolled back as a whole when the database is next opened.
    """

    def __init__(self, path: str | Path, *, synchronous: str = "NORMAL") -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError("synchronous must be NORMAL or FULL")
        self.path = Path(path)
        self._conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=5.0
        )
        self._lock = threading.Lock()
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(f"PRAGMA synchronous={synchronous}")
        self._conn.executescript(_SCHEMA)

    def get(self, cid: CID) -> bytes | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT data FROM blocks WHERE cid = ?", (cid.bytes,)
            ).fetchone()
        return None if row is None else bytes(row[0])

    def head(self) -> tuple[CID, str] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT cid, rev FROM commits ORDER BY rev DESC LIMIT 1"
            ).fetchone()
        return None if row is None else (CID.from_bytes(bytes(row[0])), str(row[1]))

    def commit_at(self, rev: str) -> CID | None:
        with self._lock:
            row = self._conn.execute("SELECT cid FROM commits WHERE rev = ?", (rev,)).fetchone()
        return None if row is None else CID.from_bytes(bytes(row[0]))

    def _before_commit(self) -> None:
        """Hook run inside the transaction just before COMMIT (crash tests override it)."""

    def apply_commit(
        self,
        blocks: Mapping[CID, bytes],
        *,
        commit: CID,
        rev: str,
        expected_head: CID | None,
    ) -> None:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT cid FROM commits ORDER BY rev DESC LIMIT 1").fetchone()
                current = None if row is None else CID.from_bytes(bytes(row[0]))
                if current != expected_head:
                    raise SwapError(f"repo head is {current}, expected {expected_head}")
                conn.executemany(
                    "INSERT OR IGNORE INTO blocks (cid, data) VALUES (?, ?)",
                    [(cid.bytes, data) for cid, data in blocks.items()],
                )
                conn.execute("INSERT INTO commits (rev, cid) VALUES (?, ?)", (rev, commit.bytes))
                self._before_commit()
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()

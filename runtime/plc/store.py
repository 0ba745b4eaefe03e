"""SQLite storage for the local PLC directory.

One table of accepted operations, in acceptance order (``seq``). An operation is stored
as the JSON it was accepted as (re-serialised from the strictly parsed form, so no
unknown fields), with its CID, directory timestamp and ``nullified`` flag.

Writes run in ``BEGIN IMMEDIATE`` transactions (no deferred-to-write upgrade that could
fail with ``SQLITE_BUSY_SNAPSHOT``), in WAL mode, through one connection guarded by a
lock: the validation of a submitted operation reads the DID's current log and writes the
new row atomically, so two concurrent submissions cannot both build on the same ``prev``.
Timestamps have millisecond resolution and strictly increase per DID (if the clock steps
back, the new op gets last + 1 ms), because nullification windows and audit-log checks
depend on their order.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lexforge.runtime.data import CID
from lexforge.runtime.plc.errors import MisorderedOperationError, RateLimitedError
from lexforge.runtime.plc.log import (
    AuditEntry,
    IndexedOperation,
    assure_valid_next_op,
    format_timestamp,
)
from lexforge.runtime.plc.operations import Operation, PlcTombstone, parse_operation

__all__ = ["DEFAULT_RATE_LIMITS", "PlcStore", "RateLimit", "StoredOperation"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS operations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    did TEXT NOT NULL,
    cid TEXT NOT NULL,
    operation TEXT NOT NULL,
    nullified INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL,
    UNIQUE (did, cid)
);
CREATE INDEX IF NOT EXISTS operations_did ON operations (did, seq);
CREATE INDEX IF NOT EXISTS operations_created ON operations (created_at_ms, seq);
"""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``count`` operations per DID within ``window``."""

    count: int
    window: timedelta


#: The reference directory's per-DID limits: 10 per hour, 30 per day, 100 per week.
DEFAULT_RATE_LIMITS = (
    RateLimit(10, timedelta(hours=1)),
    RateLimit(30, timedelta(days=1)),
    RateLimit(100, timedelta(days=7)),
)


@dataclass(frozen=True, slots=True)
class StoredOperation:
    """One accepted operation and its directory metadata."""

    seq: int
    did: str
    cid: str
    operation: Operation
    nullified: bool
    created_at: datetime

    def audit_entry(self) -> AuditEntry:
        """The ``/log/audit`` entry of this operation."""
        return AuditEntry(
            self.did, self.operation, CID.parse(self.cid), self.nullified, self.created_at
        )

    def export_json(self, *, with_seq: bool) -> dict[str, Any]:
        """An ``/export`` line: the seq form (v0.3.0) or the legacy form."""
        if with_seq:
            return {
                "type": "indexed_op",
                "seq": self.seq,
                "did": self.did,
                "operation": self.operation.to_json(),
                "cid": self.cid,
                "createdAt": format_timestamp(self.created_at),
            }
        return {
            "did": self.did,
            "operation": self.operation.to_json(),
            "cid": self.cid,
            "nullified": self.nullified,
            "createdAt": format_timestamp(self.created_at),
        }


def _ms(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return delta // timedelta(milliseconds=1)


def _from_ms(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


class PlcStore:
    """The directory's operation log in a SQLite file (see the module docstring)."""

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], datetime] | None = None,
        rate_limits: tuple[RateLimit, ...] = DEFAULT_RATE_LIMITS,
    ) -> None:
        self.path = str(path)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._rate_limits = rate_limits
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=5.0
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @staticmethod
    def _row(row: tuple[Any, ...]) -> StoredOperation:
        seq, did, cid, op_json, nullified, created_ms = row
        return StoredOperation(
            seq=seq,
            did=did,
            cid=cid,
            operation=parse_operation(json.loads(op_json)),
            nullified=bool(nullified),
            created_at=_from_ms(created_ms),
        )

    def _query(self, sql: str, args: tuple[Any, ...]) -> list[StoredOperation]:
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [self._row(r) for r in rows]

    _COLUMNS = "seq, did, cid, operation, nullified, created_at_ms"

    def operations(self, did: str, *, include_nullified: bool = False) -> list[StoredOperation]:
        """The DID's operations in acceptance order (valid chain unless asked)."""
        where = "did = ?" if include_nullified else "did = ? AND nullified = 0"
        return self._query(
            f"SELECT {self._COLUMNS} FROM operations WHERE {where} ORDER BY seq", (did,)
        )

    def last_operation(self, did: str) -> StoredOperation | None:
        """The newest operation of the valid chain (possibly a tombstone)."""
        rows = self._query(
            f"SELECT {self._COLUMNS} FROM operations WHERE did = ? AND nullified = 0 "
            "ORDER BY seq DESC LIMIT 1",
            (did,),
        )
        return rows[0] if rows else None

    def export_after_seq(self, after: int, count: int) -> list[StoredOperation]:
        """Operations with ``seq > after`` in seq order (v0.3.0 export)."""
        return self._query(
            f"SELECT {self._COLUMNS} FROM operations WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, count),
        )

    def export_after_time(self, after: datetime | None, count: int) -> list[StoredOperation]:
        """Operations created after ``after`` in createdAt order (legacy export)."""
        since = -1 if after is None else _ms(after)
        return self._query(
            f"SELECT {self._COLUMNS} FROM operations WHERE created_at_ms > ? "
            "ORDER BY created_at_ms, seq LIMIT ?",
            (since, count),
        )

    def is_tombstoned(self, did: str) -> bool:
        """True if the DID's valid chain ends with a tombstone."""
        last = self.last_operation(did)
        return last is not None and isinstance(last.operation, PlcTombstone)

    def submit(self, did: str, op: Operation) -> StoredOperation:
        """Validate ``op`` against the DID's log and append it, atomically.

        Raises :class:`InvalidOperationError` subclasses and :class:`RateLimitedError`.
        """
        with self._transaction() as conn:
            rows = conn.execute(
                f"SELECT {self._COLUMNS} FROM operations WHERE did = ? ORDER BY seq", (did,)
            ).fetchall()
            history = [self._row(r) for r in rows]
            now_ms = _ms(self._clock())
            if history:
                now_ms = max(now_ms, max(_ms(h.created_at) for h in history) + 1)
            created_at = _from_ms(now_ms)
            self._check_rate(history, created_at)
            chain = [
                IndexedOperation(h.operation, CID.parse(h.cid), h.created_at)
                for h in history
                if not h.nullified
            ]
            result = assure_valid_next_op(did, chain, op, created_at)
            for gone in result.nullified:
                conn.execute(
                    "UPDATE operations SET nullified = 1 WHERE did = ? AND cid = ?",
                    (did, str(gone.cid)),
                )
            cid = str(op.cid())
            try:
                cursor = conn.execute(
                    "INSERT INTO operations (did, cid, operation, nullified, created_at_ms) "
                    "VALUES (?, ?, ?, 0, ?)",
                    (did, cid, json.dumps(op.to_json(), separators=(",", ":")), now_ms),
                )
            except sqlite3.IntegrityError:
                raise MisorderedOperationError(f"operation {cid} was already submitted") from None
            seq = cursor.lastrowid
            assert seq is not None
            return StoredOperation(seq, did, cid, op, False, created_at)

    def _check_rate(self, history: list[StoredOperation], now: datetime) -> None:
        for limit in self._rate_limits:
            recent = sum(1 for h in history if h.created_at > now - limit.window)
            if recent >= limit.count:
                raise RateLimitedError(
                    f"too many operations: {recent} within {limit.window} (maximum {limit.count})"
                )

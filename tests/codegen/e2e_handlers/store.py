"""An in-memory record and label store for the end-to-end handlers.

Not a handler module (no ``NSID``): the app loader skips it. The test puts one instance
on ``app.state.store``; handlers reach it as ``ctx.state.store``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lexforge.runtime.data import CID, encode
from lexforge.runtime.syntax import TidClock

__all__ = ["MemoryStore", "StoredRecord"]


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One record: its key, CID and data-model value."""

    repo: str
    collection: str
    rkey: str
    cid: str
    value: dict[str, Any]

    @property
    def uri(self) -> str:
        return f"at://{self.repo}/{self.collection}/{self.rkey}"


@dataclass(slots=True)
class MemoryStore:
    """Records by (repo, collection, rkey), plus a sequenced list of label events."""

    records: dict[tuple[str, str, str], StoredRecord] = field(default_factory=dict)
    labels: list[dict[str, Any]] = field(default_factory=list)
    clock: TidClock = field(default_factory=TidClock)

    def put(
        self, repo: str, collection: str, rkey: str | None, value: dict[str, Any]
    ) -> StoredRecord:
        key = rkey if rkey is not None else str(self.clock.next())
        cid = str(CID.for_cbor(encode(value)))
        stored = StoredRecord(repo, collection, key, cid, dict(value))
        self.records[(repo, collection, key)] = stored
        return stored

    def get(self, repo: str, collection: str, rkey: str) -> StoredRecord | None:
        return self.records.get((repo, collection, rkey))

    def list(self, repo: str, collection: str) -> list[StoredRecord]:
        found = [r for (d, c, _), r in self.records.items() if (d, c) == (repo, collection)]
        return sorted(found, key=lambda r: r.rkey)

"""Validate did:plc operation logs and proposed next operations.

Rules (did:plc spec v0.3.0, reference ``lib/src/data.ts``):

- The genesis operation (``plc_operation`` with ``prev: null`` or legacy ``create``) is
  signed by one of its *own* rotation keys, and the DID is the hash of it.
- Every later operation names an earlier operation by CID in ``prev`` and is signed by a
  rotation key of *that* operation. Nothing may follow a tombstone, and only the first
  operation may be a genesis.
- **Nullification**: an operation whose ``prev`` is not the latest operation forks the
  log and nullifies everything after ``prev``. It must be signed by a key that comes
  strictly *before* (higher priority than) the key that signed the first nullified
  operation, in ``prev``'s rotation-key list, and arrive at most 72 hours after that
  operation (exactly 72 hours is still in time).
- Directory timestamps (``createdAt``) strictly increase along a DID's log.

:func:`assure_valid_next_op` is what a directory runs on submission;
:func:`validate_operation_log` checks a plain chain (``/<did>/log``);
:func:`validate_audit_log` replays a full audit log (``/<did>/log/audit``), including the
nullified forks, and checks the ``cid``/``nullified``/``createdAt`` metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lexforge.runtime.data import CID, DataModelError
from lexforge.runtime.plc.document import PlcState
from lexforge.runtime.plc.errors import (
    GenesisMismatchError,
    InvalidAuditLogError,
    InvalidOperationError,
    InvalidSignatureError,
    LateRecoveryError,
    MisorderedOperationError,
)
from lexforge.runtime.plc.operations import (
    RECOVERY_WINDOW,
    LegacyCreateOperation,
    Operation,
    PlcTombstone,
    did_for_genesis,
    normalize,
    parse_operation,
)

__all__ = [
    "AuditEntry",
    "IndexedOperation",
    "NextOpResult",
    "assure_valid_genesis",
    "assure_valid_next_op",
    "format_timestamp",
    "parse_audit_log",
    "parse_timestamp",
    "state_after",
    "validate_audit_log",
    "validate_operation_log",
]


def format_timestamp(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.sssZ`` (UTC, milliseconds), the directory's format."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(text: object) -> datetime:
    """Parse an ISO 8601 timestamp with a time zone; raises :class:`InvalidAuditLogError`."""
    if not isinstance(text, str) or len(text) > 64:
        raise InvalidAuditLogError("createdAt must be an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidAuditLogError(f"createdAt is not ISO 8601: {text!r}") from None
    if moment.tzinfo is None:
        raise InvalidAuditLogError(f"createdAt has no time zone: {text!r}")
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class IndexedOperation:
    """An accepted operation with the metadata a directory keeps."""

    operation: Operation
    cid: CID
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NextOpResult:
    """What accepting a proposed operation does to the log."""

    #: Index of ``prev`` in the chain (None for a genesis operation).
    prev_index: int | None
    #: Operations the proposal nullifies (the tail of the chain after ``prev``).
    nullified: tuple[IndexedOperation, ...]
    #: The rotation key (did:key) that signed the proposal.
    signer: str


def assure_valid_genesis(did: str, op: Operation) -> str:
    """Check ``op`` as the genesis operation of ``did``; returns the signing key."""
    if isinstance(op, PlcTombstone):
        raise MisorderedOperationError("a tombstone cannot be the first operation")
    if op.prev is not None:
        raise MisorderedOperationError("the genesis operation must have prev: null")
    signer = op.require_signer(normalize(op).rotation_keys, "rotation keys of the genesis op")
    expected = did_for_genesis(op)
    if expected != did:
        raise GenesisMismatchError(f"genesis operation hashes to {expected}, not {did}")
    return signer


def state_after(did: str, op: Operation) -> PlcState | None:
    """The identity state after ``op`` (None after a tombstone)."""
    if isinstance(op, PlcTombstone):
        return None
    return PlcState.from_operation(did, op)


def _rotation_keys(op: Operation) -> tuple[str, ...]:
    if isinstance(op, PlcTombstone):
        raise MisorderedOperationError("the DID is tombstoned: no operation may follow")
    return normalize(op).rotation_keys


def assure_valid_next_op(
    did: str,
    chain: Sequence[IndexedOperation],
    proposed: Operation,
    created_at: datetime,
) -> NextOpResult:
    """Check that ``proposed`` may be appended to ``chain`` (the DID's currently valid,
    non-nullified operations, oldest first) at time ``created_at``.

    Raises an :class:`InvalidOperationError` subclass; returns which operations the
    proposal nullifies.
    """
    if not chain:
        return NextOpResult(None, (), assure_valid_genesis(did, proposed))
    if proposed.prev is None:
        raise MisorderedOperationError(f"{did} already exists: only updates (with prev) allowed")
    if created_at <= chain[-1].created_at:
        raise MisorderedOperationError("operation timestamps must strictly increase")
    try:
        prev_cid = CID.parse(proposed.prev)
    except DataModelError as exc:  # pragma: no cover - parse_operation checked it
        raise InvalidOperationError(f"prev is not a valid CID: {exc}") from None
    index = next((i for i, entry in enumerate(chain) if entry.cid == prev_cid), None)
    if index is None:
        raise MisorderedOperationError(
            f"prev {proposed.prev} is not a valid operation of {did} (unknown or nullified)"
        )
    keys = _rotation_keys(chain[index].operation)
    nullified = tuple(chain[index + 1 :])
    if not nullified:
        return NextOpResult(index, (), proposed.require_signer(keys))
    first = nullified[0]
    disputed = first.operation.signer(keys)
    if disputed is None:
        raise InvalidSignatureError(
            f"operation {first.cid} in the log is not signed by a rotation key of its prev"
        )
    stronger = keys[: keys.index(disputed)]
    signer = proposed.signer(stronger)
    if signer is None:
        raise InvalidSignatureError(
            "a fork must be signed by a rotation key of higher priority than the key "
            f"that signed the operation it nullifies ({first.cid})"
        )
    elapsed = created_at - first.created_at
    if elapsed > RECOVERY_WINDOW:
        raise LateRecoveryError(
            f"recovery window passed: {elapsed} since {first.cid} (limit {RECOVERY_WINDOW})"
        )
    return NextOpResult(index, nullified, signer)


def validate_operation_log(did: str, ops: Sequence[Operation]) -> PlcState | None:
    """Validate a linear log (no nullified operations); returns the final state, or None
    if the DID is tombstoned. Timestamp rules need :func:`validate_audit_log`."""
    if not ops:
        raise MisorderedOperationError(f"empty operation log for {did}")
    assure_valid_genesis(did, ops[0])
    prev = ops[0]
    for position, op in enumerate(ops[1:], start=1):
        if isinstance(op, LegacyCreateOperation) or op.prev is None:
            raise MisorderedOperationError(f"operation {position} is a second genesis")
        if CID.parse(op.prev) != prev.cid():
            raise MisorderedOperationError(f"operation {position}: prev does not match")
        op.require_signer(_rotation_keys(prev))
        prev = op
    return state_after(did, prev)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of ``/<did>/log/audit``."""

    did: str
    operation: Operation
    cid: CID
    nullified: bool
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "did": self.did,
            "operation": self.operation.to_json(),
            "cid": str(self.cid),
            "nullified": self.nullified,
            "createdAt": format_timestamp(self.created_at),
        }


def parse_audit_log(obj: object) -> list[AuditEntry]:
    """Parse ``/<did>/log/audit`` JSON; raises :class:`InvalidOperationError` subclasses."""
    if not isinstance(obj, list):
        raise InvalidAuditLogError("an audit log is a JSON array")
    entries = []
    for i, raw in enumerate(obj):
        if not isinstance(raw, dict):
            raise InvalidAuditLogError(f"audit entry {i} is not an object")
        missing = {"did", "operation", "cid", "nullified", "createdAt"} - set(raw)
        if missing:
            raise InvalidAuditLogError(f"audit entry {i} lacks {sorted(missing)}")
        if not isinstance(raw["did"], str) or not isinstance(raw["nullified"], bool):
            raise InvalidAuditLogError(f"audit entry {i}: bad did or nullified")
        try:
            cid = CID.parse(raw["cid"]) if isinstance(raw["cid"], str) else None
        except DataModelError:
            cid = None
        if cid is None:
            raise InvalidAuditLogError(f"audit entry {i}: cid is not a CID string")
        entries.append(
            AuditEntry(
                did=raw["did"],
                operation=parse_operation(raw["operation"]),
                cid=cid,
                nullified=raw["nullified"],
                created_at=parse_timestamp(raw["createdAt"]),
            )
        )
    return entries


def validate_audit_log(did: str, entries: Sequence[AuditEntry]) -> PlcState | None:
    """Replay a full audit log: every operation, nullification and timestamp.

    Returns the final state (None if tombstoned). Raises :class:`InvalidOperationError`
    subclasses, :class:`InvalidAuditLogError` when the metadata disagrees with the replay.
    """
    if not entries:
        raise MisorderedOperationError(f"empty audit log for {did}")
    chain: list[IndexedOperation] = []
    all_nullified: set[CID] = set()
    last_time: datetime | None = None
    for i, entry in enumerate(entries):
        if entry.did != did:
            raise InvalidAuditLogError(f"audit entry {i} is for {entry.did[:64]}, not {did}")
        if entry.operation.cid() != entry.cid:
            raise InvalidAuditLogError(f"audit entry {i}: cid does not match the operation")
        if last_time is not None and entry.created_at <= last_time:
            raise InvalidAuditLogError(f"audit entry {i}: createdAt does not increase")
        last_time = entry.created_at
        try:
            result = assure_valid_next_op(did, chain, entry.operation, entry.created_at)
        except InvalidOperationError as exc:
            raise type(exc)(f"audit entry {i}: {exc}") from exc
        if result.prev_index is not None:
            del chain[result.prev_index + 1 :]
        all_nullified.update(n.cid for n in result.nullified)
        chain.append(IndexedOperation(entry.operation, entry.cid, entry.created_at))
    for i, entry in enumerate(entries):
        if entry.nullified != (entry.cid in all_nullified):
            raise InvalidAuditLogError(
                f"audit entry {i} says nullified={entry.nullified}, replay says otherwise"
            )
    return state_after(did, chain[-1].operation)

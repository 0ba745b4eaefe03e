"""The ``com.atproto.sync.subscribeRepos`` events as typed, frozen, slotted dataclasses.

The union is exactly ``#commit``, ``#sync``, ``#identity``, ``#account`` and ``#info``
(sync 1.1; spec/sync.md §2). These types live in the runtime rather than in
``lexforge.generated`` because the runtime core must not import generated code, and
because the firehose is hot: plain dataclasses decode several times faster than
validated models.

:func:`event_from_body` checks a frame body strictly against the shape its ``t``
requires (required keys present, value types, DID/TID/datetime syntax, op shapes, the
2,000,000-byte slice and 200-op caps) and raises :class:`~.errors.EventShapeError`;
unknown extra fields are ignored, as the spec asks. :func:`event_to_body` is the inverse
and always writes the deprecated-but-required fields (``rebase: false``,
``tooBig: false``, ``blobs: []``), ``since`` (null on a first commit) and ``prevData``
when known.

Commit ops reuse :class:`lexforge.runtime.repo.RecordOp` (the repo engineer's type), so an
event's ops feed commit verification (op inversion) without conversion.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeAlias

from lexforge.runtime.car import CarError, CarRootsError, read_car
from lexforge.runtime.data import CID
from lexforge.runtime.repo.carslice import read_slice
from lexforge.runtime.repo.fastsyntax import fast_is_did, fast_is_tid
from lexforge.runtime.repo.keys import is_valid_key
from lexforge.runtime.repo.ops import RecordOp
from lexforge.runtime.sync.errors import EventShapeError, FrameLimitError
from lexforge.runtime.syntax import (
    INVALID_HANDLE,
    is_valid_datetime,
    is_valid_handle,
)

__all__ = [
    "EVENT_TYPES",
    "MAX_COMMIT_BLOCKS_BYTES",
    "MAX_OPS",
    "MAX_SEQ",
    "MAX_SYNC_BLOCKS_BYTES",
    "NSID",
    "AccountEvent",
    "CommitEvent",
    "Event",
    "IdentityEvent",
    "InfoEvent",
    "RepoEvent",
    "SyncEvent",
    "event_from_body",
    "event_to_body",
    "fast_is_did",
    "fast_is_tid",
    "short_type",
]

#: The subscription these events belong to (``t`` may also be ``NSID + "#commit"``).
NSID = "com.atproto.sync.subscribeRepos"
#: ``#commit`` ``blocks`` cap (sync 1.1; was 1,000,000 before).
MAX_COMMIT_BLOCKS_BYTES = 2_000_000
#: ``#sync`` ``blocks`` cap: the slice holds only the signed commit block.
MAX_SYNC_BLOCKS_BYTES = 10_000
#: Most ops one ``#commit`` may carry.
MAX_OPS = 200
#: ``seq`` is a positive integer below 2^53 (it must survive JSON/JavaScript numbers).
MAX_SEQ = 2**53 - 1

_ACTIONS = frozenset(("create", "update", "delete"))


@dataclass(frozen=True, slots=True)
class CommitEvent:
    """``#commit``: one signed commit and the CAR slice that proves its ops.

    ``blocks`` stays as bytes (a CAR); :meth:`read_blocks` parses and hash-checks it.
    ``prev_data`` is the previous commit's MST root (sync 1.1; None on a first commit or
    from a pre-1.1 producer). ``rebase``/``too_big``/``blobs`` are deprecated and kept
    only so re-encoding is faithful.
    """

    TYPE: ClassVar[str] = "#commit"

    seq: int
    repo: str
    commit: CID
    rev: str
    since: str | None
    blocks: bytes
    ops: tuple[RecordOp, ...]
    time: str
    prev_data: CID | None = None
    rebase: bool = False
    too_big: bool = False
    blobs: tuple[CID, ...] = ()

    @property
    def did(self) -> str:
        """The account (``repo`` on the wire), named like the other events' field."""
        return self.repo

    def read_blocks(self) -> dict[CID, bytes]:
        """The slice's blocks, each hash-checked; its first root must be ``commit``."""
        return _read_slice(self.blocks, self.commit, self.TYPE)


@dataclass(frozen=True, slots=True)
class SyncEvent:
    """``#sync``: "the repo is now at this commit" (a CAR holding only the commit)."""

    TYPE: ClassVar[str] = "#sync"

    seq: int
    did: str
    blocks: bytes
    rev: str
    time: str

    def commit_cid(self) -> CID:
        """The CID of the commit the slice asserts (its single root)."""
        try:
            roots, _ = read_car(self.blocks)
        except CarError as exc:
            raise EventShapeError(f"#sync blocks: {exc}", t=self.TYPE, field="blocks") from None
        if not roots:
            raise EventShapeError("#sync blocks has no root", t=self.TYPE, field="blocks")
        return roots[0]

    def read_blocks(self) -> dict[CID, bytes]:
        """The slice's blocks (hash-checked); its root block must be present."""
        return _read_slice(self.blocks, self.commit_cid(), self.TYPE)


@dataclass(frozen=True, slots=True)
class IdentityEvent:
    """``#identity``: the DID document and/or handle *may* have changed; re-resolve.

    ``handle`` is a hint, never verified (may be ``handle.invalid``).
    """

    TYPE: ClassVar[str] = "#identity"

    seq: int
    did: str
    time: str
    handle: str | None = None


@dataclass(frozen=True, slots=True)
class AccountEvent:
    """``#account``: hosting status at the emitting service (``active`` and why not)."""

    TYPE: ClassVar[str] = "#account"

    seq: int
    did: str
    time: str
    active: bool
    status: str | None = None


@dataclass(frozen=True, slots=True)
class InfoEvent:
    """``#info``: an unsequenced notice, e.g. ``OutdatedCursor``."""

    TYPE: ClassVar[str] = "#info"

    name: str
    message: str | None = None


#: Sequenced events about one account (they carry ``seq`` and ``did``).
RepoEvent: TypeAlias = CommitEvent | SyncEvent | IdentityEvent | AccountEvent
#: Every event type of the stream.
Event: TypeAlias = RepoEvent | InfoEvent

#: ``t`` -> class, for the short form (``#commit``).
EVENT_TYPES: dict[str, type[Event]] = {
    cls.TYPE: cls for cls in (CommitEvent, SyncEvent, IdentityEvent, AccountEvent, InfoEvent)
}


def _read_slice(blocks: bytes, root: CID, t: str) -> dict[CID, bytes]:
    first: CID | None
    try:
        try:
            first, found = read_slice(blocks)  # the usual single-root slice, fast
        except CarRootsError:  # several roots: tolerated here, the first must be ours
            roots, found = read_car(blocks)
            first = roots[0] if roots else None
    except CarError as exc:
        raise EventShapeError(f"{t} blocks: {exc}", t=t, field="blocks") from None
    if first != root:
        raise EventShapeError(f"{t} blocks: first root is not the commit", t=t, field="blocks")
    if root not in found:
        raise EventShapeError(f"{t} blocks: the commit block is missing", t=t, field="blocks")
    return found


# -- decoding -------------------------------------------------------------------------


def _fail(t: str, field: str, what: str) -> EventShapeError:
    return EventShapeError(f"{t}: field {field!r} {what}", t=t, field=field)


def _req(body: dict[str, Any], t: str, field: str) -> Any:
    try:
        return body[field]
    except KeyError:
        raise _fail(t, field, "is missing") from None


def _seq(body: dict[str, Any], t: str) -> int:
    seq = _req(body, t, "seq")
    if type(seq) is not int or not 0 < seq <= MAX_SEQ:
        raise _fail(t, "seq", f"must be an integer in 1..2^53-1, got {seq!r:.40}")
    return seq


def _did(body: dict[str, Any], t: str, field: str) -> str:
    value = _req(body, t, field)
    if not fast_is_did(value):
        raise _fail(t, field, f"is not a DID: {value!r:.80}")
    return value  # type: ignore[no-any-return]


def _tid(body: dict[str, Any], t: str, field: str) -> str:
    value = _req(body, t, field)
    if not fast_is_tid(value):
        raise _fail(t, field, f"is not a TID: {value!r:.40}")
    return value  # type: ignore[no-any-return]


def _time(body: dict[str, Any], t: str) -> str:
    value = _req(body, t, "time")
    if not is_valid_datetime(value):
        raise _fail(t, "time", f"is not a datetime: {value!r:.60}")
    return value  # type: ignore[no-any-return]


def _bool(body: dict[str, Any], t: str, field: str) -> bool:
    value = _req(body, t, field)
    if type(value) is not bool:
        raise _fail(t, field, f"must be a boolean, got {type(value).__name__}")
    return value


def _cid(value: Any, t: str, field: str) -> CID:
    if type(value) is not CID:
        raise _fail(t, field, f"must be a CID link, got {type(value).__name__}")
    return value


def _opt_str(body: dict[str, Any], t: str, field: str) -> str | None:
    value = body.get(field)
    if value is not None and type(value) is not str:
        raise _fail(t, field, f"must be a string, got {type(value).__name__}")
    return value


def _blocks(body: dict[str, Any], t: str, cap: int) -> bytes:
    value = _req(body, t, "blocks")
    if type(value) is not bytes:
        raise _fail(t, "blocks", f"must be bytes, got {type(value).__name__}")
    if len(value) > cap:
        raise FrameLimitError(f"{t}: blocks is {len(value)} bytes, over the {cap} cap")
    return value


def _op(item: Any, t: str) -> RecordOp:
    if type(item) is not dict:
        raise _fail(t, "ops", f"items must be maps, got {type(item).__name__}")
    action = item.get("action")
    if action not in _ACTIONS:
        raise _fail(t, "ops", f"action must be create, update or delete, got {action!r:.40}")
    path = item.get("path")
    if not is_valid_key(path):
        raise _fail(t, "ops", f"path is not a repo path: {path!r:.80}")
    if "cid" not in item:
        raise _fail(t, "ops", f"{action} op at {path} has no 'cid' (null is required)")
    cid = item["cid"]
    if cid is not None and type(cid) is not CID:
        raise _fail(t, "ops", f"cid of {path} must be a CID or null")
    has_prev = "prev" in item
    prev = item.get("prev")
    if has_prev and type(prev) is not CID:
        raise _fail(t, "ops", f"prev of {path} must be a CID when present")
    if action == "create":
        ok = cid is not None and not has_prev
    elif action == "update":
        ok = cid is not None and has_prev
    else:
        ok = cid is None and has_prev
    if not ok:
        raise _fail(
            t,
            "ops",
            f"{action} op at {path} has the wrong shape "
            "(create: cid, no prev; update: cid and prev; delete: cid null and prev)",
        )
    return RecordOp(action, path, cid, prev)  # type: ignore[arg-type]


def _commit(body: dict[str, Any], t: str) -> CommitEvent:
    # The hot path of the firehose: required fields fetched in one go, checks inline.
    try:
        seq = body["seq"]
        repo = body["repo"]
        commit = body["commit"]
        rev = body["rev"]
        since = body["since"]
        blocks = body["blocks"]
        raw_ops = body["ops"]
        raw_blobs = body["blobs"]
        rebase = body["rebase"]
        too_big = body["tooBig"]
        time = body["time"]
    except KeyError as exc:
        raise _fail(t, str(exc.args[0]), "is missing") from None
    if type(seq) is not int or not 0 < seq <= MAX_SEQ:
        raise _fail(t, "seq", f"must be an integer in 1..2^53-1, got {seq!r:.40}")
    if not fast_is_did(repo):
        raise _fail(t, "repo", f"is not a DID: {repo!r:.80}")
    if type(commit) is not CID:
        raise _fail(t, "commit", f"must be a CID link, got {type(commit).__name__}")
    if not fast_is_tid(rev):
        raise _fail(t, "rev", f"is not a TID: {rev!r:.40}")
    if since is not None and not fast_is_tid(since):
        raise _fail(t, "since", f"must be a TID or null, got {since!r:.40}")
    if type(blocks) is not bytes:
        raise _fail(t, "blocks", f"must be bytes, got {type(blocks).__name__}")
    if len(blocks) > MAX_COMMIT_BLOCKS_BYTES:
        raise FrameLimitError(
            f"{t}: blocks is {len(blocks)} bytes, over the {MAX_COMMIT_BLOCKS_BYTES} cap"
        )
    if type(raw_ops) is not list:
        raise _fail(t, "ops", "must be an array")
    if len(raw_ops) > MAX_OPS:
        raise FrameLimitError(f"{t}: {len(raw_ops)} ops, over the {MAX_OPS} cap")
    ops = tuple([_op(item, t) for item in raw_ops])
    if type(raw_blobs) is not list:
        raise _fail(t, "blobs", "must be an array")
    blobs = tuple([_cid(item, t, "blobs") for item in raw_blobs]) if raw_blobs else ()
    if type(rebase) is not bool:
        raise _fail(t, "rebase", f"must be a boolean, got {type(rebase).__name__}")
    if type(too_big) is not bool:
        raise _fail(t, "tooBig", f"must be a boolean, got {type(too_big).__name__}")
    if not is_valid_datetime(time):
        raise _fail(t, "time", f"is not a datetime: {time!r:.60}")
    prev_data = _cid(body["prevData"], t, "prevData") if "prevData" in body else None
    return CommitEvent(
        seq, repo, commit, rev, since, blocks, ops, time, prev_data, rebase, too_big, blobs
    )


def _sync(body: dict[str, Any], t: str) -> SyncEvent:
    return SyncEvent(
        seq=_seq(body, t),
        did=_did(body, t, "did"),
        blocks=_blocks(body, t, MAX_SYNC_BLOCKS_BYTES),
        rev=_tid(body, t, "rev"),
        time=_time(body, t),
    )


def _identity(body: dict[str, Any], t: str) -> IdentityEvent:
    handle = _opt_str(body, t, "handle")
    if handle is not None and handle != INVALID_HANDLE and not is_valid_handle(handle):
        raise _fail(t, "handle", f"is not a handle: {handle!r:.80}")
    if "handle" in body and handle is None:
        raise _fail(t, "handle", "must be a string when present")
    return IdentityEvent(
        seq=_seq(body, t), did=_did(body, t, "did"), time=_time(body, t), handle=handle
    )


def _account(body: dict[str, Any], t: str) -> AccountEvent:
    status = _opt_str(body, t, "status")
    if "status" in body and status is None:
        raise _fail(t, "status", "must be a string when present")
    return AccountEvent(
        seq=_seq(body, t),
        did=_did(body, t, "did"),
        time=_time(body, t),
        active=_bool(body, t, "active"),
        status=status,
    )


def _info(body: dict[str, Any], t: str) -> InfoEvent:
    name = _req(body, t, "name")
    if type(name) is not str:
        raise _fail(t, "name", "must be a string")
    message = _opt_str(body, t, "message")
    if "message" in body and message is None:
        raise _fail(t, "message", "must be a string when present")
    return InfoEvent(name=name, message=message)


_Decoder: TypeAlias = Callable[[dict[str, Any], str], Event]

_DECODERS: dict[str, _Decoder] = {
    "#commit": _commit,
    "#sync": _sync,
    "#identity": _identity,
    "#account": _account,
    "#info": _info,
}


def short_type(t: str) -> str:
    """``#name`` for ``#name`` or ``com.atproto.sync.subscribeRepos#name``; else ``t``."""
    if t.startswith(NSID) and t[len(NSID) : len(NSID) + 1] == "#":
        return t[len(NSID) :]
    return t


def event_from_body(t: str, body: dict[str, Any]) -> Event | None:
    """The typed event for a message frame, or ``None`` when ``t`` is unknown (skip it).

    Raises :class:`EventShapeError` (or :class:`FrameLimitError` for the caps).
    """
    decoder = _DECODERS.get(t) or _DECODERS.get(short_type(t))
    if decoder is None:
        return None
    return decoder(body, t)


# -- encoding -------------------------------------------------------------------------


def _op_body(op: RecordOp) -> dict[str, Any]:
    out: dict[str, Any] = {"action": op.action, "path": op.path, "cid": op.cid}
    if op.prev is not None or op.action != "create":
        out["prev"] = op.prev  # a wrong shape is kept, so the check in encode sees it
    return out


def event_to_body(event: Event) -> dict[str, Any]:
    """The wire body of ``event`` (no ``$type``), with every lexicon-required field."""
    if isinstance(event, CommitEvent):
        body: dict[str, Any] = {
            "seq": event.seq,
            "rebase": event.rebase,
            "tooBig": event.too_big,
            "repo": event.repo,
            "commit": event.commit,
            "rev": event.rev,
            "since": event.since,
            "blocks": event.blocks,
            "ops": [_op_body(op) for op in event.ops],
            "blobs": list(event.blobs),
            "time": event.time,
        }
        if event.prev_data is not None:
            body["prevData"] = event.prev_data
        return body
    if isinstance(event, SyncEvent):
        return {
            "seq": event.seq,
            "did": event.did,
            "blocks": event.blocks,
            "rev": event.rev,
            "time": event.time,
        }
    if isinstance(event, IdentityEvent):
        body = {"seq": event.seq, "did": event.did, "time": event.time}
        if event.handle is not None:
            body["handle"] = event.handle
        return body
    if isinstance(event, AccountEvent):
        body = {"seq": event.seq, "did": event.did, "time": event.time, "active": event.active}
        if event.status is not None:
            body["status"] = event.status
        return body
    if isinstance(event, InfoEvent):
        body = {"name": event.name}
        if event.message is not None:
            body["message"] = event.message
        return body
    raise TypeError(f"not a subscribeRepos event: {type(event).__name__}")

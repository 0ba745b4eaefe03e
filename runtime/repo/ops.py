"""Record operations: the writes a caller asks for and the ops a commit reports.

:class:`Create`, :class:`Update` and :class:`Delete` are requested writes;
:class:`RecordOp` is what a commit says changed (sync 1.1 shape: ``cid`` is the new
value or None for deletes, ``prev`` the old value for updates and deletes).
:func:`invert_ops` replays a commit's ops backwards against its CAR slice and returns
the root it reaches, which a verifier compares with ``prevData``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from lexforge.runtime.data import CID
from lexforge.runtime.repo.errors import InversionError, MissingBlockError
from lexforge.runtime.repo.keys import is_valid_key
from lexforge.runtime.repo.mst import DEFAULT_LIMITS, MstLimits, Tree

__all__ = [
    "MAX_OPS",
    "Action",
    "Create",
    "Delete",
    "RecordOp",
    "Update",
    "Write",
    "check_op_shape",
    "invert_ops",
]

#: Most ops in one commit (subscribeRepos ``ops`` maxLength).
MAX_OPS = 200

Action = Literal["create", "update", "delete"]


@dataclass(frozen=True, slots=True)
class Create:
    """Create a record; fails if one exists at the path."""

    collection: str
    rkey: str
    record: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Update:
    """Replace an existing record; ``swap_record`` (if set) must be its current CID."""

    collection: str
    rkey: str
    record: Mapping[str, Any]
    swap_record: CID | None = None


@dataclass(frozen=True, slots=True)
class Delete:
    """Delete an existing record; ``swap_record`` (if set) must be its current CID."""

    collection: str
    rkey: str
    swap_record: CID | None = None


Write = Create | Update | Delete


@dataclass(frozen=True, slots=True)
class RecordOp:
    """One change as a commit reports it (``#commit`` ``ops`` item)."""

    action: Action
    path: str
    cid: CID | None
    prev: CID | None = field(default=None)

    def to_json_like(self) -> dict[str, Any]:
        """The event form: ``prev`` omitted on creates, ``cid`` null on deletes."""
        out: dict[str, Any] = {"action": self.action, "path": self.path, "cid": self.cid}
        if self.prev is not None:
            out["prev"] = self.prev
        return out


def check_op_shape(op: RecordOp) -> None:
    """Raise :class:`InversionError` if the op's fields do not fit its action."""
    if not is_valid_key(op.path):
        raise InversionError(f"op path {op.path!r:.80} is not a valid repo path")
    if op.action == "create":
        ok = op.cid is not None and op.prev is None
    elif op.action == "update":
        ok = op.cid is not None and op.prev is not None
    elif op.action == "delete":
        ok = op.cid is None and op.prev is not None
    else:
        raise InversionError(f"unknown op action {op.action!r}")
    if not ok:
        raise InversionError(f"{op.action} op at {op.path} has the wrong cid/prev shape")


def _inversion_order(op: RecordOp) -> tuple[bool, str]:
    # deletes first (putting their keys back cannot collide with a create's), then by path
    return (op.action != "delete", op.path)


def invert_ops(
    ops: Sequence[RecordOp],
    blocks: Mapping[CID, bytes],
    data: CID,
    *,
    limits: MstLimits = DEFAULT_LIMITS,
) -> CID:
    """Undo ``ops`` on the tree rooted at ``data`` using only ``blocks``; return the root.

    Ops are normalised (duplicate paths refused; deletes first, then by path). Each
    inverted op must find exactly the state the op claims: a create's key holding its
    ``cid``, an update's key holding its ``cid`` (put back ``prev``), a delete's key
    absent (put back ``prev``). A block the inversion needs but the slice lacks raises
    :class:`InversionError` (the slice is incomplete); malformed nodes raise
    :class:`~.errors.InvalidMstError`.
    """
    if len(ops) > MAX_OPS:
        raise InversionError(f"{len(ops)} ops, more than {MAX_OPS}")
    paths = set()
    for op in ops:
        check_op_shape(op)
        if op.path in paths:
            raise InversionError(f"duplicate op path {op.path}")
        paths.add(op.path)
    ordered = sorted(ops, key=_inversion_order) if len(ops) > 1 else ops
    try:
        tree = Tree.load(data, blocks.get, limits=limits)
        for op in ordered:
            if op.action == "create":
                found = tree.delete(op.path)
                if found != op.cid:
                    raise InversionError(
                        f"create at {op.path}: tree holds {found}, op says {op.cid}"
                    )
            else:
                assert op.prev is not None
                found = tree.put(op.path, op.prev)
                if found != op.cid:
                    raise InversionError(
                        f"{op.action} at {op.path}: tree holds {found}, op says {op.cid}"
                    )
        return tree.root_cid
    except MissingBlockError as exc:
        raise InversionError(f"CAR slice is incomplete: {exc}") from None

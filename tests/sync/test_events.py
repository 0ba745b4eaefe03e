"""The firehose frame codec: typed events, strict shape checks, caps, skip rules."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.runtime.car import write_car
from lexforge.runtime.data import CID, decode, decode_prefix, encode
from lexforge.runtime.repo import RecordOp
from lexforge.runtime.sync import (
    MAX_MESSAGE_BYTES,
    AccountEvent,
    CommitEvent,
    ConsumerTooSlowError,
    EventError,
    EventShapeError,
    FrameLimitError,
    FutureCursorError,
    IdentityEvent,
    InfoEvent,
    StreamErrorFrame,
    SyncError,
    SyncEvent,
    decode_event,
    encode_error_frame,
    encode_frame,
)
from lexforge.runtime.sync.events import event_to_body
from lexforge.runtime.xrpc.frames import encode_message_frame
from tests.conftest import VECTORS
from tests.sync.firehose_fixtures import TIME, interleave, make_histories

HISTORIES = make_histories(2, 7)
COMMITS = interleave(HISTORIES)
FIRST = COMMITS[0]  # since None, no prevData, one create
LATER = next(e for e in COMMITS if any(op.action == "update" for op in e.ops))
DELETE = next(e for e in COMMITS if any(op.action == "delete" for op in e.ops))
DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
CID_A = CID.for_cbor(encode({"a": 1}))


def frame(t: str, body: dict[str, Any]) -> bytes:
    return encode_message_frame(t, body)


def body_of(event: CommitEvent) -> dict[str, Any]:
    return copy.deepcopy(event_to_body(event))


# -- round trips ----------------------------------------------------------------------


@pytest.mark.parametrize("event", [FIRST, LATER, DELETE], ids=["first", "update", "delete"])
def test_commit_round_trip_is_canonical(event: CommitEvent) -> None:
    data = encode_frame(event)
    assert decode_event(data) == event
    header, end = decode_prefix(data)
    assert header == {"op": 1, "t": "#commit"}
    assert encode(decode(data[end:])) == data[end:]
    assert event.read_blocks()[event.commit]


def test_commit_always_carries_required_and_deprecated_fields() -> None:
    _, end = decode_prefix(encode_frame(FIRST))
    body = decode(encode_frame(FIRST)[end:])
    assert isinstance(body, dict)
    assert body["rebase"] is False
    assert body["tooBig"] is False
    assert body["blobs"] == []
    assert body["since"] is None
    assert "since" in body
    assert "prevData" not in body  # first commit: nothing before it
    assert "$type" not in body
    later = decode(encode_frame(LATER)[decode_prefix(encode_frame(LATER))[1] :])
    assert isinstance(later, dict)
    assert later["prevData"] == LATER.prev_data
    assert later["since"] == LATER.since
    ops = {op["action"]: op for op in later["ops"]}
    assert "prev" in ops["update"]
    delete_body = event_to_body(DELETE)
    deletes = [op for op in delete_body["ops"] if op["action"] == "delete"]
    assert deletes
    assert all(op["cid"] is None and "prev" in op for op in deletes)
    creates = list(event_to_body(FIRST)["ops"])
    assert all("prev" not in op for op in creates)


@pytest.mark.parametrize(
    "event",
    [
        IdentityEvent(seq=7, did=DID, time=TIME),
        IdentityEvent(seq=7, did=DID, time=TIME, handle="alice.example.com"),
        IdentityEvent(seq=7, did=DID, time=TIME, handle="handle.invalid"),
        AccountEvent(seq=8, did=DID, time=TIME, active=True),
        AccountEvent(seq=8, did=DID, time=TIME, active=False, status="deactivated"),
        InfoEvent(name="OutdatedCursor"),
        InfoEvent(name="OutdatedCursor", message="too old"),
        SyncEvent(seq=9, did=DID, blocks=FIRST.blocks, rev=FIRST.rev, time=TIME),
    ],
)
def test_other_events_round_trip(event: Any) -> None:
    assert decode_event(encode_frame(event)) == event


def test_sync_event_blocks() -> None:
    event = SyncEvent(seq=9, did=DID, blocks=FIRST.blocks, rev=FIRST.rev, time=TIME)
    assert event.commit_cid() == FIRST.commit
    assert FIRST.commit in event.read_blocks()
    too_big = SyncEvent(seq=9, did=DID, blocks=b"\0" * 10_001, rev=FIRST.rev, time=TIME)
    with pytest.raises(FrameLimitError):
        encode_frame(too_big)
    with pytest.raises(FrameLimitError):
        decode_event(frame("#sync", event_to_body(too_big)))


def test_read_blocks_checks_the_root() -> None:
    wrong = CommitEvent(**{**_fields(FIRST), "commit": CID_A})
    with pytest.raises(EventShapeError):
        wrong.read_blocks()
    garbage = CommitEvent(**{**_fields(FIRST), "blocks": b"\x01\x02"})
    with pytest.raises(EventShapeError):
        garbage.read_blocks()
    # extra roots are tolerated as long as the first one is the commit
    blocks = FIRST.read_blocks()
    other = next(c for c in blocks if c != FIRST.commit)
    two = CommitEvent(**{**_fields(FIRST), "blocks": write_car([FIRST.commit, other], blocks)})
    assert two.read_blocks() == blocks
    swapped = CommitEvent(**{**_fields(FIRST), "blocks": write_car([other, FIRST.commit], blocks)})
    with pytest.raises(EventShapeError, match="first root"):
        swapped.read_blocks()
    none = CommitEvent(**{**_fields(FIRST), "blocks": write_car([], blocks)})
    with pytest.raises(EventShapeError, match="first root"):
        none.read_blocks()


def _fields(event: CommitEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in CommitEvent.__slots__}


def test_events_are_frozen_and_slotted() -> None:
    with pytest.raises(AttributeError):
        FIRST.seq = 3  # type: ignore[misc]
    assert not hasattr(FIRST, "__dict__")
    assert FIRST.did == FIRST.repo


# -- shape violations -----------------------------------------------------------------


def _set(path: str, value: Any) -> Any:
    def mutate(body: dict[str, Any]) -> None:
        target: Any = body
        *parents, last = path.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        key: Any = int(last) if last.isdigit() else last
        if value is _DELETE:
            del target[key]
        else:
            target[key] = value

    return mutate


_DELETE = object()

SHAPE_MUTANTS = {
    "seq missing": _set("seq", _DELETE),
    "seq zero": _set("seq", 0),
    "seq negative": _set("seq", -4),
    "seq bool": _set("seq", True),
    "seq too big": _set("seq", 2**53),
    "seq string": _set("seq", "5"),
    "repo missing": _set("repo", _DELETE),
    "repo not a DID": _set("repo", "alice.example.com"),
    "did instead of repo": lambda b: b.update(did=b.pop("repo")),
    "commit missing": _set("commit", _DELETE),
    "commit as string": _set("commit", str(CID_A)),
    "commit as bytes": _set("commit", CID_A.bytes),
    "rev not a TID": _set("rev", "2024-01-01"),
    "rev missing": _set("rev", _DELETE),
    "since missing": _set("since", _DELETE),
    "since not a TID": _set("since", "yesterday"),
    "blocks missing": _set("blocks", _DELETE),
    "blocks as string": _set("blocks", "AAAA"),
    "ops missing": _set("ops", _DELETE),
    "ops not a list": _set("ops", {}),
    "op not a map": _set("ops.0", "create"),
    "op unknown action": _set("ops.0.action", "upsert"),
    "op bad path": _set("ops.0.path", "no-slash"),
    "op path missing": _set("ops.0.path", _DELETE),
    "create without cid": _set("ops.0.cid", _DELETE),
    "create with null cid": _set("ops.0.cid", None),
    "create with prev": _set("ops.0.prev", CID_A),
    "cid wrong type": _set("ops.0.cid", "bafy"),
    "blobs missing": _set("blobs", _DELETE),
    "blobs not CIDs": _set("blobs", ["x"]),
    "rebase missing": _set("rebase", _DELETE),
    "rebase not bool": _set("rebase", 0),
    "tooBig missing": _set("tooBig", _DELETE),
    "time missing": _set("time", _DELETE),
    "time not a datetime": _set("time", "yesterday"),
    "prevData null": _set("prevData", None),
    "prevData wrong type": _set("prevData", "bafy"),
}


@pytest.mark.parametrize("name", sorted(SHAPE_MUTANTS))
def test_commit_shape_violations_are_typed_errors(name: str) -> None:
    body = body_of(FIRST)
    SHAPE_MUTANTS[name](body)
    with pytest.raises(EventShapeError) as info:
        decode_event(frame("#commit", body))
    assert info.value.t == "#commit"


def _op(event: CommitEvent, action: str) -> int:
    return next(i for i, op in enumerate(event.ops) if op.action == action)


@pytest.mark.parametrize(
    ("source", "action", "mutate"),
    [
        ("update", "update", lambda op: op.pop("prev")),
        ("update", "update", lambda op: op.update(cid=None)),
        ("update", "update", lambda op: op.update(prev=None)),
        ("delete", "delete", lambda op: op.pop("prev")),
        ("delete", "delete", lambda op: op.pop("cid")),  # absent, not null
        ("delete", "delete", lambda op: op.update(cid=CID_A)),
    ],
)
def test_update_and_delete_op_shapes(source: str, action: str, mutate: Any) -> None:
    event = LATER if source == "update" else DELETE
    body = body_of(event)
    mutate(body["ops"][_op(event, action)])
    with pytest.raises(EventShapeError):
        decode_event(frame("#commit", body))


def test_caps_on_blocks_and_ops() -> None:
    body = body_of(FIRST)
    body["blocks"] = b"\0" * 2_000_000
    assert isinstance(decode_event(frame("#commit", body)), CommitEvent)  # at the cap
    body["blocks"] = b"\0" * 2_000_001
    with pytest.raises(FrameLimitError):
        decode_event(frame("#commit", body))
    body = body_of(FIRST)
    op = body["ops"][0]
    body["ops"] = [{**op, "path": f"app.bsky.feed.post/k{i}"} for i in range(200)]
    assert isinstance(decode_event(frame("#commit", body)), CommitEvent)
    body["ops"].append({**op, "path": "app.bsky.feed.post/k200"})
    with pytest.raises(FrameLimitError):
        decode_event(frame("#commit", body))
    too_many = CommitEvent(
        **{
            **_fields(FIRST),
            "ops": tuple(RecordOp("create", f"a.b.c/k{i}", CID_A) for i in range(201)),
        }
    )
    with pytest.raises(FrameLimitError):
        encode_frame(too_many)


def test_oversized_frame_refused_before_decoding() -> None:
    with pytest.raises(FrameLimitError):
        decode_event(b"\xa0" * (MAX_MESSAGE_BYTES + 1))


def test_encode_refuses_what_decode_would_refuse() -> None:
    bad_create = CommitEvent(
        **{**_fields(FIRST), "ops": (RecordOp("create", "a.b.c/k", CID_A, CID_A),)}
    )
    with pytest.raises(EventShapeError):
        encode_frame(bad_create)
    with pytest.raises(EventShapeError):
        encode_frame(IdentityEvent(seq=1, did="not-a-did", time=TIME))
    with pytest.raises(EventShapeError):
        encode_frame(AccountEvent(seq=0, did=DID, time=TIME, active=True))


@pytest.mark.parametrize(
    ("t", "body"),
    [
        ("#identity", {"seq": 1, "time": TIME}),
        ("#identity", {"seq": 1, "did": DID, "time": TIME, "handle": None}),
        ("#identity", {"seq": 1, "did": DID, "time": TIME, "handle": "not a handle"}),
        ("#account", {"seq": 1, "did": DID, "time": TIME}),
        ("#account", {"seq": 1, "did": DID, "time": TIME, "active": "yes"}),
        ("#account", {"seq": 1, "did": DID, "time": TIME, "active": False, "status": 3}),
        ("#info", {"message": "no name"}),
        ("#info", {"name": 5}),
        ("#sync", {"seq": 1, "did": DID, "rev": FIRST.rev, "time": TIME}),
        ("#identity", event_to_body(FIRST)),  # header says identity, body is a commit
        ("#commit", {"seq": 1, "did": DID, "time": TIME}),  # header says commit
    ],
)
def test_other_shape_violations(t: str, body: dict[str, Any]) -> None:
    with pytest.raises(EventShapeError):
        decode_event(frame(t, body))


# -- framing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        encode_frame(FIRST) + encode({}),  # a third CBOR item
        encode_frame(FIRST)[:-1],  # truncated
        encode({"op": 1, "t": "#commit"}),  # no body
        encode([1, "#commit"]) + encode({}),  # header not a map
        encode({"op": 1, "t": "#info"}) + encode(["not", "a", "map"]),  # body not a map
        encode({"t": "#info"}) + encode({"name": "x"}),  # no op
        encode({"op": 1}) + encode({"name": "x"}),  # message without t
        encode({"op": -1}) + encode({"message": "no error name"}),
        bytes.fromhex("a2626f7001617440") + encode({}),  # header map with odd bytes
        b"\xa2\x62op\x01\x61t\x65#info" + encode({"name": "x"}),  # keys not sorted
        b"",
    ],
)
def test_malformed_frames(data: bytes) -> None:
    with pytest.raises(EventError):
        decode_event(data)


def test_text_message_is_refused() -> None:
    with pytest.raises(EventError):
        decode_event("hello")


def test_unknown_t_and_op_are_skipped() -> None:
    assert decode_event(frame("#labels", {"seq": 1})) is None
    assert decode_event(frame("com.example.other#commit", event_to_body(FIRST))) is None
    assert decode_event(encode({"op": 2, "t": "#commit"}) + encode({})) is None


def test_full_nsid_t_and_unknown_fields() -> None:
    body = {**event_to_body(FIRST), "futureField": [1, 2], "$extra": "x"}
    assert decode_event(frame("com.atproto.sync.subscribeRepos#commit", body)) == FIRST
    assert decode_event(frame("#commit", body)) == FIRST


def test_error_frames_are_typed() -> None:
    with pytest.raises(FutureCursorError) as future:
        decode_event(encode_error_frame("FutureCursor", "Cursor in the future."))
    assert future.value.error == "FutureCursor"
    assert future.value.message == "Cursor in the future."
    with pytest.raises(ConsumerTooSlowError):
        decode_event(encode_error_frame("ConsumerTooSlow"))
    with pytest.raises(StreamErrorFrame) as other:
        decode_event(encode_error_frame("SomethingElse"))
    assert type(other.value) is StreamErrorFrame
    assert other.value.error == "SomethingElse"
    assert other.value.message is None


# -- properties -----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_frames_never_crash(data: st.DataObject) -> None:
    """Any byte damage to a valid frame gives an event or a SyncError, nothing else."""
    original = bytearray(encode_frame(data.draw(st.sampled_from([FIRST, LATER, DELETE]))))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(original) - 1))
        original[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(original)))
    with contextlib.suppress(SyncError):
        decode_event(bytes(original[:cut]))


@settings(max_examples=200, deadline=None)
@given(
    seq=st.integers(1, 2**53 - 1),
    active=st.booleans(),
    status=st.none() | st.sampled_from(["takendown", "suspended", "deleted", "x"]),
    handle=st.none() | st.from_regex(r"[a-z][a-z0-9]{0,10}\.(com|test|invalid)", fullmatch=True),
)
def test_account_identity_round_trip(
    seq: int, active: bool, status: str | None, handle: str | None
) -> None:
    account = AccountEvent(seq=seq, did=DID, time=TIME, active=active, status=status)
    assert decode_event(encode_frame(account)) == account
    identity = IdentityEvent(seq=seq, did=DID, time=TIME, handle=handle)
    assert decode_event(encode_frame(identity)) == identity


@pytest.mark.parametrize("kind", ["did", "tid"])
def test_fast_syntax_checks_agree_with_the_syntax_package(kind: str) -> None:
    from lexforge.runtime.sync.events import fast_is_did, fast_is_tid
    from lexforge.runtime.syntax import is_valid_did, is_valid_tid

    fast, reference = (fast_is_did, is_valid_did) if kind == "did" else (fast_is_tid, is_valid_tid)
    samples: list[object] = [None, 5, b"did:plc:x", "", "did:plc:" + "a" * 2050]
    for name in (f"{kind}_syntax_valid.txt", f"{kind}_syntax_invalid.txt"):
        path = VECTORS / "syntax" / name
        lines = path.read_text(encoding="utf-8").splitlines()
        samples += [line for line in lines if line and not line.startswith("#")]
    assert len(samples) > 15
    for sample in samples:
        assert fast(sample) == reference(sample), sample

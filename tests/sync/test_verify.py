"""Relay-grade verification of #commit and #sync events (S1-S3, S9, sync 1.1 inversion)."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.runtime.car import read_car, write_car
from lexforge.runtime.crypto import K256Keypair, P256Keypair, PublicKey
from lexforge.runtime.data import CID
from lexforge.runtime.repo import CommitDiff, Create, Delete, RecordOp, Update
from lexforge.runtime.sync.errors import (
    EventError,
    FutureRevError,
    StaleRevError,
    StreamErrorFrame,
    VerificationError,
)
from lexforge.runtime.sync.events import CommitEvent, SyncEvent
from lexforge.runtime.sync.frames import decode_event, encode_frame
from lexforge.runtime.sync.verify import CommitVerifier
from tests.repo.helpers import DID, POST, make_repo, post, random_writes

TIME = "2024-01-01T00:00:00.000Z"


def event_of(diff: CommitDiff, seq: int = 1) -> CommitEvent:
    return CommitEvent(
        seq=seq,
        repo=diff.commit.did,
        commit=diff.cid,
        rev=diff.rev,
        since=diff.since,
        blocks=diff.car(),
        ops=diff.ops,
        time=TIME,
        prev_data=diff.prev_data,
    )


class Keys:
    """A key lookup that counts calls and can serve a stale key until refreshed."""

    def __init__(self, key: PublicKey, stale: PublicKey | None = None) -> None:
        self.key = key
        self.stale = stale
        self.calls: list[bool] = []

    async def __call__(self, did: str, refresh: bool) -> PublicKey | str | None:
        self.calls.append(refresh)
        if refresh or self.stale is None:
            return self.key
        return self.stale


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_valid_history_verifies() -> None:
    repo, key = make_repo(100)
    verifier = CommitVerifier(Keys(key.public_key))
    rnd = random.Random(5)
    for seq in range(40):
        diff = repo.apply_writes(random_writes(repo, rnd))
        result = run(verifier.verify_commit(event_of(diff, seq)))
        assert result.chain_ok  # type: ignore[attr-defined]
    assert verifier.state[DID].rev == repo.rev
    assert verifier.state[DID].data == repo.data


def test_first_commit_and_frame_round_trip() -> None:
    key = K256Keypair.generate()
    from lexforge.runtime.repo import MemoryBlockStore, Repo

    repo, first = Repo.create(MemoryBlockStore(), DID, key)
    verifier = CommitVerifier(Keys(key.public_key))
    event = decode_event(encode_frame(event_of(first)))
    assert isinstance(event, CommitEvent)
    run(verifier.verify_commit(event))
    diff = repo.apply_writes([Create(POST, "a", post("a"))])
    event = decode_event(encode_frame(event_of(diff, 2)))
    assert isinstance(event, CommitEvent)
    run(verifier.verify_commit(event))


def test_signature_and_key_refresh() -> None:
    repo, key = make_repo(5)
    diff = repo.apply_writes([Create(POST, "a", post("a"))])
    wrong = K256Keypair.generate().public_key
    with pytest.raises(VerificationError, match="signature"):
        run(CommitVerifier(Keys(wrong)).verify_commit(event_of(diff)))
    # stale key first, fresh key after one refresh: accepted with exactly one refresh
    keys = Keys(key.public_key, stale=wrong)
    verifier = CommitVerifier(keys)
    run(verifier.verify_commit(event_of(diff)))
    assert keys.calls == [False, True]
    # rotation mid-stream: the cached key fails once, one refresh, then accepted
    new = P256Keypair.generate()
    keys.key = new.public_key
    rotated = repo.rotate_key(new)
    run(verifier.verify_commit(event_of(rotated, 2)))
    assert keys.calls == [False, True, True]
    run(verifier.verify_commit(event_of(repo.apply_writes([]), 3)))
    assert keys.calls == [False, True, True]


def test_did_rev_and_flags() -> None:
    repo, key = make_repo(5)
    diff = repo.apply_writes([Create(POST, "a", post("a"))])
    good = event_of(diff)
    bad_events = [
        replace(good, repo="did:plc:someoneelseentirely"),
        replace(good, rev="3kaaaaaaaaa22"),
        replace(good, too_big=True),
        replace(good, rebase=True),
        replace(good, commit=CID.for_cbor(b"\xa0")),
        replace(good, blocks=good.blocks[:-3]),
        replace(good, prev_data=None),
        replace(good, prev_data=CID.for_cbor(b"\xa0")),
        replace(good, blocks=b"\x00" * 2_000_001),
    ]
    for event in bad_events:
        with pytest.raises(VerificationError):
            run(CommitVerifier(Keys(key.public_key)).verify_commit(event))
    verifier = CommitVerifier(Keys(key.public_key))
    run(verifier.verify_commit(good))
    with pytest.raises(StaleRevError):
        run(verifier.verify_commit(good))
    future = CommitVerifier(Keys(key.public_key), now=lambda: 1_000_000.0)
    with pytest.raises(FutureRevError):
        run(future.verify_commit(good))
    skewed = CommitVerifier(Keys(key.public_key), now=lambda: 0.0, max_future_seconds=1e12)
    run(skewed.verify_commit(good))


def test_chain_break_is_reported() -> None:
    repo, key = make_repo(5)
    verifier = CommitVerifier(Keys(key.public_key))
    run(verifier.verify_commit(event_of(repo.apply_writes([Create(POST, "a", post("a"))]))))
    repo.apply_writes([Create(POST, "b", post("b"))])  # missed by the verifier
    result = run(verifier.verify_commit(event_of(repo.apply_writes([Delete(POST, "a")]), 3)))
    assert not result.chain_ok  # type: ignore[attr-defined]


def _mutated(ops: tuple[RecordOp, ...]) -> list[tuple[str, tuple[RecordOp, ...]]]:
    other = CID.for_cbor(b"\xa1ax\x01")
    out = []
    for i, op in enumerate(ops):
        rest = ops[:i] + ops[i + 1 :]
        out.append((f"drop {op.action}", rest))
        if op.prev is not None:
            out.append((f"prev of {op.action}", (*rest, replace(op, prev=other))))
    out.append(("add create", (*ops, RecordOp("create", f"{POST}/zzz", ops[0].cid or other))))
    out.append(("add delete", (*ops, RecordOp("delete", f"{POST}/3k00000000009", None, other))))
    out.append(("duplicate", (*ops, ops[0])))
    ups = [o for o in ops if o.action == "update"]
    out.append(
        (
            "swap cids",
            (
                *[o for o in ops if o.action != "update"],
                replace(ups[0], cid=ups[1].cid),
                replace(ups[1], cid=ups[0].cid),
            ),
        )
    )
    return out


def test_op_mutants_rejected() -> None:
    repo, key = make_repo(60)
    diff = repo.apply_writes(
        [
            Create(POST, "c1", post("1")),
            Update(POST, "3k00000000001", post("u1")),
            Update(POST, "3k00000000002", post("u2")),
            Delete(POST, "3k00000000003"),
        ]
    )
    good = event_of(diff)
    run(CommitVerifier(Keys(key.public_key)).verify_commit(good))
    reordered = replace(good, ops=good.ops[::-1])  # same changes, other order: accepted
    run(CommitVerifier(Keys(key.public_key)).verify_commit(reordered))
    for name, ops in _mutated(good.ops):
        with pytest.raises(VerificationError):
            run(CommitVerifier(Keys(key.public_key)).verify_commit(replace(good, ops=ops)))
        assert name


def test_block_mutants_rejected() -> None:
    repo, key = make_repo(300)
    diff = repo.apply_writes([Create(POST, "zz", post("z")), Delete(POST, "3k00000000100")])
    good = event_of(diff)
    roots, blocks = read_car(good.blocks)
    # any MST node missing from the slice: rejected (incomplete) unless not needed
    nodes = [c for c in blocks if c != diff.cid and c != repo.get_record_cid(POST, "zz")]
    for cid in nodes:
        slim = write_car(roots, {c: b for c, b in blocks.items() if c != cid})
        with pytest.raises(VerificationError):
            run(CommitVerifier(Keys(key.public_key)).verify_commit(replace(good, blocks=slim)))
    # the new record missing: rejected
    record = repo.get_record_cid(POST, "zz")
    slim = write_car(roots, {c: b for c, b in blocks.items() if c != record})
    with pytest.raises(VerificationError):
        run(CommitVerifier(Keys(key.public_key)).verify_commit(replace(good, blocks=slim)))
    # swapped block bytes: hash mismatch
    a, b = nodes[:2]
    swapped = dict(blocks)
    swapped[a], swapped[b] = swapped[b], swapped[a]
    car = write_car(roots, swapped, verify=False)
    with pytest.raises(VerificationError):
        run(CommitVerifier(Keys(key.public_key)).verify_commit(replace(good, blocks=car)))


def test_sync_event() -> None:
    repo, key = make_repo(5)
    commit_block = repo.store.get(repo.head)
    assert commit_block is not None
    car = write_car([repo.head], {repo.head: commit_block})
    event = SyncEvent(seq=1, did=DID, blocks=car, rev=repo.rev, time=TIME)
    verifier = CommitVerifier(Keys(key.public_key))
    run(verifier.verify_sync(event))
    assert verifier.state[DID].data == repo.data
    with pytest.raises(VerificationError):
        run(CommitVerifier(Keys(K256Keypair.generate().public_key)).verify_sync(event))
    with pytest.raises(VerificationError):
        run(CommitVerifier(Keys(key.public_key)).verify_sync(replace(event, rev="3kaaaaaaaaa22")))
    with pytest.raises(VerificationError):
        run(
            CommitVerifier(Keys(key.public_key)).verify_sync(
                replace(event, blocks=car + b"x" * 10_000)
            )
        )


def _with_commit_block(diff: CommitDiff, block: bytes) -> CommitEvent:
    """The diff's event with its commit block replaced (CID recomputed, so hashes match)."""
    cid = CID.for_cbor(block)
    blocks = {cid: block, **{c: b for c, b in diff.blocks.items() if c != diff.cid}}
    return replace(event_of(diff), commit=cid, blocks=write_car([cid], blocks))


def test_non_canonical_commit_blocks_rejected() -> None:
    from lexforge.runtime.data import encode

    repo, key = make_repo(5)
    diff = repo.apply_writes([Create(POST, "a", post("a"))])
    block = diff.blocks[diff.cid]
    run(CommitVerifier(Keys(key.public_key)).verify_commit(_with_commit_block(diff, block)))
    assert block.endswith(b"gversion\x03")
    fields = diff.commit.unsigned() | {"sig": diff.commit.sig}
    variants = [
        block[:-1] + b"\x18\x03",  # version as a non-minimal integer
        # the same fields with the map keys out of canonical order
        bytes([0xA6]) + b"".join(encode(k) + encode(v) for k, v in sorted(fields.items())),
        block + b"\x00",  # trailing bytes
    ]
    for variant in variants:
        assert variant != block
        with pytest.raises(VerificationError, match="commit"):
            run(
                CommitVerifier(Keys(key.public_key)).verify_commit(
                    _with_commit_block(diff, variant)
                )
            )


GOOD_REPO, GOOD_KEY = make_repo(40)
GOOD_DIFF = GOOD_REPO.apply_writes(
    [
        Create(POST, "m1", post("m1")),
        Update(POST, "3k00000000007", post("u")),
        Delete(POST, "3k00000000011"),
    ]
)
GOOD_EVENT = event_of(GOOD_DIFF, 5)
GOOD_FRAME = encode_frame(GOOD_EVENT)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_change_to_the_slice_is_rejected(data: st.DataObject) -> None:
    blocks = bytearray(GOOD_EVENT.blocks)
    i = data.draw(st.integers(0, len(blocks) - 1))
    blocks[i] ^= data.draw(st.integers(1, 255))
    verifier = CommitVerifier(Keys(GOOD_KEY.public_key))
    with pytest.raises(VerificationError):
        run(verifier.verify_commit(replace(GOOD_EVENT, blocks=bytes(blocks))))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_frames_are_rejected_or_change_nothing_verified(data: st.DataObject) -> None:
    frame = bytearray(GOOD_FRAME)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(frame) - 1))
        frame[i] ^= data.draw(st.integers(1, 255))
    try:
        event = decode_event(bytes(frame))
    except (EventError, StreamErrorFrame):
        return
    if not isinstance(event, CommitEvent):
        return
    verifier = CommitVerifier(Keys(GOOD_KEY.public_key))
    try:
        run(verifier.verify_commit(event))
    except VerificationError:
        return
    # accepted: then everything the signature and the inversion cover is unchanged
    for name in ("repo", "commit", "rev", "blocks", "prev_data"):
        assert getattr(event, name) == getattr(GOOD_EVENT, name), name
    assert sorted(event.ops, key=lambda op: op.path) == sorted(
        GOOD_EVENT.ops, key=lambda op: op.path
    )


def test_fast_verified_constructor() -> None:
    from lexforge.runtime.sync import verify

    repo, _key = make_repo(2)
    blocks = {repo.head: b"x"}
    assert verify._verified(repo.commit, blocks, True) == verify.Verified(repo.commit, blocks, True)

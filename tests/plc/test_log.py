"""Operation-log rules: prev chain, rotation-key signatures, nullification priority and the
72-hour window, tombstones, legacy genesis, and full audit-log replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lexforge.runtime.plc import (
    AuditEntry,
    GenesisMismatchError,
    IndexedOperation,
    InvalidAuditLogError,
    InvalidSignatureError,
    LateRecoveryError,
    LegacyCreateOperation,
    MisorderedOperationError,
    Operation,
    PlcOperation,
    PlcTombstone,
    assure_valid_next_op,
    build_tombstone,
    build_update,
    create_genesis,
    parse_audit_log,
    validate_audit_log,
    validate_operation_log,
)
from lexforge.runtime.plc.b64 import b64url_encode
from tests.plc.helpers import k256, p256

T0 = datetime(2025, 1, 1, tzinfo=UTC)
RECOVERY, ROTATION, SIGNING = k256(11), p256(12), k256(13)
ATTACKER = k256(66)


def genesis() -> tuple[str, PlcOperation]:
    return create_genesis(
        rotation_keys=[RECOVERY.did_key(), ROTATION.did_key()],
        signing_key=SIGNING.did_key(),
        handle="alice.test",
        pds_endpoint="https://pds.test",
        signer=ROTATION,
    )


class Log:
    """A directory's view of one DID: apply ops through assure_valid_next_op."""

    def __init__(self, did: str) -> None:
        self.did = did
        self.chain: list[IndexedOperation] = []
        self.entries: list[AuditEntry] = []

    def submit(self, op: Operation, at: datetime) -> None:
        result = assure_valid_next_op(self.did, self.chain, op, at)
        if result.prev_index is not None:
            del self.chain[result.prev_index + 1 :]
        nullified = {n.cid for n in result.nullified}
        self.entries = [
            AuditEntry(e.did, e.operation, e.cid, e.nullified or e.cid in nullified, e.created_at)
            for e in self.entries
        ]
        self.chain.append(IndexedOperation(op, op.cid(), at))
        self.entries.append(AuditEntry(self.did, op, op.cid(), False, at))


def test_genesis_checks() -> None:
    did, op = genesis()
    assert assure_valid_next_op(did, [], op, T0).signer == ROTATION.did_key()
    with pytest.raises(GenesisMismatchError):
        assure_valid_next_op("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", [], op, T0)
    update = build_update(op, signer=ROTATION, handle="x.test")
    with pytest.raises(MisorderedOperationError):
        assure_valid_next_op(did, [], update, T0)  # not a genesis
    foreign = PlcOperation(
        rotation_keys=(RECOVERY.did_key(),),
        verification_methods={},
        also_known_as=(),
        services={},
        prev=None,
    ).sign(ATTACKER)
    with pytest.raises(InvalidSignatureError):
        assure_valid_next_op(did, [], foreign, T0)


def test_linear_updates_and_a_second_genesis() -> None:
    did, op = genesis()
    log = Log(did)
    log.submit(op, T0)
    upd = build_update(op, signer=RECOVERY, handle="bob.test")
    log.submit(upd, T0 + timedelta(seconds=1))
    _, other_genesis = genesis()
    with pytest.raises(MisorderedOperationError, match="already exists"):
        log.submit(other_genesis, T0 + timedelta(seconds=2))


def test_update_must_be_signed_by_a_rotation_key_of_prev() -> None:
    did, op = genesis()
    log = Log(did)
    log.submit(op, T0)
    forged = PlcOperation(
        rotation_keys=(ATTACKER.did_key(),),
        verification_methods={"atproto": ATTACKER.did_key()},
        also_known_as=("at://bob.test",),
        services={},
        prev=str(op.cid()),
    ).sign(ATTACKER)
    with pytest.raises(InvalidSignatureError):
        log.submit(forged, T0 + timedelta(seconds=1))
    # The atproto signing key is not a rotation key either.
    by_signing_key = PlcOperation(
        rotation_keys=op.rotation_keys,
        verification_methods=op.verification_methods,
        also_known_as=("at://bob.test",),
        services=op.services,
        prev=str(op.cid()),
    ).sign(SIGNING)
    with pytest.raises(InvalidSignatureError):
        log.submit(by_signing_key, T0 + timedelta(seconds=1))


def test_unknown_prev_and_timestamps() -> None:
    did, op = genesis()
    log = Log(did)
    log.submit(op, T0)
    _other_did, other = genesis()
    dangling = build_update(other, signer=ROTATION)
    dangling_for_did = PlcOperation(
        rotation_keys=dangling.rotation_keys,
        verification_methods=dangling.verification_methods,
        also_known_as=dangling.also_known_as,
        services=dangling.services,
        prev="bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm",
    ).sign(ROTATION)
    with pytest.raises(MisorderedOperationError, match="not a valid operation"):
        log.submit(dangling_for_did, T0 + timedelta(seconds=1))
    with pytest.raises(MisorderedOperationError, match="strictly increase"):
        log.submit(build_update(op, signer=ROTATION), T0)


def recovery_setup() -> tuple[Log, PlcOperation, PlcOperation]:
    """Genesis, then the (compromised) lower-priority ROTATION key hands the DID over."""
    did, op = genesis()
    log = Log(did)
    log.submit(op, T0)
    hijack = build_update(
        op, signer=ROTATION, rotation_keys=[ATTACKER.did_key()], handle="mallory.test"
    )
    log.submit(hijack, T0 + timedelta(hours=1))
    return log, op, hijack


@pytest.mark.parametrize("after", [timedelta(seconds=1), timedelta(hours=71), timedelta(hours=72)])
def test_recovery_within_72_hours(after: timedelta) -> None:
    log, op, hijack = recovery_setup()
    recover = build_update(op, signer=RECOVERY, rotation_keys=[RECOVERY.did_key()])
    result = assure_valid_next_op(log.did, log.chain, recover, T0 + timedelta(hours=1) + after)
    assert [n.cid for n in result.nullified] == [hijack.cid()]
    assert result.signer == RECOVERY.did_key()


def test_recovery_after_72_hours_refused() -> None:
    log, op, _ = recovery_setup()
    recover = build_update(op, signer=RECOVERY, rotation_keys=[RECOVERY.did_key()])
    late = T0 + timedelta(hours=1) + timedelta(hours=72, milliseconds=1)
    with pytest.raises(LateRecoveryError):
        log.submit(recover, late)


def test_nullification_needs_strictly_higher_priority() -> None:
    log, op, _ = recovery_setup()
    # Same key that signed the op being nullified: not allowed (reused-key case).
    same = build_update(op, signer=ROTATION, handle="alice.test")
    with pytest.raises(InvalidSignatureError, match="higher priority"):
        log.submit(same, T0 + timedelta(hours=2))


def test_lower_priority_key_cannot_nullify_higher() -> None:
    did, op = genesis()
    log = Log(did)
    log.submit(op, T0)
    legit = build_update(op, signer=RECOVERY, handle="alice2.test")
    log.submit(legit, T0 + timedelta(hours=1))
    fork = build_update(op, signer=ROTATION, handle="mallory.test")
    with pytest.raises(InvalidSignatureError):
        log.submit(fork, T0 + timedelta(hours=2))


def test_window_counts_from_the_first_nullified_op() -> None:
    log, op, hijack = recovery_setup()
    follow = build_update(hijack, signer=ATTACKER, handle="mallory2.test")
    log.submit(follow, T0 + timedelta(hours=70))
    recover = build_update(op, signer=RECOVERY)
    # 72h after the follow-up, but more than 72h after the hijack: too late.
    with pytest.raises(LateRecoveryError):
        log.submit(recover, T0 + timedelta(hours=74))
    log.submit(recover, T0 + timedelta(hours=73))
    assert [e.nullified for e in log.entries] == [False, True, True, False]


def test_tombstone_ends_the_log_and_can_be_recovered() -> None:
    did, op = genesis()
    log = Log(did)
    log.submit(op, T0)
    tomb = build_tombstone(op, signer=ROTATION)
    log.submit(tomb, T0 + timedelta(minutes=1))
    after = PlcOperation(
        rotation_keys=op.rotation_keys,
        verification_methods={},
        also_known_as=(),
        services={},
        prev=str(tomb.cid()),
    ).sign(ROTATION)
    with pytest.raises(MisorderedOperationError, match="tombstoned"):
        log.submit(after, T0 + timedelta(minutes=2))
    # The higher-priority key may undo the tombstone within 72 hours.
    late_fix = build_update(op, signer=RECOVERY)
    with pytest.raises(LateRecoveryError):
        assure_valid_next_op(did, log.chain, late_fix, T0 + timedelta(hours=73))
    log.submit(late_fix, T0 + timedelta(hours=2))
    assert validate_audit_log(did, log.entries) is not None


def test_validate_operation_log() -> None:
    did, op = genesis()
    upd = build_update(op, signer=ROTATION, handle="bob.test")
    rot = build_update(upd, signer=RECOVERY, rotation_keys=[k256(20).did_key()])
    state = validate_operation_log(did, [op, upd, rot])
    assert state is not None
    assert state.also_known_as == ("at://bob.test",)
    assert state.rotation_keys == (k256(20).did_key(),)
    tomb = build_tombstone(rot, signer=k256(20))
    assert validate_operation_log(did, [op, upd, rot, tomb]) is None
    with pytest.raises(MisorderedOperationError):
        validate_operation_log(did, [op, rot])  # gap
    with pytest.raises(MisorderedOperationError):
        validate_operation_log(did, [op, upd, rot, tomb, build_update(rot, signer=k256(20))])
    with pytest.raises(InvalidSignatureError):
        validate_operation_log(did, [op, upd, build_update(upd, signer=RECOVERY).sign(ATTACKER)])
    with pytest.raises(MisorderedOperationError):
        validate_operation_log(did, [])


def test_legacy_create_log() -> None:
    signing, recovery = k256(30), k256(31)
    legacy = LegacyCreateOperation(
        signing_key=signing.did_key(),
        recovery_key=recovery.did_key(),
        handle="old.test",
        service="https://pds.test",
    ).sign(signing)
    from lexforge.runtime.plc import did_for_genesis

    did = did_for_genesis(legacy)
    upd = build_update(legacy, signer=signing, signing_key=k256(32).did_key())
    state = validate_operation_log(did, [legacy, upd])
    assert state is not None
    assert state.verification_methods == {"atproto": k256(32).did_key()}
    assert state.also_known_as == ("at://old.test",)
    log = Log(did)
    log.submit(legacy, T0)
    log.submit(upd, T0 + timedelta(days=7))
    # recovery key (index 0 after normalisation) outranks the signing key
    fix = build_update(legacy, signer=recovery, handle="fixed.test")
    log.submit(fix, T0 + timedelta(days=8))
    assert [e.nullified for e in log.entries] == [False, True, False]
    # a legacy create can only be a genesis
    with pytest.raises(MisorderedOperationError):
        validate_operation_log(did, [legacy, legacy])


def test_logs_tolerate_historical_oddities() -> None:
    """Real logs contain duplicate and even empty rotation-key lists; log validation
    (unlike submission) accepts them, as the reference does."""
    did, op = create_genesis(
        rotation_keys=[RECOVERY.did_key()],
        signing_key=None,
        handle=None,
        pds_endpoint=None,
        signer=RECOVERY,
    )
    dup = PlcOperation(
        rotation_keys=(RECOVERY.did_key(), RECOVERY.did_key()),
        verification_methods={},
        also_known_as=(),
        services={},
        prev=str(op.cid()),
    ).sign(RECOVERY)
    empty = PlcOperation(
        rotation_keys=(),
        verification_methods={},
        also_known_as=(),
        services={},
        prev=str(dup.cid()),
    ).sign(RECOVERY)
    state = validate_operation_log(did, [op, dup, empty])
    assert state is not None
    assert state.rotation_keys == ()
    frozen = build_update  # nothing can sign after an empty rotation-key list
    with pytest.raises(InvalidSignatureError):
        frozen(empty, signer=RECOVERY)


# -- audit log replay ---------------------------------------------------------------------


def audit_json(log: Log) -> list[dict[str, Any]]:
    return [e.to_json() for e in log.entries]


def nontrivial_log() -> Log:
    """op0 <- op1 <- op2 <- op3 <- op4; op5 forks at op3; op6 on op5; op7 forks at op1."""
    keys = [(k256(40 + 2 * i), k256(41 + 2 * i)) for i in range(8)]
    did, op0 = create_genesis(
        rotation_keys=[keys[0][0].did_key(), keys[0][1].did_key()],
        signing_key=None,
        handle="op0.test",
        pds_endpoint=None,
        signer=keys[0][1],
    )
    log = Log(did)
    log.submit(op0, T0)
    ops: list[Operation] = [op0]

    def step(prev_index: int, i: int, signer_slot: int) -> None:
        prev = ops[prev_index]
        assert isinstance(prev, PlcOperation)
        op = build_update(
            prev,
            signer=keys[prev_index][signer_slot],
            rotation_keys=[keys[i][0].did_key(), keys[i][1].did_key()],
            handle=f"op{i}.test",
        )
        ops.append(op)
        log.submit(op, T0 + timedelta(seconds=i))

    step(0, 1, 1)
    step(1, 2, 1)
    step(2, 3, 1)
    step(3, 4, 1)
    step(3, 5, 0)  # stronger key of op3 nullifies op4
    step(5, 6, 1)
    step(1, 7, 0)  # stronger key of op1 nullifies op2..op6
    return log


def test_audit_log_replay_of_nested_forks() -> None:
    log = nontrivial_log()
    assert [e.nullified for e in log.entries] == [False, False, True, True, True, True, True, False]
    entries = parse_audit_log(audit_json(log))
    state = validate_audit_log(log.did, entries)
    assert state is not None
    assert state.also_known_as == ("at://op7.test",)


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda e: e[2].update(nullified=False), InvalidAuditLogError),
        (lambda e: e[1].update(nullified=True), InvalidAuditLogError),
        (lambda e: e[3].update(createdAt=e[2]["createdAt"]), InvalidAuditLogError),
        (lambda e: e[1].update(cid=e[2]["cid"]), InvalidAuditLogError),
        (lambda e: e[1].update(did="did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"), InvalidAuditLogError),
        (lambda e: e.pop(1), MisorderedOperationError),
        (lambda e: e.insert(0, e.pop(7)), MisorderedOperationError),
    ],
)
def test_audit_log_inconsistencies(mutate: Any, error: type[Exception]) -> None:
    raw = audit_json(nontrivial_log())
    mutate(raw)
    with pytest.raises(error):
        validate_audit_log(raw[0]["did"] if raw else "", parse_audit_log(raw))


def test_audit_log_with_late_nullification_is_invalid() -> None:
    log, op, _ = recovery_setup()
    recover = build_update(op, signer=RECOVERY)
    log.submit(recover, T0 + timedelta(hours=5))
    raw = audit_json(log)
    raw[2]["createdAt"] = "2025-01-05T00:00:00.000Z"  # now > 72h after the hijack
    with pytest.raises(LateRecoveryError):
        validate_audit_log(log.did, parse_audit_log(raw))


def test_audit_log_rejects_tampered_signature() -> None:
    log = nontrivial_log()
    raw = audit_json(log)
    raw[1]["operation"]["sig"] = b64url_encode(bytes(64))
    with pytest.raises(InvalidAuditLogError):  # the cid no longer matches the operation
        validate_audit_log(log.did, parse_audit_log(raw))


@pytest.mark.parametrize(
    "bad",
    [
        {},
        [1],
        [{"did": "x"}],
        [{"did": 1, "operation": {}, "cid": "x", "nullified": False, "createdAt": "x"}],
    ],
)
def test_parse_audit_log_rejects_garbage(bad: object) -> None:
    with pytest.raises(InvalidAuditLogError):
        parse_audit_log(bad)


def test_tombstone_type() -> None:
    did, op = genesis()
    tomb = build_tombstone(op, signer=RECOVERY)
    assert isinstance(tomb, PlcTombstone)
    assert validate_operation_log(did, [op, tomb]) is None

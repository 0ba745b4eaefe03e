"""Commits, writes, swaps, revs, and the sync 1.1 diff (inversion and its mutants)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from lexforge.runtime.car import CarError, read_car, write_car
from lexforge.runtime.crypto import K256Keypair, P256Keypair
from lexforge.runtime.data import CID, encode
from lexforge.runtime.repo import (
    MAX_OPS,
    Commit,
    CommitError,
    Create,
    Delete,
    MemoryBlockStore,
    RecordOp,
    Repo,
    RepoError,
    SwapError,
    Update,
    WriteError,
    invert_ops,
    sign_commit,
)
from lexforge.runtime.syntax import TidClock
from tests.repo.helpers import DID, POST, make_repo, post, random_writes


def test_commit_sign_verify_and_shape() -> None:
    for key in (K256Keypair.generate(), P256Keypair.generate()):
        data = CID.for_cbor(encode({"e": [], "l": None}))
        commit = sign_commit(DID, "3kaaaaaaaaa22", data, key)
        block = commit.to_block()
        again = Commit.from_block(block)
        assert again == commit
        assert again.verify(key.public_key)
        assert again.verify(key.did_key())
        assert not again.verify(K256Keypair.generate().public_key)
        assert not replace(again, rev="3kaaaaaaaaa23").verify(key.public_key)
        assert len(commit.sig) == 64
        # prev must be present even when null; field order in the encoding is canonical
        assert b"dprev\xf6" in block


def test_commit_block_checks() -> None:
    key = K256Keypair.generate()
    data = CID.for_cbor(b"\xa0")
    good = sign_commit(DID, "3kaaaaaaaaa22", data, key).unsigned()
    cases = [
        {**good, "sig": b"x", "version": 1},
        {k: v for k, v in good.items() if k != "prev"} | {"sig": b"x"},
        {**good, "sig": b"x", "did": "nope"},
        {**good, "sig": b"x", "rev": "notatid"},
        {**good, "sig": b""},
        {**good, "sig": b"x", "extra": 1},
        {**good, "sig": b"x", "data": CID.for_raw(b"x")},
    ]
    for case in cases:
        with pytest.raises(CommitError):
            Commit.from_block(encode(case))
    with pytest.raises(CommitError):
        Commit.from_block(b"\xff")


def test_create_read_update_delete() -> None:
    repo, key = make_repo(3)
    assert repo.commit.verify(key.public_key)
    assert repo.get_record(POST, "3k00000000001") == post("1")
    diff = repo.apply_writes(
        [
            Create(POST, "new", post("n")),
            Update(POST, "3k00000000000", post("changed")),
            Delete(POST, "3k00000000002"),
        ]
    )
    assert [op.action for op in diff.ops] == ["create", "update", "delete"]
    assert diff.ops[1].prev is not None
    assert diff.ops[2].cid is None
    assert diff.ops[2].prev is not None
    assert repo.get_record(POST, "new") == post("n")
    assert repo.get_record(POST, "3k00000000000") == post("changed")
    assert repo.get_record(POST, "3k00000000002") is None
    assert [p for p, _ in repo.list_records(POST)] == [
        f"{POST}/3k00000000000",
        f"{POST}/3k00000000001",
        f"{POST}/new",
    ]
    assert diff.since is not None
    assert diff.since < diff.rev
    reopened = Repo.open(repo.store, key)
    assert reopened.head == repo.head
    assert dict(reopened.list_records()) == dict(repo.list_records())


def test_write_errors_leave_repo_unchanged() -> None:
    repo, _ = make_repo(2)
    head = repo.head
    bad_batches = [
        [Create(POST, "3k00000000000", post("dup"))],
        [Update(POST, "missing", post("x"))],
        [Delete(POST, "missing")],
        [Create(POST, "a", post("1")), Create(POST, "a", post("2"))],
        [Create("not an nsid", "a", post("1"))],
        [Create(POST, "..", post("1"))],
        [Create(POST, "a", {"text": "no type"})],
        [Create(POST, "a", {"$type": POST, "f": 1.5})],
        [Create(POST, f"r{i}", post("x")) for i in range(MAX_OPS + 1)],
    ]
    for batch in bad_batches:
        with pytest.raises(WriteError):
            repo.apply_writes(batch)
        assert repo.head == head
    current = repo.get_record_cid(POST, "3k00000000000")
    other = CID.for_cbor(b"\xa0")
    with pytest.raises(SwapError):
        repo.apply_writes([Update(POST, "3k00000000000", post("x"), swap_record=other)])
    with pytest.raises(SwapError):
        repo.apply_writes([Delete(POST, "3k00000000000", swap_record=other)])
    with pytest.raises(SwapError):
        repo.apply_writes([], swap_commit=other)
    repo.apply_writes([Delete(POST, "3k00000000000", swap_record=current)], swap_commit=head)
    assert repo.head != head


def test_concurrent_writer_loses_swap() -> None:
    repo, key = make_repo(1)
    twin = Repo.open(repo.store, key)
    repo.apply_writes([Create(POST, "a", post("a"))])
    with pytest.raises(SwapError):
        twin.apply_writes([Create(POST, "b", post("b"))])


def test_rev_increases_even_when_clock_goes_back() -> None:
    now = [1_700_000_000_000_000]
    repo, key = make_repo(0)
    repo.clock = TidClock(time_us=lambda: now[0])
    revs = [repo.apply_writes([]).rev for _ in range(3)]
    # "restart" with the clock an hour behind
    now[0] -= 3_600_000_000
    restarted = Repo.open(repo.store, key, clock=TidClock(time_us=lambda: now[0]))
    revs.append(restarted.apply_writes([]).rev)
    assert revs == sorted(revs)
    assert len(set(revs)) == len(revs)


def test_rotate_key() -> None:
    repo, old = make_repo(1)
    new = P256Keypair.generate()
    diff = repo.rotate_key(new)
    assert diff.ops == ()
    assert diff.commit.verify(new.public_key)
    assert not diff.commit.verify(old.public_key)
    assert invert_ops(diff.ops, diff.blocks, diff.commit.data) == diff.prev_data


def test_inversion_over_random_histories() -> None:
    rnd = random.Random(7)
    repo, _ = make_repo(300)
    for _ in range(120):
        diff = repo.apply_writes(random_writes(repo, rnd))
        assert diff.prev_data is not None
        assert invert_ops(diff.ops, diff.blocks, diff.commit.data) == diff.prev_data
        assert len(diff.car()) < 2_000_000


def test_inversion_from_empty_repo() -> None:
    repo, _ = make_repo(0)
    diff = repo.apply_writes([Create(POST, "a", post("a"))])
    assert invert_ops(diff.ops, diff.blocks, diff.commit.data) == diff.prev_data
    diff = repo.apply_writes([Delete(POST, "a")])
    assert invert_ops(diff.ops, diff.blocks, diff.commit.data) == diff.prev_data


def _mutants(ops: tuple[RecordOp, ...]) -> list[tuple[str, list[RecordOp]]]:
    other = CID.for_cbor(b"\xa1ax\x01")
    out: list[tuple[str, list[RecordOp]]] = []
    for i, op in enumerate(ops):
        rest = [o for j, o in enumerate(ops) if j != i]
        out.append((f"drop {op.action}", rest))
        if op.prev is not None:
            out.append((f"change prev of {op.action}", [*rest, replace(op, prev=other)]))
        if op.cid is not None:
            out.append((f"change cid of {op.action}", [*rest, replace(op, cid=other)]))
        out.append((f"duplicate {op.action}", [*ops, op]))
    out.append(("add fake create", [*ops, RecordOp("create", f"{POST}/zzzz", other)]))
    out.append(("add fake delete", [*ops, RecordOp("delete", f"{POST}/zzzz", None, other)]))
    out.append(
        ("add fake update", [*ops, RecordOp("update", f"{POST}/3k00000000005", other, other)])
    )
    updates = [o for o in ops if o.action == "update"]
    if len(updates) >= 2:
        a, b = updates[:2]
        swapped = [replace(a, cid=b.cid), replace(b, cid=a.cid)]
        out.append(("swap cids between ops", [o for o in ops if o not in (a, b)] + swapped))
    creates = [o for o in ops if o.action == "create"]
    if creates:
        c = creates[0]
        out.append(
            (
                "create as update",
                [*[o for o in ops if o != c], replace(c, action="update", prev=other)],
            )
        )
    return out


def test_mutated_ops_are_rejected() -> None:
    repo, _ = make_repo(50)
    diff = repo.apply_writes(
        [
            Create(POST, "c1", post("1")),
            Create(POST, "c2", post("2")),
            Update(POST, "3k00000000001", post("u1")),
            Update(POST, "3k00000000002", post("u2")),
            Delete(POST, "3k00000000003"),
        ]
    )
    assert invert_ops(diff.ops, diff.blocks, diff.commit.data) == diff.prev_data
    # a pure permutation states the same changes and is accepted (ops are normalised)
    assert invert_ops(diff.ops[::-1], diff.blocks, diff.commit.data) == diff.prev_data
    for name, ops in _mutants(diff.ops):
        try:
            root = invert_ops(ops, diff.blocks, diff.commit.data)
        except RepoError:
            continue
        assert root != diff.prev_data, name


def test_swapped_or_missing_block_is_rejected() -> None:
    repo, _ = make_repo(200)
    diff = repo.apply_writes([Create(POST, "zz", post("z")), Delete(POST, "3k00000000100")])
    for cid in list(diff.blocks):
        if cid == diff.cid:
            continue
        blocks = {c: b for c, b in diff.blocks.items() if c != cid}
        try:
            root = invert_ops(diff.ops, blocks, diff.commit.data)
        except RepoError:
            continue
        # a block that inversion did not need (e.g. a record) may be missing here
        assert root == diff.prev_data
    # swap the bytes of a node for another node's: the hash no longer matches its CID
    cids = [c for c in diff.blocks if c != diff.cid]
    swapped = dict(diff.blocks)
    swapped[cids[0]], swapped[cids[1]] = swapped[cids[1]], swapped[cids[0]]
    with pytest.raises(CarError):
        read_car(write_car([diff.cid], swapped, verify=False))


def test_create_rejects_nonempty_store() -> None:
    repo, key = make_repo(0)
    with pytest.raises(RepoError):
        Repo.create(repo.store, DID, key)
    with pytest.raises(RepoError):
        Repo.open(MemoryBlockStore(), key)

"""Export (full and since), verified import, record proofs, and the SQLite store."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from lexforge.runtime.car import read_car, write_car
from lexforge.runtime.crypto import K256Keypair
from lexforge.runtime.data import CID, encode
from lexforge.runtime.repo import (
    CommitError,
    Create,
    Delete,
    InvalidMstError,
    InvalidSignatureError,
    MemoryBlockStore,
    ProofError,
    Repo,
    RepoError,
    RepoImportError,
    SqliteBlockStore,
    export_car,
    import_repo,
    iter_car_chunks,
    record_proof,
    sign_commit,
    verify_record_proof,
    verify_repo_car,
)
from tests.repo.helpers import DID, POST, make_repo, post, random_writes


def test_export_import_round_trip() -> None:
    repo, key = make_repo(300)
    rnd = random.Random(3)
    for _ in range(10):
        repo.apply_writes(random_writes(repo, rnd))
    car = export_car(repo.store)
    roots, blocks = read_car(car, require_single_root=True)
    assert roots == [repo.head]
    assert next(iter(blocks)) == repo.head  # commit first
    verified = verify_repo_car(car, did=DID, key=key.public_key)
    assert verified.records == dict(repo.list_records())
    assert sum(verified.collections.values()) == len(verified.records)
    store = MemoryBlockStore()
    import_repo(car, store, did=DID, key=key.did_key())
    assert store.head() == (repo.head, repo.rev)
    # idempotent
    import_repo(car, store, did=DID, key=key.did_key())
    copy = Repo.open(store, key)
    assert dict(copy.list_records()) == dict(repo.list_records())
    assert b"".join(iter_car_chunks(repo.store, chunk_size=100)) == car


def test_import_rejects_bad_cars() -> None:
    repo, key = make_repo(20)
    car = export_car(repo.store)
    with pytest.raises(InvalidSignatureError):
        verify_repo_car(car, key=K256Keypair.generate().public_key)
    with pytest.raises(CommitError):
        verify_repo_car(car, did="did:plc:someoneelse", key=key.public_key)
    roots, blocks = read_car(car)
    records = {cid for cid in blocks if cid not in {n.cid for n in repo.tree.nodes()}}
    records.discard(repo.head)
    missing = next(iter(records))
    with pytest.raises(RepoImportError, match="missing"):
        verify_repo_car(write_car(roots, {c: b for c, b in blocks.items() if c != missing}))
    node = repo.tree.root.cid
    with pytest.raises(RepoImportError, match="incomplete"):
        verify_repo_car(write_car(roots, {c: b for c, b in blocks.items() if c != node}))
    with pytest.raises(RepoImportError):
        verify_repo_car(write_car([roots[0], roots[0]], blocks))
    tampered = car.replace(b"text", b"texx", 1)
    with pytest.raises(RepoImportError):
        verify_repo_car(tampered)
    with pytest.raises(RepoImportError):
        verify_repo_car(car[:-5])


def test_import_rejects_forged_tree_under_valid_signature() -> None:
    key = K256Keypair.generate()
    leaf = encode({"e": [{"k": b"bad", "p": 0, "t": None, "v": CID.for_cbor(b"\xa0")}], "l": None})
    commit = sign_commit(DID, "3kaaaaaaaaa22", CID.for_cbor(leaf), key)
    block = commit.to_block()
    car = write_car([CID.for_cbor(block)], {CID.for_cbor(block): block, CID.for_cbor(leaf): leaf})
    with pytest.raises(InvalidMstError):
        verify_repo_car(car, key=key.public_key)


def test_import_refuses_older_rev() -> None:
    repo, key = make_repo(5)
    old = export_car(repo.store)
    repo.apply_writes([Create(POST, "x", post("x"))])
    new = export_car(repo.store)
    store = MemoryBlockStore()
    import_repo(new, store, key=key.public_key)
    with pytest.raises(RepoImportError):
        import_repo(old, store, key=key.public_key)


def test_export_since() -> None:
    repo, _ = make_repo(200)
    since = repo.rev
    repo.apply_writes([Create(POST, "new", post("n")), Delete(POST, "3k00000000010")])
    repo.apply_writes([Create(POST, "new2", post("n2"))])
    roots, blocks = read_car(export_car(repo.store, since=since))
    assert roots == [repo.head]
    new_record = repo.get_record_cid(POST, "new")
    assert new_record in blocks
    assert repo.get_record_cid(POST, "3k00000000000") not in blocks
    full = read_car(export_car(repo.store))[1]
    assert len(blocks) < len(full) / 5
    # applying the diff to the old state yields every block of the new tree
    assert {n.cid for n in repo.tree.nodes()} <= set(full)
    # unknown since: full export
    assert len(read_car(export_car(repo.store, since="2222222222222"))[1]) == len(full)


def test_export_memory_does_not_grow_with_repo_size() -> None:
    peaks = []
    for n in (500, 5000):
        repo, _ = make_repo(n)
        tracemalloc.start()
        for _ in iter_car_chunks(repo.store):
            pass
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < peaks[0] * 2 + 200_000, peaks


def test_record_proofs() -> None:
    repo, key = make_repo(500)
    proof = record_proof(repo.store, POST, "3k00000000042")
    cid, _ = verify_record_proof(proof, POST, "3k00000000042", did=DID, key=key.public_key)
    assert cid == repo.get_record_cid(POST, "3k00000000042")
    absent = record_proof(repo.store, POST, "nothere")
    cid, _ = verify_record_proof(absent, POST, "nothere", key=key.public_key)
    assert cid is None
    # a presence proof does not prove another key, and stripping the record breaks it
    roots, blocks = read_car(proof)
    value = repo.get_record_cid(POST, "3k00000000042")
    stripped = write_car(roots, {c: b for c, b in blocks.items() if c != value})
    with pytest.raises(ProofError):
        verify_record_proof(stripped, POST, "3k00000000042")
    with pytest.raises(ProofError):
        verify_record_proof(proof, POST, "3k00000000400")
    with pytest.raises(InvalidSignatureError):
        verify_record_proof(proof, POST, "3k00000000042", key=K256Keypair.generate().public_key)


def test_sqlite_store_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "repo.sqlite"
    store = SqliteBlockStore(path)
    key = K256Keypair.generate()
    repo, _ = Repo.create(store, DID, key, [(POST, "a", post("a"))])
    repo.apply_writes([Create(POST, "b", post("b"))])
    head = repo.head
    store.close()
    again = SqliteBlockStore(path)
    reopened = Repo.open(again, key)
    assert reopened.head == head
    assert reopened.get_record(POST, "b") == post("b")
    verify_repo_car(export_car(again), key=key.public_key)
    again.close()


class _Boom(Exception):
    pass


class _FailingStore(SqliteBlockStore):
    fail = False

    def _before_commit(self) -> None:
        if self.fail:
            raise _Boom


def test_sqlite_exception_mid_commit_rolls_back(tmp_path: Path) -> None:
    store = _FailingStore(tmp_path / "r.sqlite")
    key = K256Keypair.generate()
    repo, _ = Repo.create(store, DID, key, [(POST, "a", post("a"))])
    head = repo.head
    store.fail = True
    with pytest.raises(_Boom):
        repo.apply_writes([Create(POST, "b", post("b"))])
    assert repo.head == head
    assert store.head() == (head, repo.rev)
    store.fail = False
    repo.apply_writes([Create(POST, "c", post("c"))])
    assert Repo.open(store, key).get_record(POST, "b") is None


_CHILD = """
import os, sys
from lexforge.runtime.crypto import K256Keypair
from lexforge.runtime.repo import Create, Repo, SqliteBlockStore

class Dying(SqliteBlockStore):
    def _before_commit(self):
        if self.die:
            os._exit(9)

store = Dying(sys.argv[1])
store.die = False
key = K256Keypair.from_private_bytes(bytes.fromhex(sys.argv[2]))
repo, _ = Repo.create(store, "did:plc:abcdefghijklmnopqrstuvwx", key)
for i in range(5):
    repo.apply_writes([Create("app.bsky.feed.post", f"r{i}", {"$type": "x", "i": i})])
print(repo.head, flush=True)
store.die = True
repo.apply_writes([Create("app.bsky.feed.post", "lost", {"$type": "x"})])
"""


def test_sqlite_killed_mid_commit(tmp_path: Path) -> None:
    path = tmp_path / "killed.sqlite"
    key = K256Keypair.generate()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), key.private_bytes().hex()],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
        check=False,
    )
    assert proc.returncode == 9, proc.stderr
    acknowledged = CID.parse(proc.stdout.strip())
    store = SqliteBlockStore(path)
    assert store.head() is not None
    assert store.head()[0] == acknowledged
    repo = Repo.open(store, key)
    assert repo.get_record(POST, "r4") is not None
    assert repo.get_record(POST, "lost") is None
    verify_repo_car(export_car(store), key=key.public_key)
    store.close()


def test_store_errors() -> None:
    with pytest.raises(RepoError):
        export_car(MemoryBlockStore())

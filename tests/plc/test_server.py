"""The PLC directory server: real uvicorn on loopback, a real SQLite file, an injected
clock for the 72-hour window; driven through PlcClient and raw HTTP."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from lexforge.runtime.identity import (
    DidDeactivatedError,
    DidNotFoundError,
    DidResolver,
    FetchConnectError,
    FetchPolicy,
    SafeHttpClient,
    UnsafeAddressError,
)
from lexforge.runtime.plc import (
    InvalidPlcDidError,
    PlcDirectoryError,
    PlcError,
    PlcNetworkError,
    PlcOperation,
    build_tombstone,
    build_update,
    create_genesis,
    validate_audit_log,
    validate_operation_log,
)
from lexforge.runtime.plc.client import PlcClient
from lexforge.runtime.plc.server import create_app
from lexforge.runtime.plc.store import RateLimit
from tests.identity.servers import ServerThread
from tests.plc.helpers import der_variant, high_s_variant, k256, p256

T = TypeVar("T")
RECOVERY, ROTATION, SIGNING, ATTACKER = k256(1), p256(2), k256(3), k256(99)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class Directory:
    def __init__(self, db: Path, clock: Clock, **app_args: Any) -> None:
        self.db = db
        self.clock = clock
        self.app = create_app(db, clock=clock, **app_args)
        self.server = ServerThread(self.app)

    def __enter__(self) -> Directory:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(None, None, None)
        self.app.state.store.close()

    @property
    def url(self) -> str:
        return self.server.base_url

    def run(self, fn: Callable[[PlcClient], Awaitable[T]]) -> T:
        async def go() -> T:
            async with PlcClient(self.url, policy=FetchPolicy(allow_loopback=True)) as client:
                return await fn(client)

        return asyncio.run(go())

    def raw(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with httpx.Client(base_url=self.url, timeout=5) as client:
            return client.request(method, path, **kwargs)


@pytest.fixture
def plc(tmp_path: Path) -> Iterator[Directory]:
    with Directory(tmp_path / "plc.sqlite3", Clock()) as directory:
        yield directory


def genesis(handle: str = "alice.test") -> tuple[str, PlcOperation]:
    return create_genesis(
        rotation_keys=[RECOVERY.did_key(), ROTATION.did_key()],
        signing_key=SIGNING.did_key(),
        handle=handle,
        pds_endpoint="https://pds.test",
        signer=ROTATION,
    )


def test_create_resolve_update_rotate(plc: Directory) -> None:
    did, op = genesis()
    plc.run(lambda c: c.submit(did, op))
    doc = plc.run(lambda c: c.get_document(did))
    assert doc["id"] == did
    assert doc["alsoKnownAs"] == ["at://alice.test"]
    assert doc["verificationMethod"][0] == {
        "id": f"{did}#atproto",
        "type": "Multikey",
        "controller": did,
        "publicKeyMultibase": SIGNING.public_key.multikey(),
    }
    assert doc["service"] == [
        {
            "id": "#atproto_pds",
            "type": "AtprotoPersonalDataServer",
            "serviceEndpoint": "https://pds.test",
        }
    ]

    plc.clock.advance(timedelta(minutes=1))
    upd = build_update(op, signer=ROTATION, handle="alice2.test", pds_endpoint="https://p2.test")
    plc.run(lambda c: c.submit(did, upd))
    data = plc.run(lambda c: c.get_data(did))
    assert data["alsoKnownAs"] == ["at://alice2.test"]
    assert data["services"]["atproto_pds"]["endpoint"] == "https://p2.test"
    assert data["rotationKeys"] == [RECOVERY.did_key(), ROTATION.did_key()]

    new_key = k256(50)
    plc.clock.advance(timedelta(minutes=1))
    rot = build_update(upd, signer=RECOVERY, rotation_keys=[RECOVERY.did_key(), new_key.did_key()])
    plc.run(lambda c: c.submit(did, rot))
    last = plc.run(lambda c: c.get_last_operation(did))
    assert last == rot
    log = plc.run(lambda c: c.get_log(did))
    assert log == [op, upd, rot]
    assert validate_operation_log(did, log) is not None

    # The rotated-out key can no longer sign.
    stale = build_update(upd, signer=ROTATION, handle="x.test")  # built on old prev
    with pytest.raises(PlcDirectoryError) as info:
        plc.run(lambda c: c.submit(did, build_update(rot, signer=new_key).sign(ROTATION)))
    assert info.value.status == 400
    with pytest.raises(PlcDirectoryError):
        plc.run(lambda c: c.submit(did, stale))


def test_recovery_within_72_hours_then_refused_after(plc: Directory) -> None:
    did, op = genesis()
    plc.run(lambda c: c.submit(did, op))
    plc.clock.advance(timedelta(hours=1))
    hijack = build_update(op, signer=ROTATION, rotation_keys=[ATTACKER.did_key()], handle="m.test")
    plc.run(lambda c: c.submit(did, hijack))
    plc.clock.advance(timedelta(hours=71, minutes=59))
    recover = build_update(op, signer=RECOVERY, rotation_keys=[RECOVERY.did_key()])
    plc.run(lambda c: c.submit(did, recover))
    audit = plc.run(lambda c: c.get_audit_log(did))
    assert [e.nullified for e in audit] == [False, True, False]
    assert validate_audit_log(did, audit) is not None
    assert plc.run(lambda c: c.get_data(did))["alsoKnownAs"] == ["at://alice.test"]

    # A second attack, recovered too late.
    plc.clock.advance(timedelta(minutes=5))
    did2, op2 = genesis("bob.test")
    plc.run(lambda c: c.submit(did2, op2))
    plc.clock.advance(timedelta(minutes=5))
    hijack2 = build_update(op2, signer=ROTATION, rotation_keys=[ATTACKER.did_key()])
    plc.run(lambda c: c.submit(did2, hijack2))
    plc.clock.advance(timedelta(hours=72, seconds=1))
    late = build_update(op2, signer=RECOVERY)
    with pytest.raises(PlcDirectoryError) as info:
        plc.run(lambda c: c.submit(did2, late))
    assert info.value.status == 400
    assert "recovery window" in info.value.message
    assert plc.run(lambda c: c.get_last_operation(did2)) == hijack2


def test_tombstone(plc: Directory) -> None:
    did, op = genesis()
    plc.run(lambda c: c.submit(did, op))
    plc.clock.advance(timedelta(minutes=1))
    tomb = build_tombstone(op, signer=ROTATION)
    plc.run(lambda c: c.submit(did, tomb))
    for path in (f"/{did}", f"/{did}/data"):
        response = plc.raw("GET", path)
        assert response.status_code == 410
        assert "not available" in response.json()["message"]
    assert plc.raw("GET", f"/{did}/log/last").json() == tomb.to_json()
    assert len(plc.raw("GET", f"/{did}/log/audit").json()) == 2

    async def resolve() -> Any:
        async with SafeHttpClient(FetchPolicy(allow_loopback=True)) as http:
            return await DidResolver(http, plc_url=plc.url).resolve(did)

    with pytest.raises(DidDeactivatedError):
        asyncio.run(resolve())

    # Nothing may follow the tombstone...
    after = PlcOperation(
        rotation_keys=op.rotation_keys,
        verification_methods={},
        also_known_as=(),
        services={},
        prev=str(tomb.cid()),
    ).sign(ROTATION)
    plc.clock.advance(timedelta(minutes=1))
    response = plc.raw("POST", f"/{did}", json=after.to_json())
    assert response.status_code == 410
    # ...but the higher-priority key can still undo it within 72 hours.
    undo = build_update(op, signer=RECOVERY)
    assert plc.raw("POST", f"/{did}", json=undo.to_json()).status_code == 200
    assert plc.raw("GET", f"/{did}").status_code == 200


def test_unknown_dids(plc: Directory) -> None:
    did = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
    for path in ("", "/data", "/log", "/log/audit", "/log/last"):
        response = plc.raw("GET", f"/{did}{path}")
        assert response.status_code == 404, path
        assert "not registered" in response.json()["message"]

    async def resolve() -> Any:
        async with SafeHttpClient(FetchPolicy(allow_loopback=True)) as http:
            return await DidResolver(http, plc_url=plc.url).resolve(did)

    with pytest.raises(DidNotFoundError):
        asyncio.run(resolve())
    _, op = genesis()
    update = build_update(op, signer=ROTATION)
    assert plc.raw("POST", f"/{did}", json=update.to_json()).status_code == 404


def _bad_submissions() -> list[tuple[str, Any, str]]:
    _did, op = genesis()
    good = op.to_json()
    return [
        ("not json", b"{", "InvalidRequest"),
        ("array", [], "InvalidOperation"),
        ("unknown field", {**good, "extra": True}, "InvalidOperation"),
        ("padded sig", {**good, "sig": good["sig"] + "=="}, "InvalidOperation"),
        (
            "high-S sig",
            high_s_variant(
                good, 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
            ),
            "InvalidSignature",
        ),
        ("DER sig", der_variant(good), "InvalidOperation"),
        ("wrong did", good, "GenesisMismatch"),
        ("duplicate keys", b'{"type": "plc_operation", "type": "plc_operation"}', "InvalidRequest"),
        ("NaN", b'{"x": NaN}', "InvalidRequest"),
        (
            "too many rotation keys",
            _many_keys_op(),
            "InvalidOperation",
        ),
    ]


def _many_keys_op() -> dict[str, Any]:
    keys = tuple(k256(200 + i).did_key() for i in range(11))
    return (
        PlcOperation(
            rotation_keys=keys, verification_methods={}, also_known_as=(), services={}, prev=None
        )
        .sign(k256(200))
        .to_json()
    )


def test_bad_operations_get_clear_400s(plc: Directory) -> None:
    did, _ = genesis()
    for name, body, error in _bad_submissions():
        target = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa" if name == "wrong did" else did
        if isinstance(body, bytes):
            response = plc.raw("POST", f"/{target}", content=body)
        else:
            response = plc.raw("POST", f"/{target}", json=body)
        assert response.status_code == 400, name
        payload = response.json()
        assert payload["error"] == error, (name, payload)
        assert payload["message"], name
    assert plc.raw("GET", f"/{did}").status_code == 404  # nothing was stored


def test_invalid_did_and_oversized_body(plc: Directory) -> None:
    _, op = genesis()
    assert plc.raw("POST", "/did:web:example.com", json=op.to_json()).status_code == 400
    assert (
        plc.raw("POST", "/did:plc:UPPERCASEAAAAAAAAAAAAAAA", json=op.to_json()).status_code == 400
    )
    did, _ = genesis()
    big = b'{"pad": "' + b"x" * 20_000 + b'"}'
    assert plc.raw("POST", f"/{did}", content=big).status_code == 413


def test_rate_limit(tmp_path: Path) -> None:
    clock = Clock()
    with Directory(
        tmp_path / "rl.sqlite3", clock, rate_limits=(RateLimit(3, timedelta(hours=1)),)
    ) as plc:
        did, op = genesis()
        plc.run(lambda c: c.submit(did, op))
        prev = op
        for i in range(2):
            clock.advance(timedelta(minutes=1))
            prev = build_update(prev, signer=ROTATION, handle=f"u{i}.test")
            plc.run(lambda c, p=prev: c.submit(did, p))
        clock.advance(timedelta(minutes=1))
        blocked = build_update(prev, signer=ROTATION, handle="blocked.test")
        response = plc.raw("POST", f"/{did}", json=blocked.to_json())
        assert response.status_code == 429
        clock.advance(timedelta(hours=1))
        assert plc.raw("POST", f"/{did}", json=blocked.to_json()).status_code == 200


def test_export_cursors(plc: Directory) -> None:
    created = []
    for i in range(5):
        did, op = genesis(f"user{i}.test")
        plc.clock.advance(timedelta(seconds=1))
        plc.run(lambda c, d=did, o=op: c.submit(d, o))
        created.append((did, op))
    page = plc.run(lambda c: c.export(after=0, count=2))
    assert [line["seq"] for line in page] == [1, 2]
    assert all(line["type"] == "indexed_op" for line in page)
    assert page[0]["did"] == created[0][0]
    assert page[0]["cid"] == str(created[0][1].cid())
    rest = plc.run(lambda c: c.export(after=page[-1]["seq"], count=1000))
    assert [line["seq"] for line in rest] == [3, 4, 5]
    assert plc.run(lambda c: c.export(after=5)) == []

    legacy = plc.raw("GET", "/export", params={"count": "2"})
    assert legacy.headers["content-type"].startswith("application/jsonlines")
    lines = [json.loads(x) for x in legacy.text.splitlines()]
    assert [x["did"] for x in lines] == [created[0][0], created[1][0]]
    assert "seq" not in lines[0]
    assert lines[0]["nullified"] is False
    after = plc.raw("GET", "/export", params={"after": lines[-1]["createdAt"]})
    assert [json.loads(x)["did"] for x in after.text.splitlines()] == [d for d, _ in created[2:]]
    for bad in ({"count": "0"}, {"count": "x"}, {"after": "yesterday"}):
        assert plc.raw("GET", "/export", params=bad).status_code == 400
    assert len(plc.raw("GET", "/export", params={"count": "5000"}).text.splitlines()) == 5


def test_persistence_across_restart(tmp_path: Path) -> None:
    db = tmp_path / "persist.sqlite3"
    clock = Clock()
    did, op = genesis()
    with Directory(db, clock) as plc:
        plc.run(lambda c: c.submit(did, op))
    # WAL mode and one row, readable by a plain sqlite3 connection.
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT count(*) FROM operations").fetchone()[0] == 1
    clock.advance(timedelta(minutes=1))
    with Directory(db, clock) as plc:
        assert plc.run(lambda c: c.get_document(did))["id"] == did
        upd = build_update(op, signer=RECOVERY, handle="again.test")
        plc.run(lambda c: c.submit(did, upd))
        assert len(plc.run(lambda c: c.get_log(did))) == 2


def test_timestamps_strictly_increase_even_if_the_clock_stalls(plc: Directory) -> None:
    did, op = genesis()
    plc.run(lambda c: c.submit(did, op))
    upd = build_update(op, signer=ROTATION, handle="b.test")
    plc.run(lambda c: c.submit(did, upd))  # same clock reading
    audit = plc.run(lambda c: c.get_audit_log(did))
    assert audit[1].created_at > audit[0].created_at
    assert validate_audit_log(did, audit) is not None


def test_concurrent_forks_only_one_wins(plc: Directory) -> None:
    did, op = genesis()
    plc.run(lambda c: c.submit(did, op))
    plc.clock.advance(timedelta(minutes=1))
    forks = [build_update(op, signer=ROTATION, handle=f"fork{i}.test") for i in range(6)]

    async def go() -> list[BaseException | None]:
        async with PlcClient(plc.url, policy=FetchPolicy(allow_loopback=True)) as client:
            results = await asyncio.gather(
                *(client.submit(did, f) for f in forks), return_exceptions=True
            )
        return [r if isinstance(r, BaseException) else None for r in results]

    results = asyncio.run(go())
    assert results.count(None) == 1
    log = plc.run(lambda c: c.get_log(did))
    assert len(log) == 2


def test_health(plc: Directory) -> None:
    assert "version" in plc.raw("GET", "/_health").json()


# -- the client: typed errors, validated paths, trusted local URL -----------------------------


@pytest.mark.parametrize(
    "did", ["not-a-did", "did:web:example.com", f"{genesis()[0]}/log", "../export", "did:plc:A"]
)
def test_client_refuses_non_plc_dids_before_any_request(plc: Directory, did: str) -> None:
    _, op = genesis()
    calls: list[Callable[[PlcClient], Awaitable[Any]]] = [
        lambda c: c.get_document(did),
        lambda c: c.get_data(did),
        lambda c: c.get_log(did),
        lambda c: c.get_audit_log(did),
        lambda c: c.get_last_operation(did),
        lambda c: c.submit(did, op),
    ]
    for call in calls:
        with pytest.raises(InvalidPlcDidError):
            plc.run(call)


def test_client_network_failures_are_plc_errors_with_the_cause() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, never listening

    async def go(url: str) -> None:
        async with PlcClient(url) as client:
            await client.get_document(genesis()[0])

    with pytest.raises(PlcNetworkError) as info:
        asyncio.run(go(dead))
    assert isinstance(info.value.__cause__, FetchConnectError)
    assert isinstance(info.value, PlcError)
    with pytest.raises(PlcNetworkError) as info:
        asyncio.run(go("https://10.0.0.1"))
    assert isinstance(info.value.__cause__, UnsafeAddressError)


def test_client_trusts_a_local_directory_url(plc: Directory) -> None:
    did, op = genesis()

    async def go() -> dict[str, Any]:
        async with PlcClient(plc.url) as client:  # default policy: no loopback switch
            await client.submit(did, op)
            return await client.get_data(did)

    assert asyncio.run(go())["did"] == did

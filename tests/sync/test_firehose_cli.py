"""``lexforge firehose`` against a live relay (run in its own thread and event loop)."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from lexforge.runtime.cli import main
from lexforge.runtime.crypto import K256Keypair
from lexforge.runtime.repo import Create, MemoryBlockStore, Repo
from lexforge.runtime.sync import (
    AccountEvent,
    CommitEvent,
    Event,
    IdentityEvent,
    InfoEvent,
    encode_error_frame,
    encode_frame,
)
from lexforge.runtime.sync.cli import format_event
from tests.sync.firehose_fixtures import (
    TIME,
    FakeRelay,
    commit_event,
    interleave,
    make_histories,
    post,
    running_relay,
)

pytestmark = pytest.mark.timeout(30)

EVENTS = interleave(make_histories(2, 3))


@contextmanager
def relay_thread(relay: FakeRelay) -> Iterator[FakeRelay]:
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def serve() -> None:
        async with running_relay(relay):
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield relay
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


def test_prints_one_line_per_event() -> None:
    did = EVENTS[0].did
    extra: list[Event] = [
        IdentityEvent(seq=100, did=did, time=TIME, handle="alice.test"),
        AccountEvent(seq=101, did=did, time=TIME, active=False, status="takendown"),
    ]
    relay = FakeRelay([*EVENTS, *extra])
    relay.prefix = {0: [encode_frame(InfoEvent(name="OutdatedCursor"))]}
    with relay_thread(relay):
        result = CliRunner().invoke(
            main, ["firehose", relay.url, "--cursor", "0", "--limit", str(len(EVENTS) + 2)]
        )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(EVENTS) + 2
    first = EVENTS[0]
    assert lines[0] == (
        f"{first.seq} #commit {first.did} rev={first.rev} ops=1 [create {first.ops[0].path}]"
    )
    assert lines[-2] == f"100 #identity {did} handle=alice.test"
    assert lines[-1] == f"101 #account {did} active=false status=takendown"
    assert "#info OutdatedCursor" in result.stderr
    assert relay.cursors == [0]


def test_format_many_ops() -> None:
    event = EVENTS[0]
    many = CommitEvent(
        **{
            **{n: getattr(event, n) for n in CommitEvent.__slots__},
            "ops": event.ops * 5,
        }
    )
    assert format_event(many).endswith(", +2 more]")


def test_future_cursor_is_a_clear_error() -> None:
    relay = FakeRelay([])
    relay.prefix = {0: [encode_error_frame("FutureCursor", "Cursor in the future.")]}
    with relay_thread(relay):
        result = CliRunner().invoke(main, ["firehose", relay.url, "--cursor", "99999"])
    assert result.exit_code == 1
    assert "refused the cursor" in result.output


def test_bad_url() -> None:
    result = CliRunner().invoke(main, ["firehose", "ftp://example.com"])
    assert result.exit_code == 2
    assert "URL" in result.output


def test_verify_without_a_verifier_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "lexforge.runtime.sync.verify", None)
    result = CliRunner().invoke(main, ["firehose", "ws://127.0.0.1:9", "--verify"])
    assert result.exit_code == 1
    assert "--verify needs lexforge.runtime.sync.verify" in result.output


def test_verify_checks_commits() -> None:
    """did:key repos resolve offline, so the real verifier runs end to end."""
    key = K256Keypair.generate()
    did = key.did_key()
    repo, first = Repo.create(MemoryBlockStore(), did, key)
    second = repo.apply_writes([Create("app.bsky.feed.post", "3k2aaaaaaaaaa", post("hi"))])
    good = [commit_event(first, 1, did), commit_event(second, 2, did)]
    forged_key = K256Keypair.generate()
    other, forged_first = Repo.create(MemoryBlockStore(), did, forged_key)
    forged = commit_event(
        other.apply_writes([Create("app.bsky.feed.post", "3k2bbbbbbbbbb", post("x"))]), 3, did
    )
    with relay_thread(FakeRelay([*good, forged])) as relay:
        result = CliRunner().invoke(
            main, ["firehose", relay.url, "--cursor", "0", "--verify", "--limit", "3"]
        )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert "REJECTED" not in lines[0]
    assert "REJECTED" not in lines[1]
    assert lines[2].startswith(f"3 #commit {did}")
    assert "REJECTED VerificationError" in lines[2]
    assert "signature" in lines[2]
    del forged_first


def test_verify_resolves_did_plc_keys_through_a_local_plc_directory(tmp_path: Path) -> None:
    """A did:plc repo: keys come from a real `plc serve` app on loopback via --plc-url.

    A local PLC URL is trusted configuration (did:web fetches still refuse loopback), and
    after the DID document rotates its signing key, a commit signed by the old key is
    rejected even after the verifier's one refresh.
    """
    from lexforge.runtime.identity import FetchPolicy
    from lexforge.runtime.plc import build_update, create_genesis
    from lexforge.runtime.plc.client import PlcClient
    from lexforge.runtime.plc.server import create_app
    from tests.identity.servers import ServerThread

    rotation, signing, rotated = (K256Keypair.generate() for _ in range(3))
    did, genesis = create_genesis(
        rotation_keys=[rotation.did_key()],
        signing_key=signing.did_key(),
        handle=None,
        pds_endpoint=None,
        signer=rotation,
    )
    repo, first = Repo.create(MemoryBlockStore(), did, signing)
    second = repo.apply_writes([Create("app.bsky.feed.post", "3k2aaaaaaaaaa", post("hi"))])
    events = [commit_event(first, 1, did), commit_event(second, 2, did)]

    async def submit(url: str, op: object) -> None:
        async with PlcClient(url, policy=FetchPolicy(allow_loopback=True)) as client:
            await client.submit(did, op)  # type: ignore[arg-type]

    app = create_app(tmp_path / "plc.sqlite3")
    try:
        with ServerThread(app) as plc, relay_thread(FakeRelay(events)) as relay:
            plc_url = f"http://127.0.0.1:{plc.port}"
            args = ["firehose", relay.url, "--cursor", "0", "--verify", "--limit", "2"]
            asyncio.run(submit(plc_url, genesis))
            result = CliRunner().invoke(main, [*args, "--plc-url", plc_url])
            assert result.exit_code == 0, result.output
            lines = result.stdout.splitlines()
            assert [line.split()[:2] for line in lines] == [["1", "#commit"], ["2", "#commit"]]
            assert not any("REJECTED" in line for line in lines), result.output

            asyncio.run(
                submit(
                    plc_url, build_update(genesis, signer=rotation, signing_key=rotated.did_key())
                )
            )
            result = CliRunner().invoke(main, [*args, "--plc-url", plc_url])
            assert result.exit_code == 0, result.output
            lines = result.stdout.splitlines()
            assert len(lines) == 2
            assert all("REJECTED VerificationError" in line for line in lines), result.output
    finally:
        app.state.store.close()

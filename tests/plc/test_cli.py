"""The command line: ``lexforge plc serve`` as a real subprocess, then ``plc create``,
``plc update``, ``did resolve`` and ``handle resolve`` against it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner

from lexforge.runtime.cli import main
from tests.identity.dns_stub import DnsStubThread
from tests.plc.helpers import k256, p256

ROTATION = k256(21)
RECOVERY = p256(22)
SIGNING = k256(23)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def plc_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("plc-cli") / "directory.sqlite3"
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lexforge.runtime.cli",
            "plc",
            "serve",
            "--db",
            str(db),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/_health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"plc serve did not start: {proc.stderr.read() if proc.stderr else ''!r}"
                )
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
    assert db.exists()


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=input)
    return result.exit_code, result.output


def create(plc_url: str, handle: str) -> str:
    code, out = run(
        "plc",
        "create",
        "--rotation-key",
        RECOVERY.did_key(),
        "--rotation-key",
        ROTATION.private_hex(),
        "--signing-key",
        SIGNING.did_key(),
        "--handle",
        handle,
        "--pds",
        "https://pds.test",
        "--plc-url",
        plc_url,
    )
    assert code == 0, out
    did, _, op_json = out.partition("\n")
    op = json.loads(op_json)
    assert op["type"] == "plc_operation"
    assert op["prev"] is None
    assert op["rotationKeys"] == [RECOVERY.did_key(), ROTATION.did_key()]
    return did


def test_create_update_tombstone_and_resolve(plc_url: str) -> None:
    did = create(plc_url, "alice.test")
    assert did.startswith("did:plc:")
    assert len(did) == 32

    # The configured local directory is trusted: no development switch needed.
    code, out = run("did", "resolve", did, "--plc-url", plc_url)
    assert code == 0, out
    doc = json.loads(out)
    assert doc["id"] == did
    assert doc["alsoKnownAs"] == ["at://alice.test"]
    assert doc["verificationMethod"][0]["publicKeyMultibase"] == SIGNING.public_key.multikey()

    # Untrusted hosts on loopback stay refused, with a hint at the switch.
    code, out = run("did", "resolve", "did:web:web.test", "--resolve", "web.test=127.0.0.1")
    assert code == 1
    assert "DidResolutionError" in out
    assert "127.0.0.1 is loopback" in out
    assert "add --allow-loopback" in out

    code, out = run(
        "plc",
        "update",
        did,
        "--sign-with",
        ROTATION.private_hex(),
        "--handle",
        "alice2.test",
        "--pds",
        "https://pds2.test",
        "--plc-url",
        plc_url,
    )
    assert code == 0, out
    update = json.loads(out)
    assert update["alsoKnownAs"] == ["at://alice2.test"]
    assert httpx.get(f"{plc_url}/{did}/data").json()["services"]["atproto_pds"]["endpoint"] == (
        "https://pds2.test"
    )

    # rotate: drop ROTATION, keep RECOVERY; sign with a P-256 key read from stdin
    code, out = run(
        "plc",
        "update",
        did,
        "--sign-with",
        "-",
        "--rotation-key",
        RECOVERY.did_key(),
        "--plc-url",
        plc_url,
        input=f"p256:{RECOVERY.private_hex()}\n",
    )
    assert code == 0, out
    code, out = run(
        "plc",
        "update",
        did,
        "--sign-with",
        ROTATION.private_hex(),
        "--handle",
        "x.test",
        "--plc-url",
        plc_url,
    )
    assert code == 1
    assert "not one of" in out

    code, out = run(
        "plc",
        "update",
        did,
        "--sign-with",
        f"p256:{RECOVERY.private_hex()}",
        "--tombstone",
        "--plc-url",
        plc_url,
    )
    assert code == 0, out
    assert json.loads(out)["type"] == "plc_tombstone"
    code, out = run("did", "resolve", did, "--plc-url", plc_url, "--allow-loopback")
    assert code == 1
    assert "DidDeactivated" in out


def test_recovery_fork_with_prev(plc_url: str) -> None:
    did = create(plc_url, "bob.test")
    audit = httpx.get(f"{plc_url}/{did}/log/audit").json()
    genesis_cid = audit[0]["cid"]
    code, out = run(
        "plc",
        "update",
        did,
        "--sign-with",
        ROTATION.private_hex(),
        "--handle",
        "mallory.test",
        "--plc-url",
        plc_url,
    )
    assert code == 0, out
    code, out = run(
        "plc",
        "update",
        did,
        "--sign-with",
        f"p256:{RECOVERY.private_hex()}",
        "--prev",
        genesis_cid,
        "--handle",
        "bob.test",
        "--plc-url",
        plc_url,
    )
    assert code == 0, out
    audit = httpx.get(f"{plc_url}/{did}/log/audit").json()
    assert [e["nullified"] for e in audit] == [False, True, False]


def test_key_files_and_no_submit(plc_url: str, tmp_path: Path) -> None:
    key_file = tmp_path / "rotation.key"
    key_file.write_text(ROTATION.private_hex() + "\n")
    code, out = run(
        "plc",
        "create",
        "--rotation-key",
        ROTATION.did_key(),
        "--sign-with",
        f"@{key_file}",
        "--handle",
        "carol.test",
        "--no-submit",
        "--plc-url",
        "http://127.0.0.1:9",
    )
    assert code == 0, out
    did = out.splitlines()[0]
    assert httpx.get(f"{plc_url}/{did}").status_code == 404


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--rotation-key", "did:key:zQ3shhCGUqDKjStzuDxPkTxN6ujddP4RkEKJJouJGRRkaLGbg"],
            "sign-with",
        ),
        (["--rotation-key", "nothex"], "invalid private key"),
        (["--rotation-key", "ed25519:00"], "unknown key curve"),
        (["--rotation-key", "did:key:zBad"], "invalid did:key"),
    ],
)
def test_create_usage_errors(args: list[str], message: str) -> None:
    code, out = run("plc", "create", *args, "--no-submit")
    assert code == 2
    assert message in out


def test_handle_resolve_cli(plc_url: str) -> None:
    did = create(plc_url, "dave.test")
    records = {"_atproto.dave.test": [[f"did={did}".encode()]]}
    with DnsStubThread(records) as dns:
        # Pin the handles to loopback so the parallel HTTPS well-known fetch stays on
        # this machine (nothing listens on 127.0.0.1:443: a fast connection error).
        common = [
            "--plc-url",
            plc_url,
            "--allow-loopback",
            "--nameserver",
            "127.0.0.1",
            "--dns-port",
            str(dns.port),
            "--timeout",
            "1",
            "--resolve",
            "dave.test=127.0.0.1",
            "--resolve",
            "nobody.test=127.0.0.1",
        ]
        code, out = run("handle", "resolve", "Dave.Test", *common)
        assert code == 0, out
        assert out.strip() == did
        code, out = run("handle", "resolve", "dave.test", "--json", *common)
        assert code == 0, out
        info = json.loads(out)
        assert info == {
            "handle": "dave.test",
            "did": did,
            "verified": True,
            "pds": "https://pds.test",
            "signing_key": SIGNING.did_key(),
        }
        code, out = run("handle", "resolve", "nobody.test", *common)
        assert code == 1
        assert "Handle" in out
        code, out = run("handle", "resolve", "x.local", *common)
        assert code == 1
        assert "HandleReservedTld" in out


def test_resolve_pin_syntax() -> None:
    code, out = run("did", "resolve", "did:web:example.com", "--resolve", "example.com")
    assert code == 2
    assert "HOST=IP" in out


# -- bad input: clear errors, never tracebacks ---------------------------------------------


def _no_traceback(result: Any) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["plc", "update", "not-a-did", "--sign-with", "00" * 31 + "01"], 2, "not a did:plc"),
        (
            ["plc", "update", "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/log", "--sign-with", "01" * 32],
            2,
            "not a did:plc",
        ),
        (
            ["plc", "create", "--rotation-key", "01" * 32, "--handle", "bad..handle"],
            1,
            "invalid handle",
        ),
        (["plc", "create", "--rotation-key", "01" * 32, "--pds", "notaurl"], 1, "PDS endpoint"),
        (["plc", "serve", "--db", "/nonexistent-dir/x/plc.sqlite3"], 1, "cannot open the data"),
        (["did", "resolve", "not-a-did"], 1, "MalformedIdentifierError"),
        (["did", "resolve", "did:plc:short"], 1, "MalformedIdentifierError"),
        (["did", "resolve", "did:web:example.com:path"], 1, "UnsupportedDidMethodError"),
        (["handle", "resolve", "bad..handle"], 1, "MalformedIdentifierError"),
        (["handle", "resolve", "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"], 1, "expected a handle"),
    ],
)
def test_bad_input_gives_clear_errors(
    args: list[str], code: int, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_server(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the server must not start")

    monkeypatch.setattr("lexforge.runtime.plc.cli.uvicorn.run", no_server)
    extra = ["--no-submit"] if args[:2] == ["plc", "create"] else []
    result = CliRunner().invoke(main, [*args, *extra])
    _no_traceback(result)
    assert result.exit_code == code, result.output
    assert message in result.output


def test_unreachable_directory_is_a_clear_network_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    result = CliRunner().invoke(
        main, ["plc", "create", "--rotation-key", ROTATION.private_hex(), "--plc-url", dead]
    )
    _no_traceback(result)
    assert result.exit_code == 1
    assert "PlcNetworkError" in result.output
    assert dead in result.output


def test_keys_from_lexforge_key_generate(plc_url: str, tmp_path: Path) -> None:
    """``lexforge key generate`` output (JSON file or text on stdin) is a usable key,
    and names its curve, so a P-256 key needs no ``p256:`` prefix."""
    code, json_out = run("key", "generate", "--curve", "p256", "--json")
    assert code == 0
    key_file = tmp_path / "recovery.json"
    key_file.write_text(json_out)
    code, text_out = run("key", "generate")
    assert code == 0
    code, out = run(
        "plc",
        "create",
        "--rotation-key",
        f"@{key_file}",
        "--rotation-key",
        "-",
        "--sign-with",
        "-",
        "--handle",
        "keys.test",
        "--plc-url",
        plc_url,
        input=text_out,
    )
    assert code == 0, out
    did, _, op_json = out.partition("\n")
    rotation = json.loads(op_json)["rotationKeys"]
    assert rotation == [json.loads(json_out)["did_key"], text_out.split("did_key: ")[1].split()[0]]
    code, out = run(
        "plc",
        "update",
        did,
        "--sign-with",
        f"@{key_file}",
        "--handle",
        "k2.test",
        "--plc-url",
        plc_url,
    )
    assert code == 0, out
    assert json.loads(out)["alsoKnownAs"] == ["at://k2.test"]


def test_bare_hex_p256_key_gets_a_hint(plc_url: str) -> None:
    did = create(plc_url, "hint.test")
    code, out = run(
        "plc", "update", did, "--sign-with", RECOVERY.private_hex(), "--plc-url", plc_url
    )
    assert code == 2
    assert "p256:HEX" in out


def test_every_option_has_help() -> None:
    """Help texts are complete: every option of did, handle, plc and their commands."""
    ctx = click.Context(main)
    missing = []
    for name in ("did", "handle", "plc"):
        group = main.get_command(ctx, name)
        assert isinstance(group, click.Group)
        assert group.help
        for sub_name in group.list_commands(ctx):
            command = group.get_command(ctx, sub_name)
            assert command is not None
            assert command.help, f"{name} {sub_name}"
            for param in command.params:
                if isinstance(param, click.Option) and not param.help:
                    missing.append(f"{name} {sub_name} {param.opts[0]}")
    assert missing == []

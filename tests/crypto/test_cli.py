"""``lexforge key`` through the real top-level CLI (click's CliRunner)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from lexforge.runtime.cli import COMMANDS, main
from lexforge.runtime.crypto import Curve, keypair_from_private_bytes, parse_did_key

K256_HEX = "9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c"
K256_DID = "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"


def _run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    return result.exit_code, result.output


def test_registered() -> None:
    assert COMMANDS["key"] == "lexforge.runtime.crypto.cli:key"


@pytest.mark.parametrize("curve", [None, "k256", "p256"])
def test_generate_json(curve: str | None) -> None:
    args = ["key", "generate", "--json"] + (["--curve", curve] if curve else [])
    code, output = _run(*args)
    assert code == 0, output
    fields = json.loads(output)
    assert sorted(fields) == ["curve", "did_key", "jwt_alg", "multikey", "private_key_hex"]
    expected_curve = Curve(curve or "k256")
    assert fields["curve"] == expected_curve.value
    assert fields["jwt_alg"] == expected_curve.jwt_alg
    assert fields["did_key"] == "did:key:" + fields["multikey"]
    keypair = keypair_from_private_bytes(expected_curve, bytes.fromhex(fields["private_key_hex"]))
    assert keypair.did_key() == fields["did_key"]
    assert parse_did_key(fields["did_key"]).curve is expected_curve


def test_generate_text() -> None:
    code, output = _run("key", "generate", "--curve", "p256")
    assert code == 0, output
    lines = output.splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [
        "curve",
        "jwt_alg",
        "did_key",
        "multikey",
        "private_key_hex",
    ]
    fields = dict(line.split(": ", 1) for line in lines)
    assert fields["curve"] == "p256"
    assert fields["jwt_alg"] == "ES256"
    keypair = keypair_from_private_bytes(Curve.P256, bytes.fromhex(fields["private_key_hex"]))
    assert keypair.did_key() == fields["did_key"]


def test_generate_is_random() -> None:
    first = json.loads(_run("key", "generate", "--json")[1])
    second = json.loads(_run("key", "generate", "--json")[1])
    assert first["private_key_hex"] != second["private_key_hex"]


def test_generate_rejects_unknown_curve() -> None:
    code, output = _run("key", "generate", "--curve", "ed25519")
    assert code == 2
    assert "ed25519" in output


def test_public_from_stdin() -> None:
    code, output = _run("key", "public", "--json", stdin=K256_HEX + "\n")
    assert code == 0, output
    assert json.loads(output) == {
        "curve": "k256",
        "did_key": K256_DID,
        "jwt_alg": "ES256K",
        "multikey": K256_DID[8:],
    }
    code, output = _run("key", "public", stdin=K256_HEX)
    assert code == 0, output
    assert f"did_key: {K256_DID}" in output.splitlines()
    assert K256_HEX not in output


@pytest.mark.parametrize("stdin", ["", "xyz", "00" * 32, K256_HEX[:-2], "0x" + K256_HEX])
def test_public_bad_private_key(stdin: str) -> None:
    code, output = _run("key", "public", stdin=stdin)
    assert code == 1
    assert "Error: private key on stdin" in output


def test_inspect() -> None:
    for value in (K256_DID, K256_DID[8:]):
        code, output = _run("key", "inspect", value, "--json")
        assert code == 0, output
        assert json.loads(output)["did_key"] == K256_DID
    code, output = _run("key", "inspect", K256_DID)
    assert output.splitlines() == [
        "curve: k256",
        "jwt_alg: ES256K",
        f"did_key: {K256_DID}",
        f"multikey: {K256_DID[8:]}",
    ]


@pytest.mark.parametrize("value", ["did:key:z0", "did:web:example.com", "hello", ""])
def test_inspect_invalid(value: str) -> None:
    code, output = _run("key", "inspect", value)
    assert code == 2
    assert "PUBLIC_KEY" in output
    assert "Traceback" not in output

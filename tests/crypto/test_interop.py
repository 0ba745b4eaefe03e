"""atproto-interop-tests crypto vectors (vendored in tests/vectors/crypto)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from lexforge.runtime.crypto import (
    Curve,
    K256Keypair,
    P256Keypair,
    parse_did_key,
    parse_legacy_key,
    parse_verification_method,
    verify_signature,
)
from lexforge.runtime.crypto.base58 import b58decode
from tests.conftest import VECTORS

CRYPTO = VECTORS / "crypto"


def _load(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((CRYPTO / name).read_text())
    return data


def _b64(text: str) -> bytes:
    """Standard base64, unpadded in the fixtures."""
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


SIGNATURES = _load("signature-fixtures.json")
W3C_K256 = _load("w3c_didkey_K256.json")
W3C_P256 = _load("w3c_didkey_P256.json")


def test_vector_counts() -> None:
    assert len(SIGNATURES) == 6
    assert len(W3C_K256) == 5
    assert len(W3C_P256) == 1


@pytest.mark.parametrize("vector", SIGNATURES, ids=lambda v: v["comment"])
def test_signature_fixture(vector: dict[str, Any]) -> None:
    message = _b64(vector["messageBase64"])
    signature = _b64(vector["signatureBase64"])
    from_did = parse_did_key(vector["publicKeyDid"])
    from_doc = parse_legacy_key(vector["didDocSuite"], vector["publicKeyMultibase"])
    assert from_did == from_doc
    assert from_did.compressed_bytes == from_doc.compressed_bytes
    assert parse_verification_method(vector["didDocSuite"], vector["publicKeyMultibase"]) == (
        from_did
    )
    assert from_did.jwt_alg == vector["algorithm"]
    assert from_did.curve is Curve.from_jwt_alg(vector["algorithm"])
    # Round trip: we emit exactly the fixture's did:key.
    assert from_did.did_key() == vector["publicKeyDid"]

    expected = vector["validSignature"]
    assert from_did.verify(message, signature) is expected
    assert from_doc.verify(message, signature) is expected
    assert verify_signature(vector["publicKeyDid"], message, signature) is expected
    digest = hashlib.sha256(message).digest()
    assert from_did.verify_digest(digest, signature) is expected


@pytest.mark.parametrize("vector", SIGNATURES, ids=lambda v: v["comment"])
def test_signature_fixture_lenient(vector: dict[str, Any]) -> None:
    """The malleable variants are the same signatures in another form: the lenient
    verifier (service-auth JWTs) accepts all six."""
    key = parse_did_key(vector["publicKeyDid"])
    message = _b64(vector["messageBase64"])
    assert key.verify_lenient(message, _b64(vector["signatureBase64"]))


@pytest.mark.parametrize("vector", W3C_K256, ids=lambda v: v["publicDidKey"])
def test_w3c_did_key_k256(vector: dict[str, Any]) -> None:
    keypair = K256Keypair.from_private_hex(vector["privateKeyBytesHex"])
    assert keypair.did_key() == vector["publicDidKey"]
    assert keypair.private_hex() == vector["privateKeyBytesHex"]
    assert parse_did_key(vector["publicDidKey"]) == keypair.public_key


@pytest.mark.parametrize("vector", W3C_P256, ids=lambda v: v["publicDidKey"])
def test_w3c_did_key_p256(vector: dict[str, Any]) -> None:
    private = b58decode(vector["privateKeyBytesBase58"])
    keypair = P256Keypair.from_private_bytes(private)
    assert keypair.did_key() == vector["publicDidKey"]
    assert keypair.private_bytes() == private
    assert parse_did_key(vector["publicDidKey"]) == keypair.public_key

"""Shared helpers for did:plc tests: deterministic keys and signature mutations."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from lexforge.runtime.crypto import K256Keypair, Keypair, P256Keypair
from lexforge.runtime.plc.b64 import b64url_decode_strict, b64url_encode

__all__ = [
    "K256_ORDER",
    "P256_ORDER",
    "der_variant",
    "high_s_variant",
    "k256",
    "p256",
]

K256_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def k256(seed: int) -> Keypair:
    """A deterministic K-256 key (seed 1..200)."""
    return K256Keypair.from_private_bytes(seed.to_bytes(32, "big"))


def p256(seed: int) -> Keypair:
    """A deterministic P-256 key."""
    return P256Keypair.from_private_bytes(seed.to_bytes(32, "big"))


def _rs(sig: str) -> tuple[int, int]:
    raw = b64url_decode_strict(sig)
    return int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")


def high_s_variant(op_json: dict[str, Any], order: int) -> dict[str, Any]:
    """The same signature with ``s`` replaced by ``n - s`` (valid ECDSA, not low-S)."""
    r, s = _rs(op_json["sig"])
    sig = r.to_bytes(32, "big") + (order - s).to_bytes(32, "big")
    return {**op_json, "sig": b64url_encode(sig)}


def der_variant(op_json: dict[str, Any]) -> dict[str, Any]:
    """The same signature DER-encoded."""
    r, s = _rs(op_json["sig"])
    return {**op_json, "sig": b64url_encode(encode_dss_signature(r, s))}

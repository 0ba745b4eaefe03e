"""Typed, minimal wrappers over libsecp256k1 (through coincurve's cffi bindings).

This is the only module that touches coincurve. coincurve's high-level ``PublicKey.verify``
takes DER signatures and re-hashes; for atproto we need compact ``r || s`` over a
precomputed SHA-256 digest, so we call the library functions directly with the same
global context coincurve uses. libsecp256k1 signs with RFC 6979 nonces, always emits
low-S signatures and its verify refuses high-S ones.

Parsed public keys are opaque :class:`ParsedPublicKey` handles (cffi ``secp256k1_pubkey``
structs) that callers cache, so repeated verifies with one key skip point decompression.
"""

from __future__ import annotations

from typing import Any, NewType

from coincurve._libsecp256k1 import ffi, lib
from coincurve.context import GLOBAL_CONTEXT

__all__ = [
    "ParsedPublicKey",
    "is_valid_secret",
    "parse_public_key",
    "public_key_from_secret",
    "serialize_public_key",
    "sign_digest",
    "verify_digest",
]

#: An opaque cffi ``secp256k1_pubkey *``; only this module looks inside.
ParsedPublicKey = NewType("ParsedPublicKey", object)

_CTX: Any = GLOBAL_CONTEXT.ctx
_lib: Any = lib
_ffi: Any = ffi


def parse_public_key(point: bytes) -> ParsedPublicKey | None:
    """Parse a SEC1 point (33-byte compressed or 65-byte uncompressed); ``None`` if it is
    not a point on secp256k1. Callers check the prefix byte first: libsecp256k1 also
    accepts the "hybrid" 0x06/0x07 forms, which atproto does not."""
    handle = _ffi.new("secp256k1_pubkey *")
    if not _lib.secp256k1_ec_pubkey_parse(_CTX, handle, point, len(point)):
        return None
    return ParsedPublicKey(handle)


def serialize_public_key(key: ParsedPublicKey, *, compressed: bool) -> bytes:
    """SEC1 bytes of a parsed key: 33 bytes compressed or 65 bytes uncompressed."""
    length = 33 if compressed else 65
    out = _ffi.new("unsigned char[65]")
    out_len = _ffi.new("size_t *", 65)
    flags = _lib.SECP256K1_EC_COMPRESSED if compressed else _lib.SECP256K1_EC_UNCOMPRESSED
    _lib.secp256k1_ec_pubkey_serialize(_CTX, out, out_len, key, flags)
    return bytes(_ffi.buffer(out, length))


def is_valid_secret(secret: bytes) -> bool:
    """True if ``secret`` is 32 bytes encoding an integer in ``[1, n - 1]``."""
    return len(secret) == 32 and bool(_lib.secp256k1_ec_seckey_verify(_CTX, secret))


def public_key_from_secret(secret: bytes) -> ParsedPublicKey:
    """The public key of a valid secret (check :func:`is_valid_secret` first)."""
    handle = _ffi.new("secp256k1_pubkey *")
    if not _lib.secp256k1_ec_pubkey_create(_CTX, handle, secret):
        raise ValueError("secp256k1_ec_pubkey_create failed")  # pragma: no cover
    return ParsedPublicKey(handle)


def sign_digest(secret: bytes, digest: bytes) -> bytes:
    """ECDSA-sign a 32-byte digest with RFC 6979 nonces; returns compact low-S ``r || s``."""
    if type(digest) is not bytes:
        digest = bytes(digest)
    signature = _ffi.new("secp256k1_ecdsa_signature *")
    if not _lib.secp256k1_ecdsa_sign(_CTX, signature, digest, secret, _ffi.NULL, _ffi.NULL):
        raise ValueError("secp256k1_ecdsa_sign failed")  # pragma: no cover
    out = _ffi.new("unsigned char[64]")
    _lib.secp256k1_ecdsa_signature_serialize_compact(_CTX, out, signature)
    return bytes(_ffi.buffer(out, 64))


def verify_digest(key: ParsedPublicKey, digest: bytes, compact: bytes) -> bool:
    """Verify a 64-byte compact signature over a 32-byte digest. False for overflowing
    ``r``/``s`` (parse failure), zero ``r``/``s``, high-S or a wrong signature."""
    # cffi takes only ``bytes`` for ``unsigned char *``: copy bytearray/memoryview input.
    if type(compact) is not bytes:
        compact = bytes(compact)
    if type(digest) is not bytes:
        digest = bytes(digest)
    signature = _ffi.new("secp256k1_ecdsa_signature *")
    if not _lib.secp256k1_ecdsa_signature_parse_compact(_CTX, signature, compact):
        return False
    return bool(_lib.secp256k1_ecdsa_verify(_CTX, signature, digest, key) == 1)

"""Parsing public keys from their text forms: did:key, Multikey, and the legacy
DID-document verification methods.

- **Multikey**: ``"z" + base58btc(varint multicodec || 33-byte compressed point)``, with
  ``e7 01`` for secp256k1-pub and ``80 24`` for p256-pub. Only compressed points are
  accepted, as in the TS reference (``decompressPubkey`` refuses anything but 33 bytes);
  we always emit compressed.
- **did:key**: ``"did:key:" + multikey``.
- **Legacy** (deprecated, old did:web documents): type
  ``EcdsaSecp256k1VerificationKey2019`` or ``EcdsaSecp256r1VerificationKey2019`` with
  ``publicKeyMultibase = "z" + base58btc(raw point)``, no multicodec. The DID spec says
  uncompressed (65 bytes); the interop fixtures use compressed (33 bytes). Both are
  accepted; the curve comes from the type.

Parsed keys are immutable, so did:key and multikey parses are memoised (LRU): the
firehose verifies many commits per account and would otherwise re-decode the same key.
Every failure is an :class:`InvalidKeyError` subclass.
"""

from __future__ import annotations

from functools import lru_cache

from lexforge.runtime.crypto.base58 import b58decode
from lexforge.runtime.crypto.curves import Curve
from lexforge.runtime.crypto.errors import (
    InvalidBase58Error,
    InvalidKeyEncodingError,
    UnsupportedKeyTypeError,
)
from lexforge.runtime.crypto.keys import DID_KEY_PREFIX, PublicKey

__all__ = [
    "MULTIKEY_TYPE",
    "parse_did_key",
    "parse_legacy_key",
    "parse_multikey",
    "parse_verification_method",
]

#: The DID-document verification-method type of the current (multikey) form.
MULTIKEY_TYPE = "Multikey"

# The longest payload we accept is 2 + 65 bytes (~92 base58 characters); anything much
# longer is refused before the (quadratic) base58 decode.
_MAX_BASE58_LENGTH = 128
_LEGACY_TYPES = {curve.legacy_type: curve for curve in Curve}
_CACHE_SIZE = 8192


def _decode_multibase(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise InvalidKeyEncodingError(f"{what} must be a string, not {type(text).__name__}")
    if not text.startswith("z"):
        raise InvalidKeyEncodingError(
            f"{what} must be multibase base58btc (start with 'z'): {text[:16]!r}"
        )
    try:
        return b58decode(text[1:], max_length=_MAX_BASE58_LENGTH)
    except InvalidBase58Error as exc:
        raise InvalidKeyEncodingError(f"{what} is not valid base58btc: {exc}") from None


def _read_varint(data: bytes) -> int | None:
    """The leading unsigned varint of ``data`` (for error messages), or None."""
    value = 0
    for shift, byte in enumerate(data[:9]):
        value |= (byte & 0x7F) << (7 * shift)
        if not byte & 0x80:
            return value
    return None


def parse_multikey(text: str) -> PublicKey:
    """Parse a Multikey string (``zQ3s...`` for K-256, ``zDna...`` for P-256).

    Raises :class:`InvalidKeyEncodingError` (bad multibase, base58, length),
    :class:`UnsupportedKeyTypeError` (another multicodec) or :class:`InvalidKeyError`
    (point not on the curve).
    """
    if not isinstance(text, str):
        raise InvalidKeyEncodingError(f"multikey must be a string, not {type(text).__name__}")
    return _parse_multikey(text)


@lru_cache(maxsize=_CACHE_SIZE)
def _parse_multikey(text: str) -> PublicKey:
    data = _decode_multibase(text, "multikey")
    for curve in Curve:
        prefix = curve.multicodec_prefix
        if data.startswith(prefix):
            point = data[len(prefix) :]
            if len(point) != 33:
                raise InvalidKeyEncodingError(
                    f"{curve.value} multikey must hold a 33-byte compressed point,"
                    f" got {len(point)} bytes"
                )
            return PublicKey.from_bytes(curve, point)
    codec = _read_varint(data)
    if codec is None:
        raise InvalidKeyEncodingError("multikey has no valid multicodec prefix")
    raise UnsupportedKeyTypeError(
        f"unsupported multikey codec 0x{codec:x}: expected secp256k1-pub (0xe7)"
        " or p256-pub (0x1200)"
    )


def parse_did_key(did: str) -> PublicKey:
    """Parse a did:key DID (``did:key:zQ3s...`` / ``did:key:zDna...``).

    Raises :class:`InvalidKeyEncodingError` for a missing ``did:key:`` prefix and
    everything :func:`parse_multikey` raises.
    """
    if not isinstance(did, str):
        raise InvalidKeyEncodingError(f"did:key must be a string, not {type(did).__name__}")
    if not did.startswith(DID_KEY_PREFIX):
        raise InvalidKeyEncodingError(f"not a did:key (must start with 'did:key:'): {did[:24]!r}")
    return _parse_multikey(did[len(DID_KEY_PREFIX) :])


def parse_legacy_key(type_name: str, public_key_multibase: str) -> PublicKey:
    """Parse a legacy DID-document key: ``type_name`` is
    ``EcdsaSecp256k1VerificationKey2019`` or ``EcdsaSecp256r1VerificationKey2019`` and
    ``public_key_multibase`` is ``"z" + base58btc(SEC1 point)`` (33 or 65 bytes, no
    multicodec).

    Raises :class:`UnsupportedKeyTypeError` for another type, otherwise as
    :func:`parse_multikey`.
    """
    curve = _LEGACY_TYPES.get(type_name)
    if curve is None:
        raise UnsupportedKeyTypeError(
            f"unsupported legacy verification method type {type_name!r}: expected one of"
            f" {sorted(_LEGACY_TYPES)}"
        )
    point = _decode_multibase(public_key_multibase, "publicKeyMultibase")
    if len(point) not in (33, 65):
        raise InvalidKeyEncodingError(
            f"legacy {curve.value} key must be a 33- or 65-byte SEC1 point, got {len(point)} bytes"
        )
    return PublicKey.from_bytes(curve, point)


def parse_verification_method(type_name: str, public_key_multibase: str) -> PublicKey:
    """Parse a DID-document verification method from its ``type`` and
    ``publicKeyMultibase``: ``Multikey`` or either legacy type.

    Raises :class:`UnsupportedKeyTypeError` for any other type (for example
    ``JsonWebKey2020``, which atproto does not use).
    """
    if type_name == MULTIKEY_TYPE:
        return parse_multikey(public_key_multibase)
    return parse_legacy_key(type_name, public_key_multibase)

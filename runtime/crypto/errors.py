"""Exceptions raised by ``lexforge.runtime.crypto``.

Every exception derives from :class:`CryptoError`, which is a :class:`ValueError` (bad key
or signature *data* is a bad value), so pydantic validators and callers that already catch
``ValueError`` keep working::

    CryptoError (ValueError)
    ├── InvalidKeyError                 key material is not a valid key
    │   └── InvalidKeyEncodingError     a text form (did:key, multikey, legacy) is malformed
    │       └── UnsupportedKeyTypeError well formed, but not a P-256 or K-256 key
    ├── InvalidBase58Error              base58btc text with a character outside the alphabet
    ├── InvalidSignatureFormatError     not a 64-byte compact, low-S, in-range signature
    └── InvalidDigestError              a "digest" argument that is not 32 bytes

Verification itself never raises for a bad signature: ``PublicKey.verify`` returns
``False`` for a wrong signature *and* for a malformed one (wrong length, DER, high-S,
``r``/``s`` out of range), because signatures are attacker-supplied data and the callers
(commit, firehose and PLC checks) want one boolean. Use
:func:`lexforge.runtime.crypto.signature.check_signature_format` when you need the reason.
"""

from __future__ import annotations

__all__ = [
    "CryptoError",
    "InvalidBase58Error",
    "InvalidDigestError",
    "InvalidKeyEncodingError",
    "InvalidKeyError",
    "InvalidSignatureFormatError",
    "UnsupportedKeyTypeError",
]


class CryptoError(ValueError):
    """Base class of every error raised by ``lexforge.runtime.crypto``."""


class InvalidKeyError(CryptoError):
    """Key material is not a usable key: wrong length, point not on the curve, private
    scalar zero or not below the curve order."""


class InvalidKeyEncodingError(InvalidKeyError):
    """A textual key form (did:key, multikey, legacy publicKeyMultibase) is malformed:
    wrong prefix, bad base58, wrong multicodec or wrong length."""


class UnsupportedKeyTypeError(InvalidKeyEncodingError):
    """The encoding is well formed but names a key type atproto does not use (for example
    an ed25519 multicodec or an unknown verification-method type)."""


class InvalidBase58Error(CryptoError):
    """Text that should be base58btc contains a character outside the Bitcoin alphabet."""


class InvalidSignatureFormatError(CryptoError):
    """A signature is not in atproto's strict form: exactly 64 bytes ``r || s``, big-endian,
    ``1 <= r < n`` and ``1 <= s <= n/2`` (low-S).

    ``reason`` is a stable slug: ``"length"``, ``"r-range"``, ``"s-range"``, ``"high-s"``
    or ``"der"`` (lenient parsing only)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class InvalidDigestError(CryptoError):
    """A precomputed digest passed to ``sign_digest``/``verify_digest`` is not exactly 32
    bytes (a SHA-256 output)."""

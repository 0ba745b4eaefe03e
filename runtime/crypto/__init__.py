"""atproto cryptography: P-256 and K-256 keys, strict signatures, did:key and multikey.

Signing is always SHA-256 then ECDSA, emitting 64-byte compact low-S ``r || s``;
verification accepts exactly that form and returns a bool (``verify_lenient`` is the one
escape hatch, for service-auth JWTs). K-256 runs on libsecp256k1 (coincurve), P-256 on
``cryptography``. See ``keys.py`` for the design and ``errors.py`` for the error tree.

    >>> key = K256Keypair.generate()
    >>> sig = key.sign(b"bytes to sign")
    >>> verify_signature(key.did_key(), b"bytes to sign", sig)
    True
"""

from __future__ import annotations

from lexforge.runtime.crypto.curves import Curve
from lexforge.runtime.crypto.did_key import (
    MULTIKEY_TYPE,
    parse_did_key,
    parse_legacy_key,
    parse_multikey,
    parse_verification_method,
)
from lexforge.runtime.crypto.errors import (
    CryptoError,
    InvalidBase58Error,
    InvalidDigestError,
    InvalidKeyEncodingError,
    InvalidKeyError,
    InvalidSignatureFormatError,
    UnsupportedKeyTypeError,
)
from lexforge.runtime.crypto.keys import (
    DID_KEY_PREFIX,
    K256Keypair,
    K256PublicKey,
    Keypair,
    P256Keypair,
    P256PublicKey,
    PublicKey,
    generate_keypair,
    keypair_from_private_bytes,
)
from lexforge.runtime.crypto.signature import SIGNATURE_LENGTH, check_signature_format
from lexforge.runtime.crypto.verify import verify_signature

__all__ = [
    "DID_KEY_PREFIX",
    "MULTIKEY_TYPE",
    "SIGNATURE_LENGTH",
    "CryptoError",
    "Curve",
    "InvalidBase58Error",
    "InvalidDigestError",
    "InvalidKeyEncodingError",
    "InvalidKeyError",
    "InvalidSignatureFormatError",
    "K256Keypair",
    "K256PublicKey",
    "Keypair",
    "P256Keypair",
    "P256PublicKey",
    "PublicKey",
    "UnsupportedKeyTypeError",
    "check_signature_format",
    "generate_keypair",
    "keypair_from_private_bytes",
    "parse_did_key",
    "parse_legacy_key",
    "parse_multikey",
    "parse_verification_method",
    "verify_signature",
]

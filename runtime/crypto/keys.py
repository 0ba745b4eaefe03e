"""Public keys and key pairs for atproto's two curves.

``PublicKey`` is the verifier (one concrete class per curve, built with
:meth:`PublicKey.from_bytes`); ``Keypair`` is the signer (``K256Keypair``,
``P256Keypair``). Following indigo's ``atcrypto`` there are as few knobs as possible:
SHA-256 is the only hash, signatures are always 64-byte compact low-S, and the single
escape hatch is :meth:`PublicKey.verify_lenient` for service-auth JWTs.

Backends: K-256 goes through libsecp256k1 (``_secp256k1``), about 9x faster than
OpenSSL for verification and strict about low-S by itself; P-256 goes through
``cryptography`` (OpenSSL), which emits and accepts high-S and DER, so this module
normalises S after signing and checks length and ranges before verifying. Each public key
keeps its parsed backend object, so repeated verifies with one key never re-parse it.

Verification returns ``False`` for *any* bad signature, wrong or malformed (see
``errors.py``); it raises only for a wrong-sized digest, which is a caller bug.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from typing import ClassVar, Self

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)

from lexforge.runtime.crypto import _secp256k1
from lexforge.runtime.crypto.base58 import b58encode
from lexforge.runtime.crypto.curves import Curve
from lexforge.runtime.crypto.errors import (
    InvalidDigestError,
    InvalidKeyError,
    InvalidSignatureFormatError,
)
from lexforge.runtime.crypto.signature import (
    encode_compact,
    normalize_low_s,
    parse_lenient_signature,
)

__all__ = [
    "DID_KEY_PREFIX",
    "K256Keypair",
    "K256PublicKey",
    "Keypair",
    "P256Keypair",
    "P256PublicKey",
    "PublicKey",
    "generate_keypair",
    "keypair_from_private_bytes",
]

#: did:key DIDs are this prefix followed by the multikey string.
DID_KEY_PREFIX = "did:key:"

_sha256 = hashlib.sha256
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_P256 = ec.SECP256R1()
_PREHASHED_SHA256 = ec.ECDSA(Prehashed(hashes.SHA256()))
# RFC 6979 deterministic nonces (as libsecp256k1 uses for K-256, and the TS reference for
# both curves): the same key and message always give the same signature, which keeps
# commit CIDs reproducible in tests. Fall back to random nonces on an OpenSSL without it.
try:
    _P256_SIGN_ALG = ec.ECDSA(Prehashed(hashes.SHA256()), deterministic_signing=True)
except (TypeError, UnsupportedAlgorithm):  # pragma: no cover - cryptography < 44 / old OpenSSL
    _P256_SIGN_ALG = _PREHASHED_SHA256


def _check_point_prefix(curve: Curve, point: bytes) -> None:
    """Only SEC1 compressed (02/03, 33 bytes) and uncompressed (04, 65 bytes) points; the
    "hybrid" 06/07 form that some libraries accept is not part of atproto."""
    if not isinstance(point, bytes):
        raise InvalidKeyError(f"{curve.value} public key must be bytes, not {type(point)}")
    if len(point) == 33 and point[0] in (2, 3):
        return
    if len(point) == 65 and point[0] == 4:
        return
    raise InvalidKeyError(
        f"{curve.value} public key must be a 33-byte compressed or 65-byte uncompressed SEC1"
        f" point, got {len(point)} bytes" + (f" starting 0x{point[0]:02x}" if point else "")
    )


def _check_digest(digest: bytes) -> None:
    if len(digest) != 32:
        raise InvalidDigestError(f"digest must be 32 bytes (SHA-256), got {len(digest)}")


class PublicKey(ABC):
    """A validated P-256 or K-256 public key (a point on the curve).

    Immutable and hashable; two keys are equal when they are the same point on the same
    curve, whatever encoding they were parsed from.
    """

    __slots__ = ("_compressed", "_multikey")

    #: Which curve this key is on.
    curve: ClassVar[Curve]
    _order: ClassVar[int]
    _half_order: ClassVar[int]

    _compressed: bytes
    _multikey: str | None

    @staticmethod
    def from_bytes(curve: Curve, point: bytes) -> PublicKey:
        """Parse a SEC1 point (33-byte compressed or 65-byte uncompressed) on ``curve``.

        Raises :class:`InvalidKeyError` if it is not a point on the curve.
        """
        if curve is Curve.K256:
            return K256PublicKey(point)
        return P256PublicKey(point)

    @property
    def compressed_bytes(self) -> bytes:
        """The 33-byte SEC1 compressed point (the form used in did:key and multikey)."""
        return self._compressed

    @property
    @abstractmethod
    def uncompressed_bytes(self) -> bytes:
        """The 65-byte SEC1 uncompressed point (``04 || x || y``)."""

    @property
    def jwt_alg(self) -> str:
        """``"ES256K"`` for K-256, ``"ES256"`` for P-256."""
        return self.curve.jwt_alg

    def multikey(self) -> str:
        """``"z" + base58btc(multicodec varint || compressed point)``."""
        multikey = self._multikey
        if multikey is None:
            multikey = "z" + b58encode(self.curve.multicodec_prefix + self._compressed)
            self._multikey = multikey
        return multikey

    def did_key(self) -> str:
        """The did:key DID for this key: ``"did:key:" + multikey()``."""
        return DID_KEY_PREFIX + self.multikey()

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Strictly verify ``signature`` over SHA-256(``message``).

        True only for a 64-byte compact low-S signature with ``r``, ``s`` in range that
        verifies under this key; False otherwise (wrong key or message, DER, high-S,
        wrong length, zero or out-of-range ``r``/``s``). Never raises for bad signatures.
        """
        return self._verify_strict(_sha256(message).digest(), signature)

    def verify_digest(self, digest: bytes, signature: bytes) -> bool:
        """As :meth:`verify`, over an already computed 32-byte SHA-256 ``digest`` (for
        callers that hash once and check several keys). Raises
        :class:`InvalidDigestError` if ``digest`` is not 32 bytes."""
        _check_digest(digest)
        return self._verify_strict(digest, signature)

    def _verify_strict(self, digest: bytes, signature: bytes) -> bool:
        """The strict-form checks (64 bytes, 1 <= r < n, 1 <= s <= n/2), then the
        backend. Inlined rather than via ``check_signature_format``: no exception on the
        hot path of firehose verification."""
        if len(signature) != 64:
            return False
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        if not (0 < r < self._order and 0 < s <= self._half_order):
            return False
        return self._verify(digest, signature, r, s)

    def verify_lenient(self, message: bytes, signature: bytes) -> bool:
        """Verify accepting malleable forms too: high-S compact and DER signatures.

        ONLY for service-auth JWTs, where the reference sets ``allowMalleableSig`` to
        interoperate with old clients. Everything that is stored or chained (commits, PLC
        operations, labels) must use :meth:`verify`.
        """
        try:
            strict = parse_lenient_signature(self.curve, signature)
        except InvalidSignatureFormatError:
            return False
        return self.verify(message, strict)

    @abstractmethod
    def _verify(self, digest: bytes, signature: bytes, r: int, s: int) -> bool:
        """Backend check of an already range-checked strict signature."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PublicKey):
            return NotImplemented
        return self.curve is other.curve and self._compressed == other._compressed

    def __hash__(self) -> int:
        return hash((self.curve, self._compressed))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.did_key()!r})"

    def __reduce__(self) -> tuple[object, tuple[Curve, bytes]]:
        # The backend objects are not picklable; rebuild from the point instead.
        return (PublicKey.from_bytes, (self.curve, self._compressed))


class K256PublicKey(PublicKey):
    """A secp256k1 public key, verified through libsecp256k1."""

    __slots__ = ("_handle",)
    curve = Curve.K256
    _order = Curve.K256.order
    _half_order = Curve.K256.half_order

    def __init__(self, point: bytes) -> None:
        _check_point_prefix(Curve.K256, point)
        handle = _secp256k1.parse_public_key(point)
        if handle is None:
            raise InvalidKeyError("not a point on secp256k1 (k256)")
        self._init(handle)

    def _init(self, handle: _secp256k1.ParsedPublicKey) -> None:
        self._handle = handle
        self._compressed = _secp256k1.serialize_public_key(handle, compressed=True)
        self._multikey = None

    @classmethod
    def _from_handle(cls, handle: _secp256k1.ParsedPublicKey) -> K256PublicKey:
        key = cls.__new__(cls)
        key._init(handle)
        return key

    @property
    def uncompressed_bytes(self) -> bytes:
        return _secp256k1.serialize_public_key(self._handle, compressed=False)

    def _verify(self, digest: bytes, signature: bytes, r: int, s: int) -> bool:
        return _secp256k1.verify_digest(self._handle, digest, signature)


class P256PublicKey(PublicKey):
    """A NIST P-256 public key, verified through ``cryptography`` (OpenSSL)."""

    __slots__ = ("_key",)
    curve = Curve.P256
    _order = Curve.P256.order
    _half_order = Curve.P256.half_order

    def __init__(self, point: bytes) -> None:
        _check_point_prefix(Curve.P256, point)
        try:
            key = ec.EllipticCurvePublicKey.from_encoded_point(_P256, point)
        except ValueError:
            raise InvalidKeyError("not a point on NIST P-256 (p256)") from None
        self._init(key)
        if len(point) == 33 and self._compressed != point:
            # x >= p: a second encoding of a valid point. Refuse rather than normalise.
            raise InvalidKeyError("non-canonical compressed p256 point")

    def _init(self, key: ec.EllipticCurvePublicKey) -> None:
        self._key = key
        self._compressed = key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
        )
        self._multikey = None

    @classmethod
    def _from_backend(cls, key: ec.EllipticCurvePublicKey) -> P256PublicKey:
        public = cls.__new__(cls)
        public._init(key)
        return public

    @property
    def uncompressed_bytes(self) -> bytes:
        return self._key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def _verify(self, digest: bytes, signature: bytes, r: int, s: int) -> bool:
        try:
            self._key.verify(encode_dss_signature(r, s), digest, _PREHASHED_SHA256)
        except InvalidSignature:
            return False
        return True


class Keypair(ABC):
    """A private key that signs atproto data: SHA-256 of the message, ECDSA, low-S,
    64-byte compact ``r || s``.

    ``repr()`` never shows the private key. Private key material lives in Python
    ``bytes``/OpenSSL objects and cannot be reliably wiped from memory.
    """

    __slots__ = ()

    #: Which curve this key pair is on.
    curve: ClassVar[Curve]

    @classmethod
    @abstractmethod
    def generate(cls) -> Self:
        """A new random key pair from the operating system's CSPRNG."""

    @classmethod
    @abstractmethod
    def from_private_bytes(cls, data: bytes) -> Self:
        """Import a raw 32-byte big-endian private scalar (the reference's export form).

        Raises :class:`InvalidKeyError` unless it is 32 bytes in ``[1, n - 1]``.
        """

    @classmethod
    def from_private_hex(cls, text: str) -> Self:
        """Import a private key from exactly 64 hex digits (either case, no ``0x``, no
        spaces). Raises :class:`InvalidKeyError`."""
        if len(text) != 64 or not _HEX_DIGITS.issuperset(text):
            raise InvalidKeyError("private key hex must be exactly 64 hex digits")
        return cls.from_private_bytes(bytes.fromhex(text))

    @abstractmethod
    def private_bytes(self) -> bytes:
        """Export the raw 32-byte big-endian private scalar."""

    def private_hex(self) -> str:
        """Export the private key as 64 lowercase hex digits."""
        return self.private_bytes().hex()

    @property
    @abstractmethod
    def public_key(self) -> PublicKey:
        """The matching public key."""

    @property
    def jwt_alg(self) -> str:
        """``"ES256K"`` for K-256, ``"ES256"`` for P-256."""
        return self.curve.jwt_alg

    def did_key(self) -> str:
        """The did:key of the public key."""
        return self.public_key.did_key()

    def sign(self, message: bytes) -> bytes:
        """Sign SHA-256(``message``): 64-byte compact low-S ``r || s``. Pass the bytes to
        be signed (for example the CBOR of an unsigned commit), not their hash."""
        return self._sign_digest(_sha256(message).digest())

    def sign_digest(self, digest: bytes) -> bytes:
        """Sign an already computed 32-byte SHA-256 ``digest`` (no further hashing).
        Raises :class:`InvalidDigestError` if it is not 32 bytes."""
        _check_digest(digest)
        return self._sign_digest(digest)

    @abstractmethod
    def _sign_digest(self, digest: bytes) -> bytes:
        """Backend signing of a 32-byte digest, returning the strict form."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(public_key={self.did_key()!r})"


class K256Keypair(Keypair):
    """A secp256k1 key pair (the reference's default curve), signing via libsecp256k1
    with RFC 6979 deterministic nonces."""

    __slots__ = ("_public_key", "_secret")
    curve = Curve.K256

    def __init__(self, private_bytes: bytes) -> None:
        """Same as :meth:`from_private_bytes`."""
        if not isinstance(private_bytes, bytes) or not _secp256k1.is_valid_secret(private_bytes):
            raise InvalidKeyError("k256 private key must be 32 bytes encoding 1..n-1")
        self._secret = private_bytes
        self._public_key = K256PublicKey._from_handle(
            _secp256k1.public_key_from_secret(private_bytes)
        )

    @classmethod
    def generate(cls) -> Self:
        while True:
            secret = os.urandom(32)
            if _secp256k1.is_valid_secret(secret):  # fails with probability ~2^-128
                return cls(secret)

    @classmethod
    def from_private_bytes(cls, data: bytes) -> Self:
        return cls(data)

    def private_bytes(self) -> bytes:
        return self._secret

    @property
    def public_key(self) -> K256PublicKey:
        return self._public_key

    def _sign_digest(self, digest: bytes) -> bytes:
        # libsecp256k1 always produces low-S compact signatures.
        return _secp256k1.sign_digest(self._secret, digest)


class P256Keypair(Keypair):
    """A NIST P-256 key pair, signing via ``cryptography`` with S normalised to low-S."""

    __slots__ = ("_key", "_public_key")
    curve = Curve.P256

    def __init__(self, private_bytes: bytes) -> None:
        """Same as :meth:`from_private_bytes`."""
        if not isinstance(private_bytes, bytes) or len(private_bytes) != 32:
            raise InvalidKeyError("p256 private key must be 32 bytes")
        scalar = int.from_bytes(private_bytes, "big")
        if not 0 < scalar < Curve.P256.order:
            raise InvalidKeyError("p256 private key must encode an integer in 1..n-1")
        self._set(ec.derive_private_key(scalar, _P256))

    def _set(self, key: ec.EllipticCurvePrivateKey) -> None:
        self._key = key
        self._public_key = P256PublicKey._from_backend(key.public_key())

    @classmethod
    def generate(cls) -> Self:
        keypair = cls.__new__(cls)
        keypair._set(ec.generate_private_key(_P256))
        return keypair

    @classmethod
    def from_private_bytes(cls, data: bytes) -> Self:
        return cls(data)

    def private_bytes(self) -> bytes:
        return self._key.private_numbers().private_value.to_bytes(32, "big")

    @property
    def public_key(self) -> P256PublicKey:
        return self._public_key

    def _sign_digest(self, digest: bytes) -> bytes:
        # OpenSSL returns DER and high-S about half the time: convert and normalise.
        r, s = decode_dss_signature(self._key.sign(digest, _P256_SIGN_ALG))
        return encode_compact(*normalize_low_s(Curve.P256, r, s))


def generate_keypair(curve: Curve = Curve.K256) -> Keypair:
    """A new random key pair on ``curve`` (K-256 by default, like the reference)."""
    return K256Keypair.generate() if curve is Curve.K256 else P256Keypair.generate()


def keypair_from_private_bytes(curve: Curve, data: bytes) -> Keypair:
    """Import a raw 32-byte private key on ``curve``. Raises :class:`InvalidKeyError`."""
    if curve is Curve.K256:
        return K256Keypair.from_private_bytes(data)
    return P256Keypair.from_private_bytes(data)

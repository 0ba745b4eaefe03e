"""The two curves atproto uses, and everything that is fixed per curve.

The curve of a key always comes from how the key is labelled (multicodec, DID-document
type, JWT ``alg``), never from a signature: both curves produce 64-byte signatures.
"""

from __future__ import annotations

import enum

from lexforge.runtime.crypto.errors import UnsupportedKeyTypeError

__all__ = ["Curve"]

# Group orders (n). Signatures are low-S iff s <= n // 2.
_K256_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class Curve(enum.Enum):
    """``Curve.K256`` (secp256k1, the reference default) or ``Curve.P256`` (NIST P-256).

    The value is the short name used on the command line and in logs (``"k256"``,
    ``"p256"``).
    """

    K256 = "k256"
    P256 = "p256"

    @property
    def order(self) -> int:
        """The group order n; valid ``r`` and ``s`` lie in ``[1, n - 1]``."""
        return _K256_ORDER if self is Curve.K256 else _P256_ORDER

    @property
    def half_order(self) -> int:
        """``n // 2``: the largest ``s`` a low-S signature may have."""
        return self.order // 2

    @property
    def jwt_alg(self) -> str:
        """The JWT/JOSE ``alg`` name: ``ES256K`` for k256, ``ES256`` for p256."""
        return "ES256K" if self is Curve.K256 else "ES256"

    @property
    def multicodec(self) -> int:
        """The multicodec code of the public key: ``secp256k1-pub`` 0xe7, ``p256-pub``
        0x1200."""
        return 0xE7 if self is Curve.K256 else 0x1200

    @property
    def multicodec_prefix(self) -> bytes:
        """The multicodec code as an unsigned varint, as it prefixes multikey bytes:
        ``e7 01`` for k256 and ``80 24`` for p256 (not the raw ``12 00``)."""
        return b"\xe7\x01" if self is Curve.K256 else b"\x80\x24"

    @property
    def legacy_type(self) -> str:
        """The deprecated DID-document verification-method type for this curve."""
        if self is Curve.K256:
            return "EcdsaSecp256k1VerificationKey2019"
        return "EcdsaSecp256r1VerificationKey2019"

    @classmethod
    def from_jwt_alg(cls, alg: str) -> Curve:
        """The curve for a JWT ``alg`` (``ES256K`` or ``ES256``).

        Raises :class:`UnsupportedKeyTypeError` for anything else (``none``, ``HS256``,
        ``RS256``, ...)."""
        for curve in cls:
            if curve.jwt_alg == alg:
                return curve
        raise UnsupportedKeyTypeError(f"unsupported JWT alg {alg!r}: expected 'ES256K' or 'ES256'")

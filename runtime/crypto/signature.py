"""The atproto signature format: 64-byte compact ``r || s``, low-S, for both curves.

Strict form (what we emit and what :meth:`PublicKey.verify` accepts): exactly 64 bytes,
32-byte big-endian ``r`` then ``s``, ``1 <= r < n``, ``1 <= s <= n // 2``. DER is
refused: it is a second encoding of the same signature, and high-S ``(r, n - s)`` is a
second valid signature for the same message. Either would let one commit or PLC operation
have several byte forms (atproto PR #1839, did-method-plc #54).

Lenient form (:func:`parse_lenient_signature`, service-auth JWTs only): also high-S and
strict DER, normalised to the low-S compact form so the same verifier applies.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from lexforge.runtime.crypto.curves import Curve
from lexforge.runtime.crypto.errors import InvalidSignatureFormatError

__all__ = [
    "SIGNATURE_LENGTH",
    "check_signature_format",
    "encode_compact",
    "is_low_s",
    "normalize_low_s",
    "parse_lenient_signature",
]

#: Length in bytes of an atproto signature (compact r || s) on either curve.
SIGNATURE_LENGTH = 64


def check_signature_format(curve: Curve, signature: bytes) -> tuple[int, int]:
    """Return ``(r, s)`` of a strictly formatted signature, or raise
    :class:`InvalidSignatureFormatError` saying why not (``reason`` slug)."""
    if len(signature) != SIGNATURE_LENGTH:
        raise InvalidSignatureFormatError(
            f"signature is {len(signature)} bytes; atproto signatures are exactly 64 bytes"
            " (compact r || s, not DER)",
            reason="length",
        )
    order = curve.order
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not 0 < r < order:
        raise InvalidSignatureFormatError("signature r is zero or not below n", reason="r-range")
    if not 0 < s < order:
        raise InvalidSignatureFormatError("signature s is zero or not below n", reason="s-range")
    if s > order // 2:
        raise InvalidSignatureFormatError(
            "signature is high-S (s > n/2); atproto requires low-S", reason="high-s"
        )
    return r, s


def is_low_s(curve: Curve, signature: bytes) -> bool:
    """True if ``signature`` is in the strict form (64 bytes, in range, low-S)."""
    try:
        check_signature_format(curve, signature)
    except InvalidSignatureFormatError:
        return False
    return True


def encode_compact(r: int, s: int) -> bytes:
    """Serialise ``(r, s)`` as 64 bytes ``r || s`` (each 32-byte big-endian)."""
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def normalize_low_s(curve: Curve, r: int, s: int) -> tuple[int, int]:
    """``(r, n - s)`` if ``s`` is high, else ``(r, s)``: the same signature, low-S."""
    order = curve.order
    return (r, order - s) if s > order // 2 else (r, s)


def parse_lenient_signature(curve: Curve, signature: bytes) -> bytes:
    """Accept a compact signature with either S, or a strict DER signature, and return
    the equivalent strict (low-S compact) form.

    Only for interoperability where the reference accepts malleable signatures (service-
    auth JWTs, ``allowMalleableSig``). ``r`` and ``s`` must still be in ``[1, n - 1]``.
    Raises :class:`InvalidSignatureFormatError`.
    """
    if len(signature) == SIGNATURE_LENGTH:
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
    else:
        # A DER ECDSA-Sig-Value over a 256-bit curve is at most 72 bytes; cap before
        # parsing so the ASN.1 parser never sees large attacker input.
        if len(signature) > 72 or not signature.startswith(b"\x30"):
            raise InvalidSignatureFormatError(
                f"signature is {len(signature)} bytes and not DER", reason="length"
            )
        try:
            r, s = decode_dss_signature(signature)
        except ValueError as exc:
            raise InvalidSignatureFormatError(
                f"signature is neither compact nor valid DER: {exc}", reason="der"
            ) from None
    order = curve.order
    if not 0 < r < order:
        raise InvalidSignatureFormatError("signature r is zero or not below n", reason="r-range")
    if not 0 < s < order:
        raise InvalidSignatureFormatError("signature s is zero or not below n", reason="s-range")
    return encode_compact(*normalize_low_s(curve, r, s))

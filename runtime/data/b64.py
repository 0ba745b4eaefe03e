"""Strict, canonical, unpadded base64 (RFC 4648): the standard alphabet for ``$bytes`` in
atproto JSON, the URL-safe alphabet for PLC signatures (and anything else atproto writes
as base64url).

Python's decoders are lenient in ways that give one byte string many text forms:
``base64.b64decode`` skips junk characters unless ``validate=True``, both alphabets'
decoders accept padding, and neither they nor ``binascii.a2b_base64(strict_mode=True)``
check that the unused low bits of the last character are zero (``QQ`` and ``QR`` both
decode to ``b"A"``). Where the text is signed or content-addressed, a second spelling
is a malleability bug (did-method-plc #54, reliability.md R11). These decoders accept
exactly one text per byte string, the unpadded encoding:

- only the alphabet's 64 characters: ``A-Z a-z 0-9 + /`` (standard) or ``A-Z a-z 0-9 -
  _`` (URL-safe); the other alphabet's two characters, whitespace and every other
  character are refused;
- no ``=`` padding at all. Our acceptance criterion for ``$bytes`` (issue 2) is "strict
  base64: no padding, no junk, no non-zero trailing bits". The data-model spec digest
  calls padding optional on input, but no interop vector carries it (the fixtures and
  the TypeScript reference write unpadded), so refusing it costs no interoperability
  and keeps one text form per value; did:plc forbids padding in signatures outright;
- a length some byte string encodes to (never 1 more than a multiple of 4);
- zero trailing bits in the last character.

Output is always unpadded. Errors are
:class:`~lexforge.runtime.data.errors.InvalidBase64Error` (a ``ValueError``).
"""

from __future__ import annotations

import binascii
import re

from lexforge.runtime.data.errors import InvalidBase64Error

__all__ = [
    "b64decode_strict",
    "b64encode_unpadded",
    "b64url_decode_strict",
    "b64url_encode_unpadded",
]

_STANDARD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_URLSAFE = _STANDARD[:62] + "-_"
_STANDARD_BODY = re.compile(r"[A-Za-z0-9+/]*")
_URLSAFE_BODY = re.compile(r"[A-Za-z0-9_-]*")
_TO_STANDARD = str.maketrans("-_", "+/")
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
# Value of each character (the same for both alphabets' shared 62 characters).
_VALUE = {c: i for i, c in enumerate(_STANDARD)} | {"-": 62, "_": 63}
# Bits of the last character that carry no data, by len(text) % 4 (2 -> 4 bits, 3 -> 2).
_SPARE_MASK = {2: 0x0F, 3: 0x03}


def b64encode_unpadded(data: bytes | bytearray | memoryview) -> str:
    """Standard-alphabet base64 of ``data`` without ``=`` padding."""
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").decode("ascii")


def b64url_encode_unpadded(data: bytes | bytearray | memoryview) -> str:
    """URL-safe-alphabet base64 of ``data`` without ``=`` padding."""
    encoded = binascii.b2a_base64(data, newline=False).rstrip(b"=")
    return encoded.translate(_TO_URLSAFE).decode("ascii")


def b64decode_strict(text: str) -> bytes:
    """Decode canonical unpadded standard base64; refuse every other spelling."""
    return _decode(text, url_safe=False)


def b64url_decode_strict(text: str) -> bytes:
    """Decode canonical unpadded base64url; refuse every other spelling."""
    return _decode(text, url_safe=True)


def _decode(text: str, *, url_safe: bool) -> bytes:
    name = "base64url" if url_safe else "base64"
    if not isinstance(text, str):
        raise InvalidBase64Error(f"{name} value must be a string, not {type(text).__name__}")
    body = _URLSAFE_BODY if url_safe else _STANDARD_BODY
    if body.fullmatch(text) is None:
        raise InvalidBase64Error(f"invalid {name}: {_bad_character(text, url_safe)}")
    rem = len(text) % 4
    if rem == 1:
        raise InvalidBase64Error(f"invalid {name}: length {len(text)} is not a possible length")
    if rem and _VALUE[text[-1]] & _SPARE_MASK[rem]:
        raise InvalidBase64Error(f"invalid {name}: non-zero trailing bits in the last character")
    standard = text.translate(_TO_STANDARD) if url_safe else text
    try:
        return binascii.a2b_base64(standard + "=" * (-rem % 4), strict_mode=True)
    except binascii.Error as exc:  # pragma: no cover - excluded by the checks above
        raise InvalidBase64Error(f"invalid {name}: {exc}") from None


def _bad_character(text: str, url_safe: bool) -> str:
    """Describe the first character outside the alphabet (for the error message)."""
    alphabet = _URLSAFE if url_safe else _STANDARD
    bad = next(c for c in text if c not in alphabet)
    if bad == "=":
        return "'=' padding is not allowed (atproto writes base64 unpadded)"
    if url_safe and bad in "+/":
        return f"standard-alphabet character {bad!r} (base64url uses '-' and '_')"
    if not url_safe and bad in "-_":
        return f"URL-safe character {bad!r} (standard alphabet uses '+' and '/')"
    if bad.isspace():
        return "whitespace"
    return f"character {bad!r} outside the {'base64url' if url_safe else 'base64'} alphabet"

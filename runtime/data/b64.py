"""Strict standard base64 (RFC 4648 section 4) for ``$bytes`` in atproto JSON.

Python's decoders are lenient in ways that make one byte string have many text forms:
``base64.b64decode`` skips junk characters unless ``validate=True``, and neither it nor
``binascii.a2b_base64(strict_mode=True)`` checks that the unused low bits of the last
character are zero (``QQ`` and ``QR`` both decode to ``b"A"``). This module accepts
exactly the strings that some byte string encodes to:

- only the standard alphabet ``A-Z a-z 0-9 + /`` (the URL-safe ``-`` and ``_`` are
  refused, as are whitespace and every other character);
- either no padding or exactly the padding RFC 4648 prescribes (``=`` or ``==`` making
  the length a multiple of 4); the atproto data-model spec makes padding optional on
  input, and JSON is never hashed, so accepting both spellings cannot change a CID;
- zero trailing bits.

Output is always unpadded, like the TypeScript reference and the interop fixtures.
"""

from __future__ import annotations

import binascii
import re

from lexforge.runtime.data.errors import InvalidBase64Error

__all__ = ["b64decode_strict", "b64encode_unpadded"]

_BODY = re.compile(r"[A-Za-z0-9+/]*")


def b64encode_unpadded(data: bytes | bytearray | memoryview) -> str:
    """Standard-alphabet base64 of ``data`` without ``=`` padding."""
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").decode("ascii")


def b64decode_strict(text: str) -> bytes:
    """Decode standard base64, padded or unpadded, refusing every non-canonical form.

    Raises :class:`~lexforge.runtime.data.errors.InvalidBase64Error` (a ``ValueError``).
    """
    if not isinstance(text, str):
        raise InvalidBase64Error(f"base64 value must be a string, not {type(text).__name__}")
    body = text
    if text.endswith("=") and len(text) % 4 == 0:
        body = text[:-2] if text.endswith("==") else text[:-1]
    if _BODY.fullmatch(body) is None:
        bad = next((c for c in body if not _BODY.fullmatch(c)), "=")
        if bad in "-_":
            why = f"URL-safe character {bad!r} (standard alphabet uses '+' and '/')"
        elif bad == "=":
            why = "misplaced or excess '=' padding"
        elif bad.isspace():
            why = "whitespace"
        else:
            why = f"character {bad!r} outside the base64 alphabet"
        raise InvalidBase64Error(f"invalid base64: {why}")
    rem = len(body) % 4
    if rem == 1:
        raise InvalidBase64Error(f"invalid base64: length {len(body)} is not a possible length")
    padded = body + "=" * (-len(body) % 4)
    try:
        data = binascii.a2b_base64(padded, strict_mode=True)
    except binascii.Error as exc:  # pragma: no cover - excluded by the checks above
        raise InvalidBase64Error(f"invalid base64: {exc}") from None
    if rem and b64encode_unpadded(data) != body:
        raise InvalidBase64Error("invalid base64: non-zero trailing bits in the last character")
    return data

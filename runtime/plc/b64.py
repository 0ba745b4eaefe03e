"""Strict unpadded base64url for PLC operation signatures.

The did:plc spec (v0.2.1) requires ``sig`` to be base64url *without* padding and with
zero trailing bits; the directory rejects anything else, because a lenient decoder lets
anyone re-spell a signature (``...A`` vs ``...B`` decode to the same bytes) and so change
the operation's CID without invalidating it. Python's ``urlsafe_b64decode`` accepts
padding, non-zero trailing bits and junk characters, so this module checks the text
itself and then requires that re-encoding reproduces it exactly.
"""

from __future__ import annotations

import base64
import re

from lexforge.runtime.plc.errors import InvalidOperationError

__all__ = ["b64url_decode_strict", "b64url_encode"]

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    """base64url of ``data`` without ``=`` padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode_strict(text: str) -> bytes:
    """Decode canonical unpadded base64url; raises :class:`InvalidOperationError`."""
    if not isinstance(text, str) or not text.isascii() or _ALPHABET.fullmatch(text) is None:
        raise InvalidOperationError(
            "signature must be unpadded base64url (A-Z a-z 0-9 - _ only, no '=')"
        )
    if len(text) % 4 == 1:
        raise InvalidOperationError(f"signature length {len(text)} is not valid base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(data) != text:
        raise InvalidOperationError("signature has non-zero trailing bits (non-canonical)")
    return data

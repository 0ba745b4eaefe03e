"""Strict unpadded base64url for PLC operation signatures.

The did:plc spec (v0.2.1) requires ``sig`` to be base64url *without* padding and with
zero trailing bits; the directory rejects anything else, because a lenient decoder lets
anyone re-spell a signature (``...A`` vs ``...B`` decode to the same bytes) and so change
the operation's CID without invalidating it. Python's ``urlsafe_b64decode`` accepts
padding, non-zero trailing bits and junk characters; the canonical decoder shared with
the data model (:mod:`lexforge.runtime.data.b64`) accepts one spelling per byte string,
and this module only restates its errors as PLC operation errors.
"""

from __future__ import annotations

from lexforge.runtime.data.b64 import b64url_decode_strict as _decode
from lexforge.runtime.data.b64 import b64url_encode_unpadded
from lexforge.runtime.data.errors import InvalidBase64Error
from lexforge.runtime.plc.errors import InvalidOperationError

__all__ = ["b64url_decode_strict", "b64url_encode"]


def b64url_encode(data: bytes) -> str:
    """base64url of ``data`` without ``=`` padding."""
    return b64url_encode_unpadded(data)


def b64url_decode_strict(text: str) -> bytes:
    """Decode canonical unpadded base64url; raises :class:`InvalidOperationError`."""
    try:
        return _decode(text)
    except InvalidBase64Error as exc:
        raise InvalidOperationError(f"signature: {exc}") from None

"""CID strings (the Lexicon ``cid`` string format).

This is a *syntax* check for CIDs carried as text, not a decoder: use
``lexforge.runtime.data.CID.parse`` to get a real CID and its codec/hash. Rules, matching
the interop vectors and the Go reference (``indigo/atproto/syntax/cid.go``):

- 8-256 characters of the multibase alphabets (ASCII letters, digits, ``+ / = _ -``);
- the first character is a multibase prefix (``b`` base32, ``z`` base58btc, ``m``
  base64, ``f`` base16, ``7`` base8, ...): CIDv1 strings always carry one;
- CIDv0 (``Qm...``, bare base58btc) is rejected: atproto requires CIDv1.

Other multibases than base32 are valid syntax even though atproto only *emits* base32
(``b...``). The string is kept as given.
"""

from __future__ import annotations

import re

from lexforge.runtime.syntax._base import SyntaxStr
from lexforge.runtime.syntax.errors import InvalidCidStringError

__all__ = ["CidString", "is_valid_cid"]

_CID_RE = re.compile(r"[a-zA-Z0-9+/=_-]{8,256}")
# Multibase prefix characters of the multibase table's text encodings.
_MULTIBASE_PREFIXES = frozenset("0179fFvVtTbBcChkKzZmMuUp")


class CidString(SyntaxStr):
    """A syntactically valid CIDv1 string, e.g. ``bafyreie5737gdxlw5i64vzichca...``."""

    FORMAT = "cid"
    MAX_LENGTH = 256
    ERROR = InvalidCidStringError

    @classmethod
    def _check(cls, text: str) -> str:
        if text.startswith("Qm"):
            raise cls.ERROR(text, "CIDv0 ('Qm...') is not allowed; atproto requires CIDv1")
        if len(text) < 8:
            raise cls.ERROR(text, "shorter than 8 characters")
        if not _CID_RE.fullmatch(text):
            raise cls.ERROR(text, "contains characters outside the multibase alphabets")
        if text[0] not in _MULTIBASE_PREFIXES:
            raise cls.ERROR(text, f"{text[0]!r} is not a multibase prefix")
        return text


def is_valid_cid(value: object) -> bool:
    """True if ``value`` is a string :meth:`CidString.parse` accepts; never raises."""
    try:
        CidString.parse(value)
    except InvalidCidStringError:
        return False
    return True

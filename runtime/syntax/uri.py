"""Generic URIs (the Lexicon ``uri`` format).

Rules (atproto Lexicon spec: "any URI schema, following the generic RFC-3986 on URIs",
at most 8 KB), made concrete as the intersection of the reference implementations so
that anything we accept, they accept:

- an RFC 3986 scheme (a letter, then letters, digits, ``+ . -``) followed by ``:``;
- then at least one character; after an optional ``//``, the first character is not
  ``/`` (the TypeScript reference rejects ``file:///x``-style empty authorities);
- no whitespace and no control characters anywhere; non-ASCII is tolerated (IRIs
  written by the reference implementation must stay readable);
- at most 8192 characters.

No normalisation: the string is kept as given.
"""

from __future__ import annotations

import re

from lexforge.runtime.syntax._base import SyntaxStr
from lexforge.runtime.syntax.errors import InvalidUriError

__all__ = ["Uri", "is_valid_uri"]

_SCHEME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*")
# Whitespace (Unicode) and C0/C1 control characters.
_BAD_CHAR_RE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


class Uri(SyntaxStr):
    """A valid generic URI with a scheme, e.g. ``https://example.com/path``."""

    FORMAT = "uri"
    MAX_LENGTH = 8192
    ERROR = InvalidUriError

    @classmethod
    def _check(cls, text: str) -> str:
        scheme, colon, rest = text.partition(":")
        if not colon:
            raise cls.ERROR(text, "missing scheme (no ':')")
        if not _SCHEME_RE.fullmatch(scheme):
            raise cls.ERROR(
                text, "scheme must start with a letter and use only letters, digits, '+.-'"
            )
        if _BAD_CHAR_RE.search(text):
            raise cls.ERROR(text, "contains whitespace or control characters")
        after_slashes = rest[2:] if rest.startswith("//") else rest
        if not after_slashes:
            raise cls.ERROR(text, "nothing after the scheme")
        if after_slashes.startswith("/"):
            raise cls.ERROR(text, "empty authority ('///')")
        return text

    @property
    def scheme(self) -> str:
        """The scheme as written (compare case-insensitively)."""
        return self.partition(":")[0]


def is_valid_uri(value: object) -> bool:
    """True if ``value`` is a string :meth:`Uri.parse` accepts; never raises."""
    try:
        Uri.parse(value)
    except InvalidUriError:
        return False
    return True

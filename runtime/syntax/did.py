"""DIDs, in the atproto profile of the W3C DID syntax.

Rules (atproto ``did`` spec):

- ``did:`` prefix, lowercase;
- the method is one or more lowercase ASCII letters, followed by ``:``;
- the method-specific identifier uses ``A-Z a-z 0-9 . _ : % -`` and must not end with
  ``:`` or ``%`` (percent-encoding itself is not checked at the syntax level);
- no ``/``, ``?`` or ``#`` (no path, query or fragment);
- at most 2048 characters.

DIDs are case-sensitive and are never normalised. Well-formed DIDs of methods atproto
does not support (``did:key``, ``did:example``) are valid syntax: "unsupported method" is
an application error, not a syntax error.
"""

from __future__ import annotations

import re
from functools import cached_property

from lexforge.runtime.syntax._base import SyntaxStr
from lexforge.runtime.syntax.errors import InvalidDidError

__all__ = ["Did", "is_valid_did"]

# Regex translation of the rules above (used after the length cap and prefix checks).
_DID_RE = re.compile(r"did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]")
_METHOD_RE = re.compile(r"[a-z]+")
_IDENT_CHARS_RE = re.compile(r"[a-zA-Z0-9._:%-]+")


class Did(SyntaxStr):
    """A syntactically valid DID, e.g. ``did:plc:7iza6de2dwap2sbkpav7c6c6``.

    ``method`` and ``identifier`` give the two parts after ``did:``.
    """

    FORMAT = "did"
    MAX_LENGTH = 2048
    ERROR = InvalidDidError

    @classmethod
    def _check(cls, text: str) -> str:
        if _DID_RE.fullmatch(text):
            return text
        # Slow path: only to explain what is wrong.
        if not text.startswith("did:"):
            raise cls.ERROR(text, "must start with 'did:' (lowercase)")
        method, sep, ident = text[4:].partition(":")
        if not sep:
            raise cls.ERROR(text, "missing ':' after the method name")
        if not _METHOD_RE.fullmatch(method):
            raise cls.ERROR(text, "method must be one or more lowercase ASCII letters")
        if not ident:
            raise cls.ERROR(text, "empty method-specific identifier")
        if not _IDENT_CHARS_RE.fullmatch(ident):
            raise cls.ERROR(
                text,
                "identifier may only contain ASCII letters, digits and '._:%-' "
                "(no '/', '?' or '#')",
            )
        raise cls.ERROR(text, "must not end with ':' or '%'")

    @cached_property
    def method(self) -> str:
        """The DID method, e.g. ``plc``."""
        return self[4:].partition(":")[0]

    @cached_property
    def identifier(self) -> str:
        """The method-specific identifier, e.g. ``7iza6de2dwap2sbkpav7c6c6``."""
        return self[4:].partition(":")[2]


def is_valid_did(value: object) -> bool:
    """True if ``value`` is a string :meth:`Did.parse` accepts; never raises."""
    try:
        Did.parse(value)
    except InvalidDidError:
        return False
    return True

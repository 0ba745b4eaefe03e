"""Handles: DNS hostnames used as human-readable account names.

Rules (atproto ``handle`` spec):

- ASCII only, at most 253 characters;
- at least two labels separated by ``.``; no leading, trailing or double dot;
- each label is 1-63 characters of ``A-Z a-z 0-9 -`` and does not start or end with
  ``-``;
- the last label (TLD) starts with a letter.

Handles are case-insensitive; :meth:`Handle.parse` normalises to lowercase. Reserved TLDs
(``.local``, ``.invalid``, ...) are valid *syntax*; refusing them is a registration /
resolution decision, see :data:`DISALLOWED_TLDS` and :meth:`Handle.has_disallowed_tld`.
Punycode labels (``xn--...``) are kept encoded.
"""

from __future__ import annotations

import re

from lexforge.runtime.syntax._base import SyntaxStr
from lexforge.runtime.syntax.errors import InvalidHandleError

__all__ = ["DISALLOWED_TLDS", "INVALID_HANDLE", "Handle", "is_valid_handle"]

# Regex translation of the rules above (applied after the 253-character cap).
_HANDLE_RE = re.compile(
    r"([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
)
_LABEL_RE = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")

#: TLDs that are valid syntax but must fail registration and resolution.
DISALLOWED_TLDS = frozenset(
    {"alt", "arpa", "example", "internal", "invalid", "local", "localhost", "onion"}
)

#: The marker atproto uses for "this account has no verified handle".
INVALID_HANDLE = "handle.invalid"


class Handle(SyntaxStr):
    """A syntactically valid handle, lowercased, e.g. ``alice.bsky.social``."""

    FORMAT = "handle"
    MAX_LENGTH = 253
    ERROR = InvalidHandleError

    @classmethod
    def _check(cls, text: str) -> str:
        if text.isascii() and _HANDLE_RE.fullmatch(text):
            return text.lower()
        # Slow path: only to explain what is wrong.
        if not text.isascii():
            raise cls.ERROR(text, "must be ASCII (use punycode 'xn--' labels)")
        labels = text.split(".")
        if len(labels) < 2:
            raise cls.ERROR(text, "needs at least two dot-separated labels")
        for label in labels:
            if not label:
                raise cls.ERROR(text, "empty label (leading, trailing or double dot)")
            if len(label) > 63:
                raise cls.ERROR(text, "a label is longer than 63 characters")
            if not _LABEL_RE.fullmatch(label):
                raise cls.ERROR(
                    text,
                    f"label {label[:63]!r} must be ASCII letters, digits and '-', "
                    "not starting or ending with '-'",
                )
        raise cls.ERROR(text, "the last label (TLD) must start with a letter")

    @property
    def tld(self) -> str:
        """The last label, e.g. ``social``."""
        return self.rpartition(".")[2]

    def has_disallowed_tld(self) -> bool:
        """True for TLDs that must fail registration/resolution (``.local`` ...)."""
        return self.tld in DISALLOWED_TLDS

    def is_invalid_marker(self) -> bool:
        """True for ``handle.invalid``, the "no verified handle" marker."""
        return self == INVALID_HANDLE


def is_valid_handle(value: object) -> bool:
    """True if ``value`` is a string :meth:`Handle.parse` accepts; never raises."""
    try:
        Handle.parse(value)
    except InvalidHandleError:
        return False
    return True

"""NSIDs (Namespaced Identifiers), e.g. ``app.bsky.feed.post``.

Rules (atproto ``nsid`` spec):

- ASCII, at least three ``.``-separated segments, at most 317 characters;
- the *domain authority* is every segment but the last: a reversed hostname whose
  segments are 1-63 characters of ``A-Z a-z 0-9 -``, not starting or ending with ``-``;
  the first segment (the TLD) must not start with a digit. (Only the 317-character total
  is enforced, not a separate 253-character authority limit: the interop vectors list a
  valid NSID with a 283-character authority, and the reference checks only the total.)
- the *name* is the last segment: 1-63 ASCII letters and digits, not starting with a
  digit, no hyphens.

Normalisation: the authority is case-insensitive and :meth:`Nsid.parse` lowercases it;
the name is case-sensitive and kept as written (``com.example.fooBar``). Never lowercase
an NSID wholesale. Glob forms (``com.example.*``) are not NSIDs.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Self

from lexforge.runtime.syntax._base import SyntaxStr
from lexforge.runtime.syntax.errors import InvalidNsidError

__all__ = ["Nsid", "is_valid_nsid"]

# Regex translation of the rules above (lengths of the whole and of the authority are
# checked separately).
_NSID_RE = re.compile(
    r"[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+"
    r"\.[a-zA-Z][a-zA-Z0-9]{0,62}"
)
_AUTHORITY_SEGMENT_RE = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")
_NAME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9]{0,62}")


class Nsid(SyntaxStr):
    """A syntactically valid NSID with a lowercase authority.

    ``segments`` are the parts as written, ``name`` the last one, ``authority`` the
    domain authority in hostname order (``com.example.fooBar`` -> ``example.com``).
    """

    FORMAT = "nsid"
    MAX_LENGTH = 317
    ERROR = InvalidNsidError

    @classmethod
    def _check(cls, text: str) -> str:
        if text.isascii() and _NSID_RE.fullmatch(text):
            authority_text, _, name_text = text.rpartition(".")
            return f"{authority_text.lower()}.{name_text}"
        # Slow path: only to explain what is wrong.
        if not text.isascii():
            raise cls.ERROR(text, "must be ASCII")
        segments = text.split(".")
        if len(segments) < 3:
            raise cls.ERROR(text, "needs at least three dot-separated segments")
        if any(not segment for segment in segments):
            raise cls.ERROR(text, "empty segment (leading, trailing or double dot)")
        *authority, name = segments
        for segment in authority:
            if len(segment) > 63:
                raise cls.ERROR(text, "an authority segment is longer than 63 characters")
            if not _AUTHORITY_SEGMENT_RE.fullmatch(segment):
                raise cls.ERROR(
                    text,
                    f"authority segment {segment!r} must be ASCII letters, digits and '-', "
                    "not starting or ending with '-'",
                )
        if authority[0][0].isdigit():
            raise cls.ERROR(text, "the first segment must not start with a digit")
        if len(name) > 63:
            raise cls.ERROR(text, "the name segment is longer than 63 characters")
        if not _NAME_RE.fullmatch(name):
            raise cls.ERROR(
                text,
                f"name {name!r} must be ASCII letters and digits, not starting with a digit",
            )
        raise cls.ERROR(text, "not a valid NSID")  # pragma: no cover - rules above are complete

    @cached_property
    def segments(self) -> tuple[str, ...]:
        """All segments as written, e.g. ``('app', 'bsky', 'feed', 'post')``."""
        return tuple(self.split("."))

    @property
    def name(self) -> str:
        """The final, case-sensitive name segment, e.g. ``post``."""
        return self.segments[-1]

    @property
    def authority_segments(self) -> tuple[str, ...]:
        """The domain-authority segments as written (reversed-domain order)."""
        return self.segments[:-1]

    @property
    def authority(self) -> str:
        """The domain authority as a hostname, e.g. ``feed.bsky.app``; this is the name
        under which ``_lexicon.<authority>`` is looked up."""
        return ".".join(reversed(self.authority_segments))

    @classmethod
    def create(cls, authority: str, name: str) -> Self:
        """Build an NSID from a hostname-order authority and a name:
        ``Nsid.create("example.com", "fooBar") == "com.example.fooBar"``."""
        return cls.parse(".".join([*reversed(authority.split(".")), name]))


def is_valid_nsid(value: object) -> bool:
    """True if ``value`` is a string :meth:`Nsid.parse` accepts; never raises."""
    try:
        Nsid.parse(value)
    except InvalidNsidError:
        return False
    return True

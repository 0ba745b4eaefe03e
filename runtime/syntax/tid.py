"""TIDs (timestamp identifiers): 64-bit sortable ids used as record keys and repo revs.

Layout (atproto ``tid`` spec): bit 63 is 0; bits 62-10 are microseconds since the UNIX
epoch (53 bits); bits 9-0 are a clock id (10 bits). The integer is written big-endian in
the ``base32-sortable`` alphabet ``234567abcdefghijklmnopqrstuvwxyz``, always 13
characters, so string order equals numeric order. Integer 0 is ``2222222222222``; the
first character is one of ``234567abcdefghij`` because the top bit is 0.

The syntax regex (``^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$``, as in
the spec and both references) admits first characters ``c``-``j``, which set bit 63: such
strings are valid TIDs when *parsing* (``to_int`` then returns a value up to 2**64-1),
but are never *generated* (:meth:`Tid.from_parts` and the clock keep bit 63 clear).

Case-sensitive; the legacy dashed form (``3jzf-cij-pj2z-2a``) is not accepted. Never
trust a TID received from someone else as a timestamp or as unique. Generation lives in
:mod:`lexforge.runtime.syntax.tidclock`.
"""

from __future__ import annotations

import re
from typing import Self

from lexforge.runtime.syntax._base import SyntaxStr
from lexforge.runtime.syntax.errors import InvalidTidError

__all__ = ["MAX_CLOCK_ID", "MAX_TID_INT", "MAX_TIMESTAMP_US", "Tid", "is_valid_tid"]

_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_DECODE = {char: index for index, char in enumerate(_ALPHABET)}
_TID_RE = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
_LENGTH = 13

#: Largest timestamp (53 bits of microseconds).
MAX_TIMESTAMP_US = (1 << 53) - 1
#: Largest clock id (10 bits).
MAX_CLOCK_ID = (1 << 10) - 1
#: Largest integer with a valid TID string (the syntax allows bit 63; see above).
MAX_TID_INT = (1 << 64) - 1


def _encode(value: int) -> str:
    chars = []
    for _ in range(_LENGTH):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


class Tid(SyntaxStr):
    """A valid TID string, e.g. ``3jzfcijpj2z2a``.

    ``to_int()`` / ``from_int(n)`` convert to and from the 63-bit integer;
    ``timestamp_us`` and ``clock_id`` are its two fields; ``from_parts`` builds one.
    Ordering of instances (as strings) is the numeric ordering.
    """

    FORMAT = "tid"
    MAX_LENGTH = _LENGTH
    ERROR = InvalidTidError

    @classmethod
    def _check(cls, text: str) -> str:
        if _TID_RE.fullmatch(text):
            return text
        if len(text) != _LENGTH:
            raise cls.ERROR(text, f"must be exactly {_LENGTH} characters, got {len(text)}")
        if any(char not in _DECODE for char in text):
            raise cls.ERROR(text, f"characters must come from {_ALPHABET!r} (lowercase)")
        raise cls.ERROR(text, "first character must be one of '234567abcdefghij' (top bit 0)")

    def to_int(self) -> int:
        """The TID as an unsigned integer (below 2**63 for spec-conforming TIDs)."""
        value = 0
        for char in self:
            value = (value << 5) | _DECODE[char]
        return value

    @property
    def timestamp_us(self) -> int:
        """Microseconds since the UNIX epoch claimed by this TID (untrusted)."""
        return self.to_int() >> 10

    @property
    def clock_id(self) -> int:
        """The 10-bit clock id."""
        return self.to_int() & MAX_CLOCK_ID

    @classmethod
    def from_int(cls, value: int) -> Self:
        """The TID string for an integer in ``0 .. 2**64 - 1`` (everything that has a
        valid TID string; spec-conforming TIDs are below 2**63)."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise cls.ERROR(value, "expected an int")
        if not 0 <= value <= MAX_TID_INT:
            raise cls.ERROR(str(value), "integer out of range 0 .. 2**64-1")
        return cls._make(_encode(value))

    @classmethod
    def from_parts(cls, timestamp_us: int, clock_id: int) -> Self:
        """The TID for a microsecond timestamp (53 bits) and a clock id (0-1023)."""
        for name, part, limit in (
            ("timestamp_us", timestamp_us, MAX_TIMESTAMP_US),
            ("clock_id", clock_id, MAX_CLOCK_ID),
        ):
            if isinstance(part, bool) or not isinstance(part, int):
                raise cls.ERROR(part, f"{name} must be an int")
            if not 0 <= part <= limit:
                raise cls.ERROR(str(part), f"{name} out of range 0 .. {limit}")
        return cls._make(_encode((timestamp_us << 10) | clock_id))


def is_valid_tid(value: object) -> bool:
    """True if ``value`` is a string :meth:`Tid.parse` accepts; never raises."""
    try:
        Tid.parse(value)
    except InvalidTidError:
        return False
    return True

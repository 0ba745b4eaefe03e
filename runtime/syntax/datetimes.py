"""Datetimes (the Lexicon ``datetime`` string format).

Strict rules (for what we *write*; atproto Lexicon spec, RFC 3339 ∩ ISO 8601 ∩ WHATWG):

- ``YYYY-MM-DDTHH:MM:SS`` with an uppercase ``T``, seconds mandatory, 4-digit year
  (no sign, no expanded years);
- an optional ``.fraction`` of any number of digits;
- a mandatory timezone: uppercase ``Z`` or ``±HH:MM``; ``-00:00`` is forbidden, and so
  are ``+0000``/``+00``;
- a real calendar date and time (no month 00, day 32, hour 24, minute 60, second 60 or
  61); the value, normalised to UTC, must not fall before year 0000;
- at most 64 characters.

Lenient rules (for what we *read*: the reference validator accepts more, and records it
wrote must stay readable): a real ISO 8601 calendar date, optionally followed by a time
separated by ``T``, ``t`` or a space (``HH:MM``, seconds and a ``.``/``,`` fraction
optional), and an optional timezone (``Z``, ``z``, ``±HH``, ``±HHMM``, ``±HH:MM``, also
``-00:00``). The same range checks apply; at most 64 characters.

``Datetime.parse(s)`` is strict; ``Datetime.parse(s, strict=False)`` is lenient. The
pydantic integration is strict unless the validation context sets
``LENIENT_CONTEXT_KEY`` (see :mod:`lexforge.runtime.syntax._base`).

The string value is never re-serialised: a ``Datetime`` is exactly the text it was
parsed from. :meth:`Datetime.to_datetime` converts for convenience;
:meth:`Datetime.now`, :meth:`Datetime.from_datetime` and :meth:`Datetime.normalize`
produce the canonical ``YYYY-MM-DDTHH:MM:SS.sssZ`` form.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import NamedTuple, Self

from lexforge.runtime.syntax._base import StrictOrLenientStr
from lexforge.runtime.syntax.errors import DatetimeRangeError, InvalidDatetimeError

__all__ = ["Datetime", "is_valid_datetime"]

_STRICT_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})"
)
_LENIENT_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?"
    r"(Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?"
)
_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_in_month(year: int, month: int) -> int:
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return 29 if month == 2 and leap else _DAYS[month - 1]


class _Fields(NamedTuple):
    year: int
    month: int
    day: int
    hour: int
    minute: int
    second: int
    fraction: str  # digits, possibly empty
    offset_minutes: int | None  # None: no timezone given (lenient only)


def _parse_fields(text: str, strict: bool) -> _Fields:
    """Split and range-check; raises :class:`InvalidDatetimeError`."""
    match = (_STRICT_RE if strict else _LENIENT_RE).fullmatch(text)
    if match is None:
        if strict:
            raise InvalidDatetimeError(
                text,
                "must be YYYY-MM-DDTHH:MM:SS[.fraction] followed by 'Z' or ±HH:MM "
                "(uppercase T and Z, zero-padded)",
            )
        raise InvalidDatetimeError(text, "not an ISO 8601 calendar date and time")
    year_s, month_s, day_s, hour_s, minute_s, second_s, fraction, zone = match.groups()
    year, month, day = int(year_s), int(month_s), int(day_s)
    hour = int(hour_s or 0)
    minute = int(minute_s or 0)
    second = int(second_s or 0)
    if not 1 <= month <= 12:
        raise InvalidDatetimeError(text, f"month {month:02d} out of range")
    if not 1 <= day <= _days_in_month(year, month):
        raise InvalidDatetimeError(text, f"day {day:02d} does not exist in {year:04d}-{month:02d}")
    if hour > 23:
        raise InvalidDatetimeError(text, f"hour {hour:02d} out of range")
    if minute > 59:
        raise InvalidDatetimeError(text, f"minute {minute:02d} out of range")
    if second > 59:
        raise InvalidDatetimeError(text, f"second {second:02d} out of range (no leap seconds)")
    offset: int | None
    if zone is None:
        offset = None
    elif zone in {"Z", "z"}:
        offset = 0
    else:
        if strict and zone == "-00:00":
            raise InvalidDatetimeError(text, "'-00:00' (unknown offset) is not allowed; use 'Z'")
        digits = zone[1:].replace(":", "")
        off_hours, off_minutes = int(digits[:2]), int(digits[2:] or 0)
        if off_hours > 23 or off_minutes > 59:
            raise InvalidDatetimeError(text, f"timezone offset {zone} out of range")
        offset = (off_hours * 60 + off_minutes) * (-1 if zone[0] == "-" else 1)
    if year == 0 and offset is not None and offset > 0:
        # Minutes since 0000-01-01T00:00 local; subtracting the offset gives UTC.
        local = ((_day_of_year(year, month, day) - 1) * 24 + hour) * 60 + minute
        if local - offset < 0:
            raise InvalidDatetimeError(text, "normalises to a time before year 0000")
    return _Fields(year, month, day, hour, minute, second, fraction or "", offset)


def _day_of_year(year: int, month: int, day: int) -> int:
    return sum(_days_in_month(year, m) for m in range(1, month)) + day


class Datetime(StrictOrLenientStr):
    """A valid atproto datetime string, kept exactly as given (see module docstring)."""

    FORMAT = "datetime"
    MAX_LENGTH = 64
    ERROR = InvalidDatetimeError

    @classmethod
    def _validate(cls, text: str, strict: bool) -> _Fields:
        return _parse_fields(text, strict)

    def to_datetime(self) -> datetime:
        """An aware ``datetime`` in the value's own offset (UTC if a lenient value had
        none). Fractions beyond microseconds are truncated. Raises
        :class:`DatetimeRangeError` for values Python cannot represent (year 0000)."""
        fields = _parse_fields(self, False)
        offset = fields.offset_minutes or 0
        tz = UTC if offset == 0 else timezone(timedelta(minutes=offset))
        micro = int((fields.fraction + "000000")[:6])
        try:
            return datetime(
                fields.year,
                fields.month,
                fields.day,
                fields.hour,
                fields.minute,
                fields.second,
                micro,
                tzinfo=tz,
            )
        except (ValueError, OverflowError) as exc:
            raise DatetimeRangeError(self, f"not representable as datetime: {exc}") from exc

    def normalize(self) -> Datetime:
        """The canonical form ``YYYY-MM-DDTHH:MM:SS.sssZ`` of the same instant
        (milliseconds, truncated). Raises :class:`DatetimeRangeError` if Python cannot
        represent it."""
        return type(self).from_datetime(self.to_datetime())

    @classmethod
    def from_datetime(cls, value: datetime) -> Self:
        """The canonical UTC millisecond form of an aware ``datetime``
        (``2024-01-02T03:04:05.678Z``); sub-millisecond digits are truncated. A naive
        datetime is refused: its timezone is unknown."""
        if not isinstance(value, datetime):
            raise InvalidDatetimeError(value, "expected a datetime.datetime")
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidDatetimeError(str(value), "naive datetime (no timezone)")
        try:
            utc = value.astimezone(UTC)
        except (ValueError, OverflowError) as exc:
            raise DatetimeRangeError(str(value), f"cannot convert to UTC: {exc}") from exc
        return cls._make(
            f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:"
            f"{utc.second:02d}.{utc.microsecond // 1000:03d}Z"
        )

    @classmethod
    def now(cls) -> Self:
        """The current time in canonical form."""
        return cls.from_datetime(datetime.now(UTC))


def is_valid_datetime(value: object, *, strict: bool = True) -> bool:
    """True if ``value`` is a string :meth:`Datetime.parse` accepts (with the same
    ``strict`` flag); never raises."""
    try:
        Datetime.parse(value, strict=strict)
    except InvalidDatetimeError:
        return False
    return True

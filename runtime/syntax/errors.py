"""Errors raised by :mod:`lexforge.runtime.syntax`.

Every parse failure is an :class:`InvalidSyntaxError`, which is a :class:`ValueError`, so
callers that only care "was it valid?" catch one class, and pydantic turns it into a
``ValidationError``. Each identifier type has its own subclass so callers can tell *which*
field of a composite value (an AT-URI's authority, a TID inside a rev) was wrong::

    ValueError
     +-- InvalidSyntaxError            (base; .kind, .value, .reason)
          +-- InvalidDidError
          +-- InvalidHandleError
          +-- InvalidNsidError
          +-- InvalidAtUriError
          +-- InvalidAtIdentifierError
          +-- InvalidTidError
          |    +-- TidExhaustedError   (no TID exists above the given one)
          +-- InvalidRecordKeyError
          +-- InvalidDatetimeError
          |    +-- DatetimeRangeError  (valid string, not representable as a datetime)
          +-- InvalidLanguageError
          +-- InvalidCidStringError
          +-- InvalidUriError

The message always names the type and says what is wrong; the offending value is quoted
but truncated, so a megabyte of garbage never ends up in a log line.
"""

from __future__ import annotations

__all__ = [
    "DatetimeRangeError",
    "InvalidAtIdentifierError",
    "InvalidAtUriError",
    "InvalidCidStringError",
    "InvalidDatetimeError",
    "InvalidDidError",
    "InvalidHandleError",
    "InvalidLanguageError",
    "InvalidNsidError",
    "InvalidRecordKeyError",
    "InvalidSyntaxError",
    "InvalidTidError",
    "InvalidUriError",
    "TidExhaustedError",
]

#: How many characters of the offending value are quoted in a message.
_QUOTE_MAX = 80


def _quote(value: object) -> str:
    if isinstance(value, str):
        if len(value) > _QUOTE_MAX:
            return f"{value[:_QUOTE_MAX]!r}... ({len(value)} chars)"
        return repr(value)
    return f"a value of type {type(value).__name__}"


class InvalidSyntaxError(ValueError):
    """A string is not a valid atproto identifier of the expected kind."""

    #: Human name of the identifier kind, used in messages ("DID", "handle", ...).
    kind: str = "identifier"
    #: Stable slug used as the pydantic error type (``invalid_did``, ...).
    code: str = "invalid_syntax"

    def __init__(self, value: object, reason: str) -> None:
        self.value = value
        self.reason = reason
        super().__init__(f"invalid {self.kind} {_quote(value)}: {reason}")


class InvalidDidError(InvalidSyntaxError):
    """Not a syntactically valid DID."""

    kind = "DID"
    code = "invalid_did"


class InvalidHandleError(InvalidSyntaxError):
    """Not a syntactically valid handle."""

    kind = "handle"
    code = "invalid_handle"


class InvalidNsidError(InvalidSyntaxError):
    """Not a syntactically valid NSID."""

    kind = "NSID"
    code = "invalid_nsid"


class InvalidAtUriError(InvalidSyntaxError):
    """Not a valid AT-URI in the (restricted) Lexicon ``at-uri`` format."""

    kind = "AT-URI"
    code = "invalid_at_uri"


class InvalidAtIdentifierError(InvalidSyntaxError):
    """Neither a valid DID nor a valid handle."""

    kind = "at-identifier"
    code = "invalid_at_identifier"


class InvalidTidError(InvalidSyntaxError):
    """Not a valid TID, or TID components out of range."""

    kind = "TID"
    code = "invalid_tid"


class TidExhaustedError(InvalidTidError):
    """No TID can be produced above the given one (the 53-bit timestamp would overflow)."""


class InvalidRecordKeyError(InvalidSyntaxError):
    """Not a valid record key."""

    kind = "record key"
    code = "invalid_record_key"


class InvalidDatetimeError(InvalidSyntaxError):
    """Not a valid atproto datetime string (strict or lenient, as requested)."""

    kind = "datetime"
    code = "invalid_datetime"


class DatetimeRangeError(InvalidDatetimeError):
    """A valid datetime string (or value) that Python's ``datetime`` cannot represent.

    Year 0000 is valid atproto syntax but below ``datetime.MINYEAR``; this is raised by
    conversions, never by parsing.
    """


class InvalidLanguageError(InvalidSyntaxError):
    """Not a valid BCP-47 language tag (strict or lenient, as requested)."""

    kind = "language tag"
    code = "invalid_language"


class InvalidCidStringError(InvalidSyntaxError):
    """Not a syntactically valid CID string (CIDv1, any multibase)."""

    kind = "CID string"
    code = "invalid_cid"


class InvalidUriError(InvalidSyntaxError):
    """Not a valid generic URI (scheme required, at most 8 KB)."""

    kind = "URI"
    code = "invalid_uri"

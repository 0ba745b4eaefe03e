"""Validated string types for every atproto identifier and string format.

Each type is a ``str`` subclass whose constructor validates (``Did(x)`` ==
``Did.parse(x)``), with a typed :class:`~lexforge.runtime.syntax.errors.InvalidSyntaxError`
subclass on failure, an ``is_valid_*`` function that never raises, normalisation where the
spec defines it (handles lowercase; NSID domain authority lowercase), and pydantic v2
support so generated models use them directly as field types.

======================  ==================  ======================================
Lexicon format          type                normalisation
======================  ==================  ======================================
``did``                 :class:`Did`        none (case-sensitive)
``handle``              :class:`Handle`     lowercased
``at-identifier``       :class:`AtIdentifier`  handle part lowercased
``nsid``                :class:`Nsid`       domain authority lowercased
``at-uri``              :class:`AtUri`      none (typed parts are normalised)
``tid``                 :class:`Tid`        none
``record-key``          :class:`RecordKey`  none
``datetime``            :class:`Datetime`   none (strict by default; lenient reader)
``language``            :class:`Language`   none (strict by default; lenient reader)
``cid``                 :class:`CidString`  none
``uri``                 :class:`Uri`        none
======================  ==================  ======================================

Every type caps input length before any regex runs, so hostile input of any size is
rejected in microseconds. TIDs are generated with :class:`TidClock`.
"""

from lexforge.runtime.syntax._base import LENIENT_CONTEXT_KEY, SyntaxStr
from lexforge.runtime.syntax.atidentifier import (
    AtIdentifier,
    is_valid_at_identifier,
    parse_did_or_handle,
)
from lexforge.runtime.syntax.aturi import AtUri, is_valid_at_uri
from lexforge.runtime.syntax.cid import CidString, is_valid_cid
from lexforge.runtime.syntax.datetimes import Datetime, is_valid_datetime
from lexforge.runtime.syntax.did import Did, is_valid_did
from lexforge.runtime.syntax.errors import (
    DatetimeRangeError,
    InvalidAtIdentifierError,
    InvalidAtUriError,
    InvalidCidStringError,
    InvalidDatetimeError,
    InvalidDidError,
    InvalidHandleError,
    InvalidLanguageError,
    InvalidNsidError,
    InvalidRecordKeyError,
    InvalidSyntaxError,
    InvalidTidError,
    InvalidUriError,
    TidExhaustedError,
)
from lexforge.runtime.syntax.handle import DISALLOWED_TLDS, INVALID_HANDLE, Handle, is_valid_handle
from lexforge.runtime.syntax.language import Language, LanguageParts, is_valid_language
from lexforge.runtime.syntax.nsid import Nsid, is_valid_nsid
from lexforge.runtime.syntax.recordkey import RecordKey, is_valid_record_key
from lexforge.runtime.syntax.tid import Tid, is_valid_tid
from lexforge.runtime.syntax.tidclock import TidClock, next_tid
from lexforge.runtime.syntax.uri import Uri, is_valid_uri

__all__ = [
    "DISALLOWED_TLDS",
    "INVALID_HANDLE",
    "LENIENT_CONTEXT_KEY",
    "AtIdentifier",
    "AtUri",
    "CidString",
    "Datetime",
    "DatetimeRangeError",
    "Did",
    "Handle",
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
    "Language",
    "LanguageParts",
    "Nsid",
    "RecordKey",
    "SyntaxStr",
    "Tid",
    "TidClock",
    "TidExhaustedError",
    "Uri",
    "is_valid_at_identifier",
    "is_valid_at_uri",
    "is_valid_cid",
    "is_valid_datetime",
    "is_valid_did",
    "is_valid_handle",
    "is_valid_language",
    "is_valid_nsid",
    "is_valid_record_key",
    "is_valid_tid",
    "is_valid_uri",
    "next_tid",
    "parse_did_or_handle",
]

"""DID, TID and record-key syntax checks for the hot paths (commits, firehose events).

The :mod:`lexforge.runtime.syntax` checks build a typed string per call, which costs
several microseconds per field at firehose rates. These are the same rules (spec/syntax:
the DID regex and 2048-character cap, the TID regex, the record-key charset, 1-512
characters and not ``.``/``..``) as plain regex matches; tests/sync/test_events.py and
tests/repo/test_fast_paths.py check they agree with ``is_valid_did``/``is_valid_tid``/
``is_valid_record_key`` on the interop syntax vectors. :func:`tid_timestamp_us` reads a
TID's timestamp without building a ``Tid``.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["fast_is_did", "fast_is_record_key", "fast_is_tid", "tid_timestamp_us"]

_DID_RE: Final = re.compile(r"did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]")
_TID_RE: Final = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
_RKEY_RE: Final = re.compile(r"[a-zA-Z0-9_~.:-]{1,512}")
_MAX_DID_LENGTH: Final = 2048
# base32-sortable digits -> the digits int(..., 32) reads (0-9, a-v), in the same order
_TID_TO_BASE32: Final = str.maketrans(
    "234567abcdefghijklmnopqrstuvwxyz", "0123456789abcdefghijklmnopqrstuv"
)


def fast_is_did(value: object) -> bool:
    """``is_valid_did`` without building a :class:`~lexforge.runtime.syntax.Did`."""
    return (
        isinstance(value, str)
        and len(value) <= _MAX_DID_LENGTH
        and _DID_RE.fullmatch(value) is not None
    )


def fast_is_tid(value: object) -> bool:
    """``is_valid_tid`` without building a :class:`~lexforge.runtime.syntax.Tid`."""
    return isinstance(value, str) and _TID_RE.fullmatch(value) is not None


def fast_is_record_key(value: object) -> bool:
    """``is_valid_record_key`` without building a :class:`~lexforge.runtime.syntax.RecordKey`."""
    if type(value) is not str:
        if not isinstance(value, str):
            return False
        value = str.__str__(value)
    return _RKEY_RE.fullmatch(value) is not None and value not in {".", ".."}


def tid_timestamp_us(tid: str) -> int:
    """The microsecond timestamp of a valid TID (``Tid(tid).timestamp_us``)."""
    return int(tid.translate(_TID_TO_BASE32), 32) >> 10

"""Record keys: the last segment of a repo path (``<collection>/<rkey>``).

Rules (atproto ``record-key`` spec): 1-512 characters of ``A-Z a-z 0-9 . - _ : ~``, and
not exactly ``.`` or ``..``. Case-sensitive, never normalised. Lexicons may restrict keys
further (``tid``, ``nsid``, ``literal:<value>``); that is schema validation, not syntax.
"""

from __future__ import annotations

import re

from lexforge.runtime.syntax._base import SyntaxStr
from lexforge.runtime.syntax.errors import InvalidRecordKeyError

__all__ = ["RecordKey", "is_valid_record_key"]

_RKEY_RE = re.compile(r"[a-zA-Z0-9_~.:-]{1,512}")


class RecordKey(SyntaxStr):
    """A syntactically valid record key, e.g. ``3jzfcijpj2z2a`` or ``self``."""

    FORMAT = "record-key"
    MAX_LENGTH = 512
    ERROR = InvalidRecordKeyError

    @classmethod
    def _check(cls, text: str) -> str:
        if not _RKEY_RE.fullmatch(text):
            raise cls.ERROR(
                text, "may only contain ASCII letters, digits and '.-_:~' (1-512 chars)"
            )
        if text in {".", ".."}:
            raise cls.ERROR(text, "'.' and '..' are not allowed")
        return text


def is_valid_record_key(value: object) -> bool:
    """True if ``value`` is a string :meth:`RecordKey.parse` accepts; never raises."""
    try:
        RecordKey.parse(value)
    except InvalidRecordKeyError:
        return False
    return True

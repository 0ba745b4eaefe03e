"""MIME types and the patterns Lexicon ``blob.accept`` and body ``encoding`` use.

A pattern is an exact type (``image/png``), a type wildcard (``image/*``) or ``*/*``.
Partial globs (``text/ht*``) and a bare ``*`` are not patterns. Matching is
case-insensitive (MIME types are) and ignores parameters (``; charset=utf-8``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["is_valid_mime_pattern", "is_valid_mime_type", "mime_matches", "normalize_mime"]

# RFC 6838 restricted names: a letter or digit, then up to 126 of these characters.
_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
_TYPE = re.compile(rf"{_NAME}/{_NAME}")
_PATTERN = re.compile(rf"(?:{_NAME}|\*)/(?:{_NAME}|\*)")


def normalize_mime(value: str) -> str:
    """Lowercase type/subtype without parameters or surrounding whitespace."""
    return value.split(";", 1)[0].strip().lower()


def is_valid_mime_type(value: str) -> bool:
    """Whether ``value`` is a concrete ``type/subtype`` (parameters allowed)."""
    return _TYPE.fullmatch(normalize_mime(value)) is not None


def is_valid_mime_pattern(value: str) -> bool:
    """Whether ``value`` is ``type/subtype``, ``type/*`` or ``*/*``."""
    if _PATTERN.fullmatch(value) is None:
        return False
    main, _, sub = value.partition("/")
    return not (main == "*" and sub != "*")


def mime_matches(mime: str, patterns: Iterable[str]) -> bool:
    """Whether the concrete ``mime`` type matches any of ``patterns``."""
    kind = normalize_mime(mime)
    main = kind.partition("/")[0]
    for pattern in patterns:
        p = pattern.lower()
        if p in ("*/*", kind) or (p.endswith("/*") and p[:-2] == main):
            return True
    return False

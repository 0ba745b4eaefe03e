"""Content types of XRPC bodies: parsing ``Content-Type`` and matching Lexicon encodings.

A Lexicon ``encoding`` is a MIME type (``application/json``), a wildcard (``*/*``,
``image/*``) or a comma-separated list of those. MIME parameters (``; charset=utf-8``)
never take part in matching, and matching ignores case (spec/xrpc.md §3).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "JSON",
    "OCTET_STREAM",
    "encoding_matches",
    "parse_content_type",
    "request_content_type",
    "split_encodings",
]

JSON = "application/json"
OCTET_STREAM = "application/octet-stream"

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MIME = re.compile(rf"({_TOKEN})/({_TOKEN})")


def parse_content_type(value: str | None) -> str | None:
    """``type/subtype`` in lower case without parameters, or ``None`` if absent/invalid."""
    if value is None:
        return None
    essence = value.split(";", 1)[0].strip()
    match = _MIME.fullmatch(essence)
    return essence.lower() if match else None


def split_encodings(encoding: str) -> tuple[str, ...]:
    """The alternatives of a Lexicon ``encoding`` (``"a/b, c/d"`` -> two entries)."""
    return tuple(part.strip().lower() for part in encoding.split(",") if part.strip())


def encoding_matches(content_type: str | None, encodings: str | Iterable[str]) -> bool:
    """Whether a body's ``Content-Type`` satisfies the Lexicon encoding(s)."""
    actual = parse_content_type(content_type)
    if actual is None:
        return False
    wanted = split_encodings(encodings) if isinstance(encodings, str) else encodings
    major = actual.split("/", 1)[0]
    for pattern in wanted:
        pattern = pattern.strip().lower()
        if pattern in ("*/*", "*", actual):
            return True
        if pattern.endswith("/*") and pattern[:-2] == major:
            return True
    return False


def request_content_type(encodings: str | Iterable[str], given: str | None = None) -> str:
    """The ``Content-Type`` a client sends for a body with these Lexicon encodings.

    ``given`` (the caller's choice, e.g. a blob's MIME type) wins when it matches; a
    wildcard encoding without a given type falls back to ``application/octet-stream``.
    """
    wanted = split_encodings(encodings) if isinstance(encodings, str) else tuple(encodings)
    if given is not None:
        if not encoding_matches(given, wanted):
            raise ValueError(f"content type {given!r} does not match the encoding {wanted!r}")
        return given
    for pattern in wanted:
        if "*" not in pattern:
            return pattern
    return OCTET_STREAM

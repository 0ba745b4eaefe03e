"""Text checks the Lexicon language needs: NSIDs, record keys, MIME patterns, string
lengths.

The rules are the runtime's (``lexforge.runtime.syntax.nsid``/``recordkey``,
``lexforge.runtime.lex.mime``/``text``), restated here as plain functions because
importing any runtime module runs its package's ``__init__``, which loads pydantic:
``lexforge gen`` never needs pydantic, and it was a tenth of a cold run's time.
``tests/codegen/test_lexicon_text.py`` holds both versions to the same answers
(interop vectors and generated strings), so they cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cache

__all__ = [
    "count_graphemes",
    "is_valid_mime_pattern",
    "is_valid_nsid",
    "is_valid_record_key",
    "utf8_len",
]

# NSID (atproto ``nsid`` spec): ASCII, at most 317 characters, three or more segments;
# authority segments are hostname labels (the first not starting with a digit), the
# name is letters and digits, not starting with a digit.
_NSID_MAX = 317
_NSID_RE = re.compile(
    r"[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+"
    r"\.[a-zA-Z][a-zA-Z0-9]{0,62}"
)
# Record key (atproto ``record-key`` spec): 1-512 of these characters, not "." or "..".
_RKEY_RE = re.compile(r"[a-zA-Z0-9_~.:-]{1,512}")
# MIME patterns: RFC 6838 restricted names, or ``*``; ``*/sub`` is not a pattern.
_MIME_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
_MIME_PATTERN = re.compile(rf"(?:{_MIME_NAME}|\*)/(?:{_MIME_NAME}|\*)")


def is_valid_nsid(value: object) -> bool:
    """Whether ``value`` is a syntactically valid NSID."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= _NSID_MAX
        and value.isascii()
        and _NSID_RE.fullmatch(value) is not None
    )


def is_valid_record_key(value: object) -> bool:
    """Whether ``value`` is a syntactically valid record key."""
    return (
        isinstance(value, str)
        and _RKEY_RE.fullmatch(value) is not None
        and value not in {".", ".."}
    )


def is_valid_mime_pattern(value: str) -> bool:
    """Whether ``value`` is ``type/subtype``, ``type/*`` or ``*/*``."""
    if _MIME_PATTERN.fullmatch(value) is None:
        return False
    main, _, sub = value.partition("/")
    return not (main == "*" and sub != "*")


def utf8_len(text: str) -> int:
    """Length of ``text`` in UTF-8 bytes (lone surrogates count as 3 bytes)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


@cache
def _clusters() -> Callable[[str], Iterator[object]]:
    # Imported on first use: Lexicon constraint values are nearly always ASCII.
    import regex  # noqa: PLC0415

    finditer: Callable[[str], Iterator[object]] = regex.compile(r"\X").finditer
    return finditer


def count_graphemes(text: str) -> int:
    """Number of extended grapheme clusters (UAX #29) in ``text``."""
    if text.isascii() and "\r" not in text:
        # Every ASCII character is its own cluster, except CR LF which is one.
        return len(text)
    return sum(1 for _ in _clusters()(text))

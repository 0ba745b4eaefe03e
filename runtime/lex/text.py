"""String measures used by Lexicon string constraints.

Lexicon ``minLength``/``maxLength`` on strings count UTF-8 bytes and ``minGraphemes``/
``maxGraphemes`` count extended grapheme clusters (UAX #29), never code points
(``len``). The ``regex`` module's ``\\X`` follows current Unicode tables; the standard
``re`` module has no grapheme support.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache

__all__ = ["count_graphemes", "graphemes_at_most", "utf8_len"]


@cache
def _clusters() -> Callable[[str], Iterator[object]]:
    # Imported on first use: most text is ASCII and never needs it.
    import regex  # noqa: PLC0415

    finditer: Callable[[str], Iterator[object]] = regex.compile(r"\X").finditer
    return finditer


def utf8_len(text: str) -> int:
    """Length of ``text`` in UTF-8 bytes (lone surrogates count as 3 bytes)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def count_graphemes(text: str) -> int:
    """Number of extended grapheme clusters in ``text``."""
    if text.isascii() and "\r" not in text:
        # Every ASCII character is its own cluster, except CR LF which is one.
        return len(text)
    return sum(1 for _ in _clusters()(text))


def graphemes_at_most(text: str, limit: int) -> bool:
    """Whether ``text`` has at most ``limit`` grapheme clusters; stops counting early.

    A cluster holds at least one code point, so a string of at most ``limit`` code
    points needs no counting at all.
    """
    if len(text) <= limit:
        return True
    if text.isascii() and "\r" not in text:
        return False
    return all(count <= limit for count, _ in enumerate(_clusters()(text), 1))

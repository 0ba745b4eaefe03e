"""Language tags (the Lexicon ``language`` format): BCP 47 / RFC 5646.

Lenient rules (for reading; what the reference Lexicon validator accepts): the RFC 5646
*well-formed* grammar, case-insensitive::

    langtag = language ["-" script] ["-" region] *("-" variant) *("-" extension)
              ["-" privateuse]
    language = 2*3ALPHA *3("-" 3ALPHA) / 4ALPHA / 5*8ALPHA
    script = 4ALPHA;  region = 2ALPHA / 3DIGIT
    variant = 5*8alphanum / DIGIT 3alphanum
    extension = singleton 1*("-" 2*8alphanum)     (singleton: any alphanum but x)
    privateuse = "x" 1*("-" 1*8alphanum)
    tag = langtag / privateuse / grandfathered

Strict rules (the default, for writing; the atproto interop vectors): additionally the
primary language subtag must be lowercase (``JA`` is rejected), the reserved 4-letter
primary form is rejected (``jaja``), and - RFC 5646 §2.2.9 validity - no variant and no
extension singleton may repeat, compared case-insensitively (``de-DE-1901-1901``,
``en-a-foo-a-bar``). Private-use prefixes ``x``/``X`` may be either case.

Tags are kept as written (case is not canonicalised). At most 256 characters.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import NamedTuple

from lexforge.runtime.syntax._base import StrictOrLenientStr
from lexforge.runtime.syntax.errors import InvalidLanguageError

__all__ = ["Language", "LanguageParts", "is_valid_language"]

_CHARS_RE = re.compile(r"[a-zA-Z0-9-]+")
_GRANDFATHERED = frozenset(
    tag.lower()
    for tag in (
        # irregular
        "en-GB-oed", "i-ami", "i-bnn", "i-default", "i-enochian", "i-hak", "i-klingon",
        "i-lux", "i-mingo", "i-navajo", "i-pwn", "i-tao", "i-tay", "i-tsu", "sgn-BE-FR",
        "sgn-BE-NL", "sgn-CH-DE",
        # regular
        "art-lojban", "cel-gaulish", "no-bok", "no-nyn", "zh-guoyu", "zh-hakka", "zh-min",
        "zh-min-nan", "zh-xiang",
    )
)  # fmt: skip


class LanguageParts(NamedTuple):
    """The subtags of a parsed tag (as written). A grandfathered tag that is not also a
    well-formed langtag (``i-default``) has only ``language`` set to the whole tag."""

    language: str
    extlangs: tuple[str, ...]
    script: str | None
    region: str | None
    variants: tuple[str, ...]
    extensions: tuple[tuple[str, tuple[str, ...]], ...]
    private_use: tuple[str, ...]


def _parse(text: str, strict: bool) -> LanguageParts:
    """Parse a length-capped tag; raises :class:`InvalidLanguageError`."""
    if not _CHARS_RE.fullmatch(text):
        raise InvalidLanguageError(text, "only ASCII letters, digits and '-' are allowed")
    subtags = text.split("-")
    if any(not subtag for subtag in subtags):
        raise InvalidLanguageError(text, "empty subtag (leading, trailing or double '-')")
    if any(len(subtag) > 8 for subtag in subtags):
        raise InvalidLanguageError(text, "a subtag is longer than 8 characters")
    first = subtags[0]
    if first.lower() == "x":
        if len(subtags) < 2:
            raise InvalidLanguageError(text, "private-use 'x' needs at least one subtag")
        return LanguageParts("", (), None, None, (), (), tuple(subtags[1:]))
    try:
        return _parse_langtag(text, subtags, strict)
    except InvalidLanguageError:
        if text.lower() not in _GRANDFATHERED:
            raise
        if strict and not first.islower():
            raise InvalidLanguageError(
                text, f"primary language subtag {first!r} must be lowercase"
            ) from None
        return LanguageParts(text, (), None, None, (), (), ())


def _parse_langtag(text: str, subtags: list[str], strict: bool) -> LanguageParts:
    """The ``langtag`` production; ``subtags`` are non-empty ASCII alphanumerics of at
    most 8 characters."""
    language = subtags[0]
    if not language.isalpha() or len(language) < 2:
        raise InvalidLanguageError(
            text, f"primary language subtag {language!r} must be 2-8 ASCII letters"
        )
    if strict and not language.islower():
        raise InvalidLanguageError(text, f"primary language subtag {language!r} must be lowercase")
    if len(language) == 4 and strict:
        raise InvalidLanguageError(text, "4-letter primary language subtags are reserved")
    pos = 1
    count = len(subtags)

    def peek() -> str | None:
        return subtags[pos] if pos < count else None

    extlangs: list[str] = []
    if len(language) <= 3:
        while len(extlangs) < 3 and (tag := peek()) and len(tag) == 3 and tag.isalpha():
            extlangs.append(tag)
            pos += 1
    script = None
    if (tag := peek()) and len(tag) == 4 and tag.isalpha():
        script = tag
        pos += 1
    region = None
    if (tag := peek()) and ((len(tag) == 2 and tag.isalpha()) or (len(tag) == 3 and tag.isdigit())):
        region = tag
        pos += 1
    variants: list[str] = []
    while (tag := peek()) and (len(tag) >= 5 or (len(tag) == 4 and tag[0].isdigit())):
        if strict and tag.lower() in {v.lower() for v in variants}:
            raise InvalidLanguageError(text, f"variant {tag!r} is repeated")
        variants.append(tag)
        pos += 1
    extensions: list[tuple[str, tuple[str, ...]]] = []
    while (tag := peek()) and len(tag) == 1 and tag.lower() != "x":
        if strict and tag.lower() in {singleton.lower() for singleton, _ in extensions}:
            raise InvalidLanguageError(text, f"extension singleton {tag!r} is repeated")
        pos += 1
        body: list[str] = []
        while (sub := peek()) and len(sub) >= 2:
            body.append(sub)
            pos += 1
        if not body:
            raise InvalidLanguageError(text, f"extension {tag!r} has no subtags")
        extensions.append((tag, tuple(body)))
    private_use: list[str] = []
    if (tag := peek()) and tag.lower() == "x":
        private_use = subtags[pos + 1 :]
        if not private_use:
            raise InvalidLanguageError(text, "private-use 'x' needs at least one subtag")
        pos = count
    if pos != count:
        raise InvalidLanguageError(text, f"unexpected subtag {subtags[pos]!r}")
    return LanguageParts(
        language,
        tuple(extlangs),
        script,
        region,
        tuple(variants),
        tuple(extensions),
        tuple(private_use),
    )


class Language(StrictOrLenientStr):
    """A valid BCP 47 language tag, e.g. ``pt-BR``; kept as written."""

    FORMAT = "language"
    MAX_LENGTH = 256
    ERROR = InvalidLanguageError

    @classmethod
    def _validate(cls, text: str, strict: bool) -> LanguageParts:
        # lenient: RFC 5646 well-formed, case-insensitive
        return _parse(text, strict)

    @cached_property
    def parts(self) -> LanguageParts:
        """The subtags, split by kind."""
        return _parse(self, False)

    @property
    def primary(self) -> str:
        """The primary language subtag (``""`` for a private-use-only tag)."""
        return self.parts.language


def is_valid_language(value: object, *, strict: bool = True) -> bool:
    """True if ``value`` is a string :meth:`Language.parse` accepts (with the same
    ``strict`` flag); never raises."""
    try:
        Language.parse(value, strict=strict)
    except InvalidLanguageError:
        return False
    return True

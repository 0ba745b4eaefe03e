"""Lexicon string formats as field types: the ``lexforge.runtime.syntax`` types, with a
fast path for the shapes real records use most.

Each name here is the syntax class itself for type checkers (``AtUri`` *is*
``lexforge.runtime.syntax.AtUri``), annotated for pydantic with a wrap validator: a
value matching a deliberately narrow regular expression (``at://did:plc:.../nsid/tid``,
``2024-01-01T00:00:00.000Z``, ``en``, ``en-US``...) is accepted at once as an instance of
the syntax class; anything else goes through the syntax type's own full parser (and
its error messages, and its lenient-reading context flag). Each fast pattern accepts a
strict subset of what the full parser accepts, and produces the same value (these
shapes need no normalisation); ``tests/codegen/test_formats.py`` checks both claims.

Why: the full parsers build every part (an AT-URI parses its DID, NSID and record key),
which costs several microseconds per value; a post holds half a dozen such strings.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

from lexforge.runtime import syntax
from lexforge.runtime.syntax import AtIdentifier, Handle, RecordKey, Tid
from lexforge.runtime.syntax._base import SyntaxStr

__all__ = [
    "FAST_PATTERNS",
    "AtIdentifier",
    "AtUri",
    "CidString",
    "Datetime",
    "Did",
    "FastPath",
    "Handle",
    "Language",
    "Nsid",
    "RecordKey",
    "Tid",
    "Uri",
]

_PLC = r"did:plc:[a-z2-7]{24}"
# Lowercase NSID with short segments: well inside the 253/317-character limits.
# Possessive quantifiers (no backtracking) keep these fast; the shapes stay strict
# subsets: lowercase hyphen-free authority segments, short names and record keys.
_SEGMENT = r"[a-z][a-z0-9]{0,39}+"
_NSID = rf"{_SEGMENT}(?:\.{_SEGMENT}){{1,4}}\.[a-zA-Z][a-zA-Z0-9]{{0,40}}+"
_RKEY = r"[a-zA-Z0-9_~:-][a-zA-Z0-9._~:-]{0,100}+"

#: Fast patterns by syntax class (each a strict subset of the class's valid values).
FAST_PATTERNS: dict[type[SyntaxStr], str] = {
    syntax.Did: _PLC,
    syntax.Nsid: _NSID,
    syntax.AtUri: rf"at://{_PLC}(?:/{_NSID}(?:/{_RKEY})?)?",
    syntax.Datetime: (
        r"[1-9][0-9]{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
        r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?"
        r"(?:Z|\+(?:0[0-9]|1[0-3]):[0-5][0-9]|-(?:0[1-9]|1[0-3]):[0-5][0-9])"
    ),
    syntax.Language: r"[a-z]{2,3}(?:-[A-Z]{2})?",
    # CIDv1, base32, sha2-256: dag-cbor ("bafyrei...") or raw ("bafkrei..."). The 8th
    # character carries the last two bits of the multihash length byte (0x20), the last
    # one two bits of padding: both are constrained so only canonical encodings match.
    syntax.CidString: r"baf[ky]rei[a-h][a-z2-7]{50}[aeimquy4]",
    # http(s) URLs of printable ASCII (no space, no control character), not "///".
    syntax.Uri: r"https?://[a-zA-Z0-9][!-~]{0,2000}+",
}


class FastPath:
    """``Annotated`` metadata: accept ``pattern`` matches directly as ``cls`` instances,
    delegate everything else to ``cls``'s own pydantic schema."""

    __slots__ = ("cls", "regex")

    def __init__(self, cls: type[SyntaxStr]) -> None:
        self.cls = cls
        self.regex = re.compile(FAST_PATTERNS[cls])

    def __repr__(self) -> str:
        return f"FastPath({self.cls.__name__})"

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        full = handler(source)
        match = self.regex.fullmatch
        cls = self.cls
        new = str.__new__
        slow = cls._pydantic_validate

        # A plain validator (not a wrap validator): several times cheaper per call.
        def validate(value: Any, info: core_schema.ValidationInfo) -> Any:
            if type(value) is str and match(value) is not None:
                return new(cls, value)
            if not isinstance(value, str):
                raise PydanticCustomError("string_type", "Input should be a valid string")
            return slow(value, info)

        return core_schema.with_info_plain_validator_function(
            validate, serialization=full.get("serialization")
        )


AtUri = Annotated[syntax.AtUri, FastPath(syntax.AtUri)]
CidString = Annotated[syntax.CidString, FastPath(syntax.CidString)]
Datetime = Annotated[syntax.Datetime, FastPath(syntax.Datetime)]
Did = Annotated[syntax.Did, FastPath(syntax.Did)]
Language = Annotated[syntax.Language, FastPath(syntax.Language)]
Nsid = Annotated[syntax.Nsid, FastPath(syntax.Nsid)]
Uri = Annotated[syntax.Uri, FastPath(syntax.Uri)]

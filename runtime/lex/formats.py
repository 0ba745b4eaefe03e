"""Lexicon string formats as field types: the ``lexforge.runtime.syntax`` types, with a
fast path for the shapes real records use most.

Each name here is the syntax class itself for type checkers (``AtUri`` *is*
``lexforge.runtime.syntax.AtUri``), annotated for pydantic with ``FastPath``: a value of
one of the common shapes (``at://did:plc:.../nsid/tid``, ``2024-01-01T00:00:00.000Z``,
``en``, ``en-US``...) is accepted at once as an instance of the syntax class; anything
else goes through the syntax type's own full parser (and its error messages, and its
lenient-reading context flag).

A fast shape is a ``FastRule``: a regular expression written in the syntax both Python's
``re`` and Rust's ``regex`` read the same way (character classes, groups, alternation,
``*``/``+``/``?`` and small counts; no look-around, no possessive quantifiers), plus
bounds on the length. Lengths bound the parts the expression leaves open (an NSID
segment is at most 63 characters because the whole NSID is), so each rule accepts a
strict subset of what the full parser accepts and produces the same value (these shapes
need no normalisation). ``tests/codegen/test_formats.py`` and ``tests/lex`` check both
claims, and that the two engines agree on every rule.

The rule runs twice over: in Python for the full validator (one ``fullmatch`` instead of
a parse), and in Rust (pydantic-core's ``pattern``) for the fast validator of
``lexforge.runtime.lex.fast``, where a common value costs no Python call at all.

Why: the full parsers build every part (an AT-URI parses its DID, NSID and record key),
which costs several microseconds per value; a post holds half a dozen such strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any, NamedTuple

from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

from lexforge.runtime import syntax
from lexforge.runtime.lex.accel import accelerator
from lexforge.runtime.lex.fast import prefer_fast
from lexforge.runtime.syntax._base import SyntaxStr

__all__ = [
    "FAST_PATTERNS",
    "FAST_RULES",
    "AtIdentifier",
    "AtUri",
    "CidString",
    "Datetime",
    "Did",
    "FastPath",
    "FastRule",
    "Handle",
    "Language",
    "Nsid",
    "RecordKey",
    "Tid",
    "Uri",
    "instance_maker",
]


class FastRule(NamedTuple):
    """A fast shape: ``pattern`` (unanchored, matched whole) and the length bounds."""

    pattern: str
    min_length: int
    max_length: int


# A DID of any method with a plain identifier (no ':' or '%' inside it).
_DID = r"did:[a-z]+:[a-zA-Z0-9._-]+"
# Lowercase NSID without hyphens; segment lengths are bounded by the rule's length.
_NSID = r"[a-z][a-z0-9]*(?:\.[a-z][a-z0-9]*)+\.[a-zA-Z][a-zA-Z0-9]*"
# Lowercase handle; label lengths are bounded by the rule's length (which also bounds
# the backtracking of Python's engine on ``[a-z0-9-]*[a-z0-9]``).
_HANDLE = r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z](?:[a-z0-9-]*[a-z0-9])?"
# Record keys not starting with '.' (so never '.' or '..').
_RKEY = r"[a-zA-Z0-9_~:-][a-zA-Z0-9._~:-]*"
_DATE = (
    r"[1-9][0-9][0-9][0-9]-(?:"
    r"(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"  # days every month has
    r"|(?:0[13-9]|1[0-2])-(?:29|30)"  # not February
    r"|(?:0[13578]|1[02])-31"  # 31-day months
    r")"
)

#: Fast rules by syntax class. The length bounds matter: an NSID of at most 63
#: characters cannot have a segment longer than 63; an AT-URI of at most 80 characters
#: cannot have an NSID segment longer than 63 (``at://did:a:b/`` and ``.b.c`` take 17);
#: years from 1000 with offsets under 15 hours never fall before year 0000.
FAST_RULES: dict[type[SyntaxStr], FastRule] = {
    syntax.Did: FastRule(_DID, 7, 2048),
    syntax.Handle: FastRule(_HANDLE, 3, 63),
    syntax.AtIdentifier: FastRule(rf"{_DID}|{_HANDLE}", 3, 63),
    syntax.Nsid: FastRule(_NSID, 5, 63),
    syntax.AtUri: FastRule(rf"at://{_DID}(?:/{_NSID}(?:/{_RKEY})?)?", 12, 80),
    syntax.Tid: FastRule(r"[2-7a-j][2-7a-z]{12}", 13, 13),
    syntax.RecordKey: FastRule(_RKEY, 1, 512),
    syntax.Datetime: FastRule(
        rf"{_DATE}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
        r"(?:Z|\+(?:0[0-9]|1[0-4]):[0-5][0-9]|-(?:0[1-9]|1[0-4]):[0-5][0-9])",
        20,
        64,
    ),
    # Primary language, optional script (Latn) and region (US, 419).
    syntax.Language: FastRule(
        r"[a-z][a-z][a-z]?(?:-[A-Z][a-z][a-z][a-z])?(?:-[A-Z][A-Z]|-[0-9][0-9][0-9])?", 2, 16
    ),
    # Multibase base32 ("b" + lowercase base32): every CIDv1 atproto writes.
    syntax.CidString: FastRule(r"b[a-z2-7]+", 8, 256),
    # http(s) and at:// URLs and DIDs (label subjects) of printable ASCII: no space, no
    # control character, not "///".
    syntax.Uri: FastRule(r"(?:(?:https?|at)://[a-zA-Z0-9]|did:[a-z]+:)[!-~]*", 6, 8192),
}

#: The patterns of ``FAST_RULES`` alone (see the rules for the length bounds).
FAST_PATTERNS: dict[type[SyntaxStr], str] = {cls: r.pattern for cls, r in FAST_RULES.items()}


# ``str.__new__(cls, value)`` as one C call (``StrMaker``: about half of what the
# ``partial`` costs when pydantic-core calls it), if active (``lexforge.runtime.lex.accel``).
_values = accelerator("_values")
_StrMaker: Callable[[type[SyntaxStr]], Callable[[str], SyntaxStr]] | None = (
    None if _values is None else _values.StrMaker
)


def instance_maker(cls: type[SyntaxStr]) -> Callable[[str], SyntaxStr]:
    """A callable that makes ``str.__new__(cls, value)`` of a validated ``value``."""
    return partial(str.__new__, cls) if _StrMaker is None else _StrMaker(cls)


class FastPath:
    """``Annotated`` metadata: accept values of the fast shape directly as ``cls``
    instances, delegate everything else to ``cls``'s own pydantic schema.

    The schema carries a fast-validator form (see ``lexforge.runtime.lex.fast``): the
    same rule checked by pydantic-core, the instance built by ``str.__new__`` called
    from Rust (``instance_maker``), and the full schema as the fallback for any other value.
    """

    __slots__ = ("cls", "rule")

    def __init__(self, cls: type[SyntaxStr]) -> None:
        self.cls = cls
        self.rule = FAST_RULES[cls]

    def __repr__(self) -> str:
        return f"FastPath({self.cls.__name__})"

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        full = handler(source)
        match = re.compile(self.rule.pattern).fullmatch  # here, not on import: 0.2 ms each
        cls = self.cls
        new = str.__new__
        slow = cls._pydantic_validate
        rule = self.rule
        lo, hi = rule.min_length, rule.max_length

        # A plain validator (not a wrap validator): several times cheaper per call.
        def validate(value: Any, info: core_schema.ValidationInfo) -> Any:
            if type(value) is str and lo <= len(value) <= hi and match(value) is not None:
                return new(cls, value)
            if not isinstance(value, str):
                raise PydanticCustomError("string_type", "Input should be a valid string")
            return slow(value, info)

        rust = core_schema.no_info_after_validator_function(
            instance_maker(cls),
            core_schema.str_schema(
                pattern=f"^(?:{rule.pattern})$", min_length=lo, max_length=hi, strict=True
            ),
        )
        schema = core_schema.with_info_plain_validator_function(
            validate, serialization=full.get("serialization")
        )
        return prefer_fast(schema, rust, full)


AtIdentifier = Annotated[syntax.AtIdentifier, FastPath(syntax.AtIdentifier)]
AtUri = Annotated[syntax.AtUri, FastPath(syntax.AtUri)]
CidString = Annotated[syntax.CidString, FastPath(syntax.CidString)]
Datetime = Annotated[syntax.Datetime, FastPath(syntax.Datetime)]
Did = Annotated[syntax.Did, FastPath(syntax.Did)]
Handle = Annotated[syntax.Handle, FastPath(syntax.Handle)]
Language = Annotated[syntax.Language, FastPath(syntax.Language)]
Nsid = Annotated[syntax.Nsid, FastPath(syntax.Nsid)]
RecordKey = Annotated[syntax.RecordKey, FastPath(syntax.RecordKey)]
Tid = Annotated[syntax.Tid, FastPath(syntax.Tid)]
Uri = Annotated[syntax.Uri, FastPath(syntax.Uri)]

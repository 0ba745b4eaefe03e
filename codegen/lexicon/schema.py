"""The Lexicon language as typed, immutable values (not any particular schema).

One frozen dataclass per Lexicon type (``boolean`` ... ``permission-set``), built by
``lexforge.codegen.lexicon.parse`` from a document's JSON. Values here are exactly
what the document says; nothing is resolved or named yet. Field names are the Lexicon
names in snake_case (``maxGraphemes`` -> ``max_graphemes``); absent constraints are
``None``. Mappings keep the document's key order (Lexicon declaration order matters for
generated field order).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

__all__ = [
    "PRIMARY_TYPES",
    "STRING_FORMATS",
    "FieldSchema",
    "LexArray",
    "LexBlob",
    "LexBody",
    "LexBoolean",
    "LexBytes",
    "LexCidLink",
    "LexDef",
    "LexError",
    "LexInteger",
    "LexMessage",
    "LexObject",
    "LexParams",
    "LexPermission",
    "LexPermissionSet",
    "LexPrimitive",
    "LexProcedure",
    "LexQuery",
    "LexRecord",
    "LexRef",
    "LexString",
    "LexSubscription",
    "LexToken",
    "LexUnion",
    "LexUnknown",
    "LexiconDoc",
]

#: Def types that may only appear as ``main`` (at most one per document).
PRIMARY_TYPES = frozenset({"record", "query", "procedure", "subscription", "permission-set"})

#: The string formats Lexicon defines.
STRING_FORMATS = frozenset(
    {
        "at-identifier",
        "at-uri",
        "cid",
        "datetime",
        "did",
        "handle",
        "language",
        "nsid",
        "record-key",
        "tid",
        "uri",
    }
)


@dataclass(frozen=True, slots=True)
class LexBoolean:
    """``boolean``."""

    description: str | None = None
    default: bool | None = None
    const: bool | None = None


@dataclass(frozen=True, slots=True)
class LexInteger:
    """``integer``: ``minimum``/``maximum`` inclusive, ``enum`` closed."""

    description: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    enum: tuple[int, ...] | None = None
    default: int | None = None
    const: int | None = None


@dataclass(frozen=True, slots=True)
class LexString:
    """``string``: lengths in UTF-8 bytes, graphemes in extended grapheme clusters."""

    description: str | None = None
    format: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_graphemes: int | None = None
    max_graphemes: int | None = None
    known_values: tuple[str, ...] | None = None
    enum: tuple[str, ...] | None = None
    default: str | None = None
    const: str | None = None


@dataclass(frozen=True, slots=True)
class LexBytes:
    """``bytes``: lengths in bytes."""

    description: str | None = None
    min_length: int | None = None
    max_length: int | None = None


@dataclass(frozen=True, slots=True)
class LexCidLink:
    """``cid-link``."""

    description: str | None = None


@dataclass(frozen=True, slots=True)
class LexBlob:
    """``blob``: ``accept`` MIME patterns (``image/png``, ``image/*``, ``*/*``)."""

    description: str | None = None
    accept: tuple[str, ...] | None = None
    max_size: int | None = None


@dataclass(frozen=True, slots=True)
class LexUnknown:
    """``unknown``: any data-model object."""

    description: str | None = None


@dataclass(frozen=True, slots=True)
class LexRef:
    """``ref``: ``nsid``, ``nsid#def`` or ``#def`` exactly as written."""

    ref: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class LexUnion:
    """``union`` of refs; open unless ``closed``."""

    refs: tuple[str, ...]
    closed: bool = False
    description: str | None = None


LexPrimitive: TypeAlias = LexBoolean | LexInteger | LexString | LexUnknown


@dataclass(frozen=True, slots=True)
class LexArray:
    """``array``: ``items`` is any field schema; lengths count elements."""

    items: FieldSchema
    description: str | None = None
    min_length: int | None = None
    max_length: int | None = None


@dataclass(frozen=True, slots=True)
class LexObject:
    """``object``: ``required`` and ``nullable`` are independent sets of names."""

    properties: Mapping[str, FieldSchema]
    required: tuple[str, ...] = ()
    nullable: tuple[str, ...] = ()
    description: str | None = None


#: What a property (or an array's items) may be.
FieldSchema: TypeAlias = (
    LexBoolean
    | LexInteger
    | LexString
    | LexBytes
    | LexCidLink
    | LexBlob
    | LexUnknown
    | LexArray
    | LexObject
    | LexRef
    | LexUnion
)


@dataclass(frozen=True, slots=True)
class LexParams:
    """``params``: boolean/integer/string properties or arrays of them; no nullable."""

    properties: Mapping[str, FieldSchema]
    required: tuple[str, ...] = ()
    description: str | None = None


@dataclass(frozen=True, slots=True)
class LexToken:
    """``token``: a named value with no data representation."""

    description: str | None = None


@dataclass(frozen=True, slots=True)
class LexRecord:
    """``record``: ``key`` is ``tid``, ``nsid``, ``any`` or ``literal:<value>``."""

    key: str
    record: LexObject
    description: str | None = None


@dataclass(frozen=True, slots=True)
class LexBody:
    """``input``/``output`` of a query or procedure."""

    encoding: str
    schema: LexObject | LexRef | LexUnion | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class LexError:
    """One declared XRPC error."""

    name: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class LexQuery:
    """``query`` (HTTP GET)."""

    parameters: LexParams | None = None
    output: LexBody | None = None
    errors: tuple[LexError, ...] = ()
    description: str | None = None


@dataclass(frozen=True, slots=True)
class LexProcedure:
    """``procedure`` (HTTP POST)."""

    parameters: LexParams | None = None
    input: LexBody | None = None
    output: LexBody | None = None
    errors: tuple[LexError, ...] = ()
    description: str | None = None


@dataclass(frozen=True, slots=True)
class LexMessage:
    """The ``message`` of a subscription: a union of the event types."""

    schema: LexUnion
    description: str | None = None


@dataclass(frozen=True, slots=True)
class LexSubscription:
    """``subscription`` (WebSocket event stream)."""

    message: LexMessage
    parameters: LexParams | None = None
    errors: tuple[LexError, ...] = ()
    description: str | None = None


@dataclass(frozen=True, slots=True)
class LexPermission:
    """One ``permission`` of a permission set.

    ``resource`` decides which of the other fields apply: ``repo`` uses ``collection``
    and ``action``; ``rpc`` uses ``lxm``, ``aud`` and ``inherit_aud``. ``extra`` keeps
    any other parameter as written (access control must ignore such a permission).
    """

    resource: str
    collection: tuple[str, ...] | None = None
    action: tuple[str, ...] | None = None
    lxm: tuple[str, ...] | None = None
    aud: str | None = None
    inherit_aud: bool | None = None
    extra: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LexPermissionSet:
    """``permission-set``: localized ``title``/``detail`` maps are lang -> text."""

    permissions: tuple[LexPermission, ...]
    title: str | None = None
    title_lang: Mapping[str, str] | None = None
    detail: str | None = None
    detail_lang: Mapping[str, str] | None = None
    description: str | None = None


#: What a named def may be.
LexDef: TypeAlias = (
    LexRecord
    | LexQuery
    | LexProcedure
    | LexSubscription
    | LexPermissionSet
    | LexObject
    | LexToken
    | LexBoolean
    | LexInteger
    | LexString
    | LexBytes
    | LexCidLink
    | LexBlob
    | LexArray
)


@dataclass(frozen=True, slots=True)
class LexiconDoc:
    """A whole Lexicon document (``lexicon: 1``)."""

    id: str
    defs: Mapping[str, LexDef]
    description: str | None = None
    revision: int | None = None

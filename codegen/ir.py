"""The compiler's intermediate representation: what the emitters (templates) consume.

Shape
=====
The IR is a flat list of frozen, already-decided units. Lowering (``lower.py``) makes
every decision: Python names, module paths, which union is open or closed, which field
needs an alias, which default applies. Emitters and templates only print.

::

    ProgramIR                       one compilation (one output package)
    ├── modules: ModuleIR ...       one per Lexicon document, sorted by NSID
    │   ├── imports: ModuleImportIR         cross-module imports (``import x as alias``)
    │   ├── tokens: TokenIR                 ``REQUEST_LESS: Final = "nsid#requestLess"``
    │   ├── aliases: AliasIR                named non-object defs (``LabelValue = str``)
    │   ├── models: ModelIR                 pydantic classes, in emission order
    │   │   └── fields: FieldIR             one per Lexicon property, declaration order
    │   │       └── type: TypeIR            sum type; see below
    │   ├── unions: UnionIR                 ``$type``-discriminated union aliases
    │   └── endpoint: EndpointIR | None     query / procedure / subscription main def
    │       ├── params: ModelIR | None      the ``Params`` class
    │       ├── input / output: BodyIR      encoding + ``Input`` / ``Output`` class
    │       ├── errors: ErrorIR             one exception class per declared error
    │       └── message: UnionIR | None     subscription message union (``Message``)
    ├── endpoints: EndpointIR ...   the same objects as ``module.endpoint``, sorted by NSID
    └── index: IndexEntryIR ...     NSID(#def) -> (module, class) table for ``_index.py``

References between units are by value, never by pointer: a ``ClassRef`` names the
dotted Python module and the attribute (class, alias or union) in it. Two refs are equal
when they name the same thing, so IR values can be compared and hashed.

Python modules
==============
For an output package ``P`` (``lexforge.generated`` for the official set, the user's
``--package`` otherwise) the document ``app.bsky.feed.getTimeline`` becomes module
``P.models.app.bsky.feed.get_timeline`` in file ``models/app/bsky/feed/get_timeline.py``
(paths in the IR are relative to the output directory, always ``/``-separated). A
reference to a document that is not part of this compilation but of the official set
points into ``lexforge.generated.models`` and is never generated again.

TypeIR
======
``TypeIR`` is the union of the frozen dataclasses below. Lexicon constraints are kept
as in the schema (lengths in UTF-8 bytes, graphemes, element counts); ``None`` means
"no constraint". Nothing in a ``TypeIR`` is a Python name except the ``ClassRef`` of
the ``ModelRefType`` / ``AliasRefType`` / ``UnionRefType`` variants.

==================  ==========================================================
``BooleanType``     ``boolean``
``IntegerType``     ``integer``
``StringType``      ``string`` (``format``, lengths, graphemes, enum/knownValues)
``BytesType``       ``bytes``
``CidLinkType``     ``cid-link``
``BlobType``        ``blob`` (``accept`` MIME patterns, ``max_size``)
``UnknownType``     ``unknown`` (any object; kept as ``UnknownObject``)
``ArrayType``       ``array`` of another ``TypeIR``
``ModelRefType``    ``ref`` to an object/record def (or an inline object), a class
``AliasRefType``    ``ref`` to a named string/integer/array/... def (a type alias)
``UnionRefType``    a union; the alias itself is a ``UnionIR`` in the same module
==================  ==========================================================

Contract for other emitters (client, server, scaffold)
======================================================
* ``compile_lexicons`` in ``lexforge.codegen.pipeline`` returns a ``CompileResult``
  with ``.program: ProgramIR`` and ``.diagnostics``.
* ``EndpointIR.module`` is the dotted module that defines ``NSID``, ``Params``,
  ``Input``, ``Output``, ``Message`` and the error classes of that method; the
  emitted names are exactly the ``name`` / ``model`` / ``class_name`` fields here.
* ``FieldIR.name`` is the Python attribute, ``FieldIR.wire_name`` the Lexicon property
  (the query-string key for params). Model instances are built with wire names or
  attribute names (``validate_by_name`` and ``validate_by_alias`` are both on).
* Encoding: ``BodyIR.encoding`` is the Lexicon string verbatim (``*/*``,
  ``application/json``, ``application/vnd.ipld.car``...); ``BodyIR.model`` is ``None``
  when the body has no schema or is not JSON, i.e. the body is raw ``bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Literal, TypeAlias

__all__ = [
    "AliasIR",
    "AliasRefType",
    "ArrayType",
    "BlobType",
    "BodyIR",
    "BooleanType",
    "BytesType",
    "CidLinkType",
    "ClassRef",
    "DefaultValue",
    "EndpointIR",
    "EndpointKind",
    "ErrorIR",
    "FieldIR",
    "IndexEntryIR",
    "IntegerType",
    "ModelIR",
    "ModelKind",
    "ModelRefType",
    "ModuleIR",
    "ModuleImportIR",
    "ProgramIR",
    "StringFormat",
    "StringType",
    "TokenIR",
    "TypeIR",
    "UnionIR",
    "UnionMemberIR",
    "UnionRefType",
    "UnknownType",
]

#: A Lexicon ``default`` / ``const`` value as it appears on the wire.
DefaultValue: TypeAlias = bool | int | str

#: The Lexicon string formats (``StringType.format``).
StringFormat: TypeAlias = Literal[
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
]

EndpointKind: TypeAlias = Literal["query", "procedure", "subscription"]

#: What a ``ModelIR`` stands for.
#:
#: ``record``  the ``main`` def of a record lexicon (class ``Record``)
#: ``object``  a named object def (``Main`` or the PascalCase def name) or an inline
#:             object nested in a property (``{Owner}{Field}``)
#: ``params``  the ``parameters`` of a query/procedure/subscription (class ``Params``)
#: ``input`` / ``output``  an inline object body schema (``Input`` / ``Output``)
ModelKind: TypeAlias = Literal["record", "object", "params", "input", "output"]


@dataclass(frozen=True, slots=True, order=True)
class ClassRef:
    """A name defined in a generated module: a model class, a type alias or a union.

    ``module`` is the absolute dotted module (``lexforge.generated.models.app.bsky.
    feed.post``) and ``name`` the attribute in it (``Record``). ``lexicon_ref`` is the
    Lexicon reference it came from (``app.bsky.feed.post`` or
    ``app.bsky.feed.defs#postView``; inline units get their owner's ref plus a path
    such as ``com.atproto.repo.getRecord#main/output``).
    """

    module: str
    name: str
    lexicon_ref: str


@dataclass(frozen=True, slots=True)
class ModuleImportIR:
    """``import <module> as <alias>``: one cross-module dependency of a module.

    Generated modules refer to other modules (never to names imported from them);
    annotations are postponed and qualified with the alias
    (``app_bsky_actor_defs.ProfileViewBasic``). By default the module is *lazy*: imported
    for type checkers only, and bound at run time to a proxy that imports it when a model
    is first built, so importing one module imports nothing else and the import cycles
    of the official set never bite. ``eager`` imports are real imports, for module-level
    values that need the other module's class at import time (``Output = other.Class``).
    """

    module: str
    alias: str
    eager: bool = False


# --- TypeIR ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BooleanType:
    """Lexicon ``boolean``. ``default``/``const`` as in the schema."""

    default: bool | None = None
    const: bool | None = None


@dataclass(frozen=True, slots=True)
class IntegerType:
    """Lexicon ``integer`` (a 64-bit signed integer on the wire)."""

    minimum: int | None = None
    maximum: int | None = None
    enum: tuple[int, ...] | None = None
    default: int | None = None
    const: int | None = None


@dataclass(frozen=True, slots=True)
class StringType:
    """Lexicon ``string``.

    ``min_length``/``max_length`` count UTF-8 bytes, ``min_graphemes``/
    ``max_graphemes`` extended grapheme clusters. ``known_values`` is advisory (the
    field stays an open ``str``); ``enum`` is closed (a ``Literal``).
    """

    format: StringFormat | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_graphemes: int | None = None
    max_graphemes: int | None = None
    known_values: tuple[str, ...] = ()
    enum: tuple[str, ...] | None = None
    default: str | None = None
    const: str | None = None


@dataclass(frozen=True, slots=True)
class BytesType:
    """Lexicon ``bytes``; lengths count raw bytes."""

    min_length: int | None = None
    max_length: int | None = None


@dataclass(frozen=True, slots=True)
class CidLinkType:
    """Lexicon ``cid-link`` (``{"$link": ...}`` in JSON, tag 42 in DAG-CBOR)."""


@dataclass(frozen=True, slots=True)
class BlobType:
    """Lexicon ``blob``. ``accept`` holds MIME patterns (``image/*``, ``*/*``)."""

    accept: tuple[str, ...] | None = None
    max_size: int | None = None


@dataclass(frozen=True, slots=True)
class UnknownType:
    """Lexicon ``unknown``: any data-model object (a map, never a blob or link)."""


@dataclass(frozen=True, slots=True)
class ArrayType:
    """Lexicon ``array``; lengths count elements."""

    items: TypeIR
    min_length: int | None = None
    max_length: int | None = None


@dataclass(frozen=True, slots=True)
class ModelRefType:
    """A reference to a generated model class (object or record def, inline object)."""

    target: ClassRef


@dataclass(frozen=True, slots=True)
class AliasRefType:
    """A reference to a named non-object def, emitted as a type alias.

    ``resolved`` is the aliased type itself, for emitters that need the underlying
    kind (e.g. a query parameter that is a ``ref`` to a string def).
    """

    target: ClassRef
    resolved: TypeIR


@dataclass(frozen=True, slots=True)
class UnionRefType:
    """A ``$type``-discriminated union; ``target`` names a ``UnionIR`` alias."""

    target: ClassRef
    closed: bool


TypeIR: TypeAlias = (
    BooleanType
    | IntegerType
    | StringType
    | BytesType
    | CidLinkType
    | BlobType
    | UnknownType
    | ArrayType
    | ModelRefType
    | AliasRefType
    | UnionRefType
)


# --- Units ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldIR:
    """One property of an object, record, params or body schema.

    ``name`` is the Python attribute (snake_case, keywords and ``BaseModel`` attributes
    with a trailing ``_``), ``wire_name`` the Lexicon property name; the emitted field
    carries ``alias=wire_name`` whenever the two differ. ``required`` and ``nullable``
    are independent (a required field may be null, an optional one may not).
    ``default`` is the Lexicon default (``None`` when there is none); it applies when
    the field is absent, and only then.
    """

    name: str
    wire_name: str
    type: TypeIR
    required: bool
    nullable: bool
    description: str | None = None
    default: DefaultValue | None = None

    @property
    def has_alias(self) -> bool:
        """Whether the Python name differs from the wire name."""
        return self.name != self.wire_name


@dataclass(frozen=True, slots=True)
class ModelIR:
    """A pydantic model class.

    ``type_tag`` is the ``$type`` value data of this class carries when it is a record
    or a union member (``app.bsky.feed.post``, ``app.bsky.embed.images#image``; never
    ``#main``). Inline params/input/output classes have none. ``record_key`` is the
    record's key type (``tid``, ``nsid``, ``any``, ``literal:self``) for records.
    """

    ref: ClassRef
    kind: ModelKind
    fields: tuple[FieldIR, ...]
    description: str | None = None
    type_tag: str | None = None
    record_key: str | None = None

    @property
    def name(self) -> str:
        """The class name in its module."""
        return self.ref.name


@dataclass(frozen=True, slots=True)
class UnionMemberIR:
    """One member of a union: data with ``$type == type_tag`` validates as ``target``.

    ``frame_type`` is the event-stream frame header ``t`` for subscription message
    members (``#commit`` for a def of the same lexicon, the full ref otherwise).
    """

    type_tag: str
    target: ClassRef
    frame_type: str | None = None


@dataclass(frozen=True, slots=True)
class UnionIR:
    """A ``$type``-discriminated union alias defined in a generated module.

    Open unions (``closed=False``) keep a member whose ``$type`` is not listed as an
    ``UnknownObject``; closed unions reject it. ``members`` keep the Lexicon order.
    """

    ref: ClassRef
    members: tuple[UnionMemberIR, ...]
    closed: bool
    description: str | None = None

    @property
    def name(self) -> str:
        """The alias name in its module."""
        return self.ref.name


@dataclass(frozen=True, slots=True)
class AliasIR:
    """A named non-object def (``string``, ``integer``, ``array``...) as a type alias."""

    ref: ClassRef
    type: TypeIR
    description: str | None = None

    @property
    def name(self) -> str:
        """The alias name in its module."""
        return self.ref.name


@dataclass(frozen=True, slots=True)
class TokenIR:
    """A ``token`` def: a string constant ``NAME: Final = "nsid#def"``."""

    name: str
    value: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ErrorIR:
    """A declared XRPC error: the wire ``error`` name and the generated class name.

    ``class_name`` is the PascalCase name with an ``Error`` suffix
    (``RecordNotFound`` -> ``RecordNotFoundError``), defined in the endpoint module.
    """

    name: str
    class_name: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class BodyIR:
    """The ``input`` or ``output`` of a query/procedure.

    ``encoding`` is the Lexicon MIME string verbatim; ``encodings`` splits a
    comma-separated list of alternatives. ``model`` is the name (``Input`` /
    ``Output``) defined in the endpoint module for a JSON body with a schema, and
    ``None`` for a raw body (no schema, or a non-JSON encoding): then the body is
    ``bytes``. ``schema_kind`` says what ``model`` is: an inline ``object`` (a
    class), a ``ref`` (an alias of the class ``target`` in another module, itself a
    model class) or a ``union`` (an alias that is not a class: validate it with a
    ``TypeAdapter``).
    """

    encoding: str
    encodings: tuple[str, ...]
    description: str | None = None
    model: str | None = None
    schema_kind: Literal["object", "ref", "union"] | None = None
    target: ClassRef | None = None

    @property
    def is_json(self) -> bool:
        """Whether the body is ``application/json``."""
        return "application/json" in self.encodings


@dataclass(frozen=True, slots=True)
class EndpointIR:
    """An XRPC method (the ``main`` def of a query/procedure/subscription lexicon).

    ``module`` is the dotted module that holds ``NSID``, ``Params`` (when ``params`` is
    set), ``Input``/``Output`` (see ``BodyIR.model``), ``Message`` (subscriptions) and
    one exception class per ``errors`` entry. ``module_parts`` is the same path below
    the ``models`` package (``("com", "atproto", "repo", "get_record")``): the client
    namespace path plus method name, and the handler module path.
    """

    nsid: str
    kind: EndpointKind
    module: str
    module_parts: tuple[str, ...]
    description: str | None = None
    params: ModelIR | None = None
    input: BodyIR | None = None
    output: BodyIR | None = None
    errors: tuple[ErrorIR, ...] = ()
    message: UnionIR | None = None

    @property
    def method_name(self) -> str:
        """snake_case method name (``get_record``), the last element of ``module_parts``."""
        return self.module_parts[-1]


@dataclass(frozen=True, slots=True)
class ModuleIR:
    """One generated module, from one Lexicon document.

    ``path`` is the output file relative to the output root
    (``models/app/bsky/feed/post.py``); ``source`` the Lexicon file relative to its
    lexicon root, as named in the header (``app/bsky/feed/post.json``). ``models`` are
    in emission order (record/main first, then other defs by name, inline helpers after
    their owner); ``names`` is the module's sorted ``__all__``.
    """

    nsid: str
    module: str
    path: PurePosixPath
    source: str
    description: str | None
    imports: tuple[ModuleImportIR, ...]
    tokens: tuple[TokenIR, ...]
    aliases: tuple[AliasIR, ...]
    models: tuple[ModelIR, ...]
    unions: tuple[UnionIR, ...]
    endpoint: EndpointIR | None
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IndexEntryIR:
    """One row of the NSID index: Lexicon ref -> generated module and attribute.

    ``kind`` is ``record``, ``object``, ``token``, ``alias``, ``query``,
    ``procedure``, ``subscription`` or ``permission-set``.
    """

    lexicon_ref: str
    module: str
    name: str | None
    kind: str


@dataclass(frozen=True, slots=True)
class ProgramIR:
    """Everything one compilation produces, before emission.

    ``package`` is the output package (``lexforge.generated``); ``models_package`` is
    ``package + ".models"``. ``modules`` and ``endpoints`` are sorted by NSID.
    """

    package: str
    modules: tuple[ModuleIR, ...]
    endpoints: tuple[EndpointIR, ...]
    index: tuple[IndexEntryIR, ...] = field(default=())

    @property
    def models_package(self) -> str:
        """The dotted package holding one module per Lexicon document."""
        return f"{self.package}.models"

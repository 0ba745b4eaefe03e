"""Stage 5, lower: resolved Lexicon documents -> IR (``lexforge.codegen.ir``).

Every decision about the generated code is made here, so templates only print:
Python names (through ``naming``), imports, which field is optional, nullable or
defaulted, which union is open, how inline objects and unions are named and ordered.

Order inside a module: tokens; then the ``main`` unit (``Record``/``Main`` or
``Params``/``Input``/``Output``), then the other defs sorted by name, each followed by
the inline classes it owns; unions and aliases are emitted after the classes (they
refer to them). ``knownValues`` become ``{Owner}{Field}KnownValues`` aliases beside the
unions; the field itself stays an open ``str``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import NoReturn

from lexforge.codegen.catalog import Catalog, DefKey
from lexforge.codegen.diagnostics import Diagnostic
from lexforge.codegen.graph import strongly_connected
from lexforge.codegen.ir import (
    AliasIR,
    AliasRefType,
    ArrayType,
    BlobType,
    BodyIR,
    BooleanType,
    BytesType,
    CidLinkType,
    ClassRef,
    EndpointIR,
    EndpointKind,
    ErrorIR,
    FieldIR,
    IndexEntryIR,
    IntegerType,
    ModelIR,
    ModelKind,
    ModelRefType,
    ModuleImportIR,
    ModuleIR,
    ProgramIR,
    StringFormat,
    StringType,
    TokenIR,
    TypeIR,
    UnionIR,
    UnionMemberIR,
    UnionRefType,
    UnknownType,
)
from lexforge.codegen.lexicon.schema import (
    FieldSchema,
    LexArray,
    LexBlob,
    LexBody,
    LexBoolean,
    LexBytes,
    LexCidLink,
    LexDef,
    LexError,
    LexiconDoc,
    LexInteger,
    LexObject,
    LexParams,
    LexPermissionSet,
    LexProcedure,
    LexQuery,
    LexRecord,
    LexRef,
    LexString,
    LexSubscription,
    LexToken,
    LexUnion,
    LexUnknown,
)
from lexforge.codegen.naming import (
    NameScope,
    error_class_name,
    field_name,
    module_alias,
    module_parts,
    pascal_case,
    upper_snake,
)

__all__ = ["OFFICIAL_PACKAGE", "lower_program"]

#: Where the official set is generated; user compilations refer to it.
OFFICIAL_PACKAGE = "lexforge.generated"

#: Names every module defines (or may define) besides its defs.
_MODULE_NAMES = ("NSID",)


class _Dropped(Exception):
    """Lowering of one document stopped by a diagnostic."""


@dataclass(slots=True)
class _ModuleState:
    nsid: str
    module: str
    parts: tuple[str, ...]
    source_path: str
    scope: NameScope = field(default_factory=NameScope)
    imports: dict[str, str] = field(default_factory=dict)
    models: list[ModelIR] = field(default_factory=list)
    unions: list[UnionIR] = field(default_factory=list)
    aliases: list[AliasIR] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    def_name: str | None = None
    eager: set[str] = field(default_factory=set)

    def inline_ref(self, where: tuple[str, ...]) -> str:
        """Lexicon-style path of an inline unit: ``nsid#def/record/properties/embed``."""
        base = f"{self.nsid}#{self.def_name or 'main'}"
        return base + "/" + "/".join(where) if where else base

    def claim(self, name: str, owner: str, where: tuple[str, ...] = ()) -> None:
        previous = self.scope.claim(name, owner)
        if previous is not None:
            self.collision(f"{owner} and {previous} would both be named {name!r}", where)

    def collision(self, message: str, where: tuple[str, ...]) -> NoReturn:
        """Report a ``name-collision`` at ``where`` and drop the document."""
        self.diagnostics.append(
            Diagnostic(
                code="name-collision",
                message=message,
                path=self.source_path,
                nsid=self.nsid,
                def_name=self.def_name,
                field_path="/".join(where) or None,
            )
        )
        raise _Dropped

    def inline_name(self, base: str, suffix: str, owner: str, where: tuple[str, ...]) -> str:
        """Name an inline unit ``{Owner}{Field}``; if a def already has that name, add
        ``suffix`` (``Union``/``Object``); if that is taken too, report a collision."""
        if base in self.scope.taken and suffix and base + suffix not in self.scope.taken:
            base += suffix
        self.claim(base, owner, where)
        return base


@dataclass(frozen=True, slots=True)
class _Unit:
    """Placement of a def: its module and the name of its class/alias (or None)."""

    module: str
    parts: tuple[str, ...]
    name: str | None


class _Lowerer:
    def __init__(self, catalog: Catalog, package: str) -> None:
        self.catalog = catalog
        self.package = package
        self._alias_types: dict[DefKey, TypeIR] = {}

    # --- placement ---------------------------------------------------------------------

    def module_of(self, nsid: str) -> tuple[str, tuple[str, ...]]:
        parts = module_parts(nsid)
        package = OFFICIAL_PACKAGE if self.catalog.is_external(nsid) else self.package
        return f"{package}.models." + ".".join(parts), parts

    def unit(self, key: DefKey) -> _Unit:
        module, parts = self.module_of(key.nsid)
        definition = self.catalog.lookup(key)
        name: str | None
        if isinstance(definition, LexRecord):
            name = "Record"
        elif isinstance(definition, LexQuery | LexProcedure | LexSubscription | LexPermissionSet):
            name = None
        elif isinstance(definition, LexToken):
            name = upper_snake(key.name)
        elif key.name == "main":
            name = "Main"
        else:
            name = pascal_case(key.name)
        return _Unit(module, parts, name)

    def class_ref(self, key: DefKey) -> ClassRef:
        unit = self.unit(key)
        assert unit.name is not None
        return ClassRef(unit.module, unit.name, str(key))

    def use(self, state: _ModuleState, ref: ClassRef) -> None:
        if ref.module != state.module:
            nsid = ref.lexicon_ref.split("#", 1)[0]
            state.imports.setdefault(ref.module, module_alias(module_parts(nsid)))

    # --- types -------------------------------------------------------------------------

    def field_type(
        self,
        state: _ModuleState,
        schema: FieldSchema,
        owner: str,
        prop: str,
        where: tuple[str, ...],
    ) -> TypeIR:
        if isinstance(schema, LexBoolean):
            return BooleanType(default=schema.default, const=schema.const)
        if isinstance(schema, LexInteger):
            return IntegerType(
                minimum=schema.minimum,
                maximum=schema.maximum,
                enum=schema.enum,
                default=schema.default,
                const=schema.const,
            )
        if isinstance(schema, LexString):
            if schema.known_values and schema.enum is None:
                name = state.inline_name(
                    f"{owner}{_part(prop)}KnownValues",
                    "",
                    f"knownValues of {owner}.{prop}",
                    where,
                )
                state.aliases.append(
                    AliasIR(
                        ref=ClassRef(state.module, name, state.inline_ref(where)),
                        type=StringType(enum=tuple(dict.fromkeys(schema.known_values))),
                        description=f"Known values of ``{owner}{'.' + prop if prop else ''}`` "
                        "(any string is accepted).",
                    )
                )
            return StringType(
                format=_format(schema.format),
                min_length=schema.min_length,
                max_length=schema.max_length,
                min_graphemes=schema.min_graphemes,
                max_graphemes=schema.max_graphemes,
                known_values=tuple(schema.known_values or ()),
                enum=schema.enum,
                default=schema.default,
                const=schema.const,
            )
        if isinstance(schema, LexBytes):
            return BytesType(min_length=schema.min_length, max_length=schema.max_length)
        if isinstance(schema, LexCidLink):
            return CidLinkType()
        if isinstance(schema, LexBlob):
            return BlobType(accept=schema.accept, max_size=schema.max_size)
        if isinstance(schema, LexUnknown):
            return UnknownType()
        if isinstance(schema, LexArray):
            items = self.field_type(state, schema.items, owner, prop + "Item", (*where, "items"))
            return ArrayType(
                items=items, min_length=schema.min_length, max_length=schema.max_length
            )
        if isinstance(schema, LexObject):
            name = state.inline_name(
                f"{owner}{_part(prop)}", "Object", f"object at {'/'.join(where)}", where
            )
            self.inline_object(state, schema, name, where)
            return ModelRefType(ClassRef(state.module, name, state.inline_ref(where)))
        if isinstance(schema, LexRef):
            return self.ref_type(state, schema.ref)
        return self.union_type(state, schema, f"{owner}{_part(prop)}", where)

    def ref_type(self, state: _ModuleState, ref: str) -> TypeIR:
        key = Catalog.normalize(ref, state.nsid)
        assert key is not None  # checked by the resolver
        target = self.catalog.lookup(key)
        class_ref = self.class_ref(key)
        self.use(state, class_ref)
        if isinstance(target, LexObject | LexRecord):
            return ModelRefType(class_ref)
        return AliasRefType(class_ref, self.alias_type(key))

    def alias_type(self, key: DefKey) -> TypeIR:
        """The lowered type of a named non-object def (memoised, placement-independent)."""
        cached = self._alias_types.get(key)
        if cached is not None:
            return cached
        module, parts = self.module_of(key.nsid)
        scratch = _ModuleState(key.nsid, module, parts, self.catalog.doc(key.nsid).path)
        scratch.def_name = key.name
        definition = self.catalog.lookup(key)
        assert definition is not None
        assert not isinstance(definition, LexObject | LexRecord)
        name = self.unit(key).name
        assert name is not None
        result = self.field_type(scratch, definition, name, "", ())  # type: ignore[arg-type]
        self._alias_types[key] = result
        return result

    def union_type(
        self, state: _ModuleState, schema: LexUnion, name: str, where: tuple[str, ...]
    ) -> UnionRefType:
        name = state.inline_name(name, "Union", f"union at {'/'.join(where)}", where)
        union = self.union(state, schema, name, where, frames=False)
        state.unions.append(union)
        return UnionRefType(union.ref, union.closed)

    def union(
        self,
        state: _ModuleState,
        schema: LexUnion,
        name: str,
        where: tuple[str, ...],
        *,
        frames: bool,
    ) -> UnionIR:
        members: dict[str, UnionMemberIR] = {}
        for ref in schema.refs:
            key = Catalog.normalize(ref, state.nsid)
            assert key is not None
            target = self.class_ref(key)
            self.use(state, target)
            frame = None
            if frames:
                frame = f"#{key.name}" if key.nsid == state.nsid else str(key)
            members.setdefault(key.type_tag, UnionMemberIR(key.type_tag, target, frame))
        return UnionIR(
            ref=ClassRef(state.module, name, state.inline_ref(where)),
            members=tuple(members.values()),
            closed=schema.closed,
            description=schema.description,
        )

    # --- models ------------------------------------------------------------------------

    def fields(
        self,
        state: _ModuleState,
        *,
        properties: Mapping[str, FieldSchema],
        required: tuple[str, ...],
        nullable: tuple[str, ...],
        owner: str,
        where: tuple[str, ...],
        has_type: bool,
    ) -> tuple[FieldIR, ...]:
        scope = NameScope()
        if has_type:
            scope.claim("py_type", "$type")
        out: list[FieldIR] = []
        for wire, schema in properties.items():
            at = (*where, "properties", wire)
            name = field_name(wire)
            previous = scope.claim(name, wire)
            if previous is not None:
                state.collision(f"properties {previous!r} and {wire!r} both map to {name!r}", at)
            type_ir = self.field_type(state, schema, owner, wire, at)
            default = (
                getattr(schema, "default", None)
                if isinstance(schema, LexBoolean | LexInteger | LexString)
                else None
            )
            out.append(
                FieldIR(
                    name=name,
                    wire_name=wire,
                    type=type_ir,
                    required=wire in required,
                    nullable=wire in nullable,
                    description=schema.description,
                    default=default,
                )
            )
        return tuple(out)

    def model(
        self,
        state: _ModuleState,
        name: str,
        kind: ModelKind,
        obj: LexObject | LexParams,
        where: tuple[str, ...],
        *,
        lexicon_ref: str,
        description: str | None,
        type_tag: str | None = None,
        record_key: str | None = None,
    ) -> ModelIR:
        """Lower one class; inline classes it owns are appended after it."""
        position = len(state.models)
        nullable = obj.nullable if isinstance(obj, LexObject) else ()
        fields = self.fields(
            state,
            properties=obj.properties,
            required=obj.required,
            nullable=nullable,
            owner=name,
            where=where,
            has_type=type_tag is not None,
        )
        model = ModelIR(
            ref=ClassRef(state.module, name, lexicon_ref),
            kind=kind,
            fields=fields,
            description=description,
            type_tag=type_tag,
            record_key=record_key,
        )
        state.models.insert(position, model)
        return model

    def inline_object(
        self, state: _ModuleState, obj: LexObject, name: str, where: tuple[str, ...]
    ) -> None:
        self.model(
            state,
            name,
            "object",
            obj,
            where,
            lexicon_ref=state.inline_ref(where),
            description=obj.description,
        )

    # --- endpoints ---------------------------------------------------------------------

    def body(self, state: _ModuleState, body: LexBody, name: str, where: tuple[str, ...]) -> BodyIR:
        encodings = tuple(e.strip() for e in body.encoding.split(","))
        common = {
            "encoding": body.encoding,
            "encodings": encodings,
            "description": body.description,
        }
        schema = body.schema
        if schema is None or not _is_json(body.encoding):
            return BodyIR(**common)  # type: ignore[arg-type]
        if isinstance(schema, LexObject):
            kind: ModelKind = "input" if name == "Input" else "output"
            self.model(
                state,
                name,
                kind,
                schema,
                (*where, "schema"),
                lexicon_ref=f"{state.nsid}#main/{where[0]}",
                description=schema.description or body.description,
            )
            return BodyIR(**common, model=name, schema_kind="object")  # type: ignore[arg-type]
        if isinstance(schema, LexRef):
            target = self.ref_type(state, schema.ref)
            assert isinstance(target, ModelRefType)
            state.eager.add(target.target.module)
            state.aliases.append(
                AliasIR(
                    ClassRef(state.module, name, f"{state.nsid}#main/{where[0]}"),
                    target,
                    body.description,
                )
            )
            return BodyIR(**common, model=name, schema_kind="ref", target=target.target)  # type: ignore[arg-type]
        union = self.union(state, schema, name, (*where, "schema"), frames=False)
        state.unions.append(union)
        return BodyIR(**common, model=name, schema_kind="union")  # type: ignore[arg-type]

    def errors(self, state: _ModuleState, errors: tuple[LexError, ...]) -> tuple[ErrorIR, ...]:
        out: list[ErrorIR] = []
        for error in errors:
            class_name = error_class_name(error.name)
            out.append(ErrorIR(error.name, class_name, error.description))
        return tuple(out)

    def endpoint(
        self, state: _ModuleState, definition: LexQuery | LexProcedure | LexSubscription
    ) -> EndpointIR:
        params = None
        if definition.parameters is not None:
            params = self.model(
                state,
                "Params",
                "params",
                definition.parameters,
                ("parameters",),
                lexicon_ref=f"{state.nsid}#main/parameters",
                description=definition.parameters.description,
            )
        body_in = body_out = None
        message = None
        if isinstance(definition, LexProcedure) and definition.input is not None:
            body_in = self.body(state, definition.input, "Input", ("input",))
        if isinstance(definition, LexQuery | LexProcedure) and definition.output is not None:
            body_out = self.body(state, definition.output, "Output", ("output",))
        if isinstance(definition, LexSubscription):
            message = self.union(
                state, definition.message.schema, "Message", ("message", "schema"), frames=True
            )
            state.eager.update(m.target.module for m in message.members)
            if definition.message.description and not message.description:
                message = UnionIR(
                    message.ref, message.members, message.closed, definition.message.description
                )
            state.unions.append(message)
        kind: EndpointKind = "subscription"
        if isinstance(definition, LexQuery):
            kind = "query"
        elif isinstance(definition, LexProcedure):
            kind = "procedure"
        return EndpointIR(
            nsid=state.nsid,
            kind=kind,
            module=state.module,
            module_parts=state.parts,
            description=definition.description,
            params=params,
            input=body_in,
            output=body_out,
            errors=self.errors(state, definition.errors),
            message=message,
        )

    # --- documents ---------------------------------------------------------------------

    def reserve(self, state: _ModuleState, order: list[str], defs: Mapping[str, LexDef]) -> None:
        """Claim every def-level name first, so inline units yield to them."""
        for def_name in order:
            state.def_name = def_name
            definition = defs[def_name]
            ref = str(DefKey(state.nsid, def_name))
            if isinstance(definition, LexQuery | LexProcedure | LexSubscription):
                names = ["Params"] if definition.parameters is not None else []
                bodies = [("Output", getattr(definition, "output", None))]
                if isinstance(definition, LexProcedure):
                    bodies.insert(0, ("Input", definition.input))
                for name, body in bodies:
                    if body is not None and body.schema is not None and _is_json(body.encoding):
                        names.append(name)
                if isinstance(definition, LexSubscription):
                    names.append("Message")
                names += [error_class_name(e.name) for e in definition.errors]
                for name in names:
                    state.claim(name, f"{name} of {ref}")
            elif not isinstance(definition, LexPermissionSet):
                unit_name = self.unit(DefKey(state.nsid, def_name)).name
                assert unit_name is not None
                state.claim(unit_name, f"def {ref}")

    def document(self, nsid: str) -> tuple[ModuleIR | None, list[IndexEntryIR], list[Diagnostic]]:
        source = self.catalog.doc(nsid)
        module, parts = self.module_of(nsid)
        state = _ModuleState(nsid, module, parts, source.path)
        for name in _MODULE_NAMES:
            state.scope.claim(name, "module constant")
        tokens: list[TokenIR] = []
        index: list[IndexEntryIR] = []
        endpoint: EndpointIR | None = None
        defs = source.doc.defs
        order = (["main"] if "main" in defs else []) + sorted(n for n in defs if n != "main")
        try:
            self.reserve(state, order, defs)
            for def_name in order:
                state.def_name = def_name
                definition = defs[def_name]
                key = DefKey(nsid, def_name)
                ref = str(key)
                if isinstance(definition, LexToken):
                    name = upper_snake(def_name)
                    tokens.append(TokenIR(name, ref, definition.description))
                    index.append(IndexEntryIR(ref, module, name, "token"))
                elif isinstance(definition, LexRecord):
                    self.model(
                        state,
                        "Record",
                        "record",
                        definition.record,
                        ("record",),
                        lexicon_ref=ref,
                        description=definition.description or definition.record.description,
                        type_tag=nsid,
                        record_key=definition.key,
                    )
                    index.append(IndexEntryIR(ref, module, "Record", "record"))
                elif isinstance(definition, LexObject):
                    obj_name = self.unit(key).name
                    assert obj_name is not None
                    self.model(
                        state,
                        obj_name,
                        "object",
                        definition,
                        (),
                        lexicon_ref=ref,
                        description=definition.description,
                        type_tag=key.type_tag,
                    )
                    index.append(IndexEntryIR(ref, module, obj_name, "object"))
                elif isinstance(definition, LexQuery | LexProcedure | LexSubscription):
                    endpoint = self.endpoint(state, definition)
                    index.append(IndexEntryIR(ref, module, None, endpoint.kind))
                elif isinstance(definition, LexPermissionSet):
                    index.append(IndexEntryIR(ref, module, None, "permission-set"))
                else:
                    alias_name = self.unit(key).name
                    assert alias_name is not None
                    alias_type = self.alias_type(key)
                    # Lower again in this module's state so nested unions/aliases land here.
                    own = self.field_type(state, definition, alias_name, "", ())
                    assert own == alias_type
                    state.aliases.append(
                        AliasIR(ClassRef(module, alias_name, ref), own, definition.description)
                    )
                    index.append(IndexEntryIR(ref, module, alias_name, "alias"))
        except _Dropped:
            return None, [], state.diagnostics
        state.def_name = None
        names = {"NSID", *(t.name for t in tokens), *(m.name for m in state.models)}
        names |= {u.name for u in state.unions} | {a.name for a in state.aliases}
        if endpoint is not None:
            names |= {e.class_name for e in endpoint.errors}
        # A field named like an import alias would shadow the module in its class body
        # (pydantic evaluates annotations there): rename the alias, which is private.
        field_names = {f.name for m in state.models for f in m.fields}
        imports = tuple(
            ModuleImportIR(
                mod, alias + "_mod" if alias in field_names else alias, mod in state.eager
            )
            for mod, alias in sorted(state.imports.items())
        )
        return (
            ModuleIR(
                nsid=nsid,
                module=module,
                path=PurePosixPath("models", *parts[:-1], parts[-1] + ".py"),
                source=source.source,
                description=source.doc.description or _permission_set_text(source.doc),
                imports=imports,
                tokens=tuple(tokens),
                aliases=tuple(state.aliases),
                models=tuple(state.models),
                unions=tuple(state.unions),
                endpoint=endpoint,
                names=tuple(sorted(names)),
            ),
            index,
            state.diagnostics,
        )


def _part(prop: str) -> str:
    """The PascalCase piece a property adds to an inline unit's name (none for a def)."""
    return pascal_case(prop) if prop else ""


def _is_json(encoding: str) -> bool:
    return "application/json" in (e.strip() for e in encoding.split(","))


def _format(value: str | None) -> StringFormat | None:
    return value  # type: ignore[return-value]  # checked by the parser


def _module_collisions(
    lowerer: _Lowerer, nsids: list[str], catalog: Catalog
) -> tuple[set[str], list[Diagnostic]]:
    """Documents whose module paths clash (same module, or a module vs a package)."""
    by_path: dict[tuple[str, ...], str] = {}
    bad: set[str] = set()
    diagnostics: list[Diagnostic] = []
    packages: dict[tuple[str, ...], str] = {}
    for nsid in nsids:
        parts = module_parts(nsid)
        for i in range(1, len(parts)):
            packages.setdefault(parts[:i], nsid)
    for nsid in nsids:
        parts = module_parts(nsid)
        other = by_path.get(parts) or packages.get(parts)
        if other is not None and other != nsid:
            bad.add(nsid)
            diagnostics.append(
                Diagnostic(
                    code="module-collision",
                    message=f"module {'.'.join(parts)} is also used by {other}",
                    path=catalog.doc(nsid).path,
                    nsid=nsid,
                )
            )
        by_path.setdefault(parts, nsid)
    return bad, diagnostics


def _eager_cycles(modules: dict[str, ModuleIR], catalog: Catalog) -> list[Diagnostic]:
    """Report modules in a cycle of *eager* imports (``Output = other.Class`` both ways).

    Lazy references never run at import time, so only eager ones can form a cycle that
    fails on import; the modules stay generated, the error makes the run fail.
    """
    by_module = {m.module: m.nsid for m in modules.values()}
    graph = {
        m.nsid: {by_module[i.module] for i in m.imports if i.eager and i.module in by_module}
        for m in modules.values()
    }
    out: list[Diagnostic] = []
    for component in strongly_connected(graph):
        if len(component) > 1:
            for nsid in component:
                out.append(
                    Diagnostic(
                        code="import-cycle",
                        message="needs these modules at import time, and they need it: "
                        + ", ".join(n for n in component if n != nsid),
                        path=catalog.doc(nsid).path,
                        nsid=nsid,
                    )
                )
    return out


def lower_program(
    catalog: Catalog, compiled: list[str], package: str, deps: Mapping[str, set[str]]
) -> tuple[ProgramIR, list[Diagnostic]]:
    """Lower every compiled document; a document that fails drops its dependants too."""
    lowerer = _Lowerer(catalog, package)
    diagnostics: list[Diagnostic] = []
    bad, clashes = _module_collisions(lowerer, compiled, catalog)
    diagnostics += clashes
    modules: dict[str, ModuleIR] = {}
    index: list[IndexEntryIR] = []
    for nsid in compiled:
        if nsid in bad:
            continue
        module, entries, diags = lowerer.document(nsid)
        diagnostics += diags
        if module is None:
            bad.add(nsid)
            continue
        modules[nsid] = module
        index += entries
    # Drop the dependants of documents that failed to lower.
    changed = True
    while changed:
        changed = False
        for nsid in list(modules):
            broken = sorted(d for d in deps.get(nsid, ()) if d in bad)
            if broken:
                del modules[nsid]
                bad.add(nsid)
                changed = True
                diagnostics.append(
                    Diagnostic(
                        code="dependency-failed",
                        message=f"depends on {broken[0]}, which cannot be compiled",
                        path=catalog.doc(nsid).path,
                        nsid=nsid,
                    )
                )
    diagnostics += _eager_cycles(modules, catalog)
    index = [e for e in index if e.lexicon_ref.split("#", 1)[0] in modules]
    ordered = [modules[n] for n in sorted(modules)]
    program = ProgramIR(
        package=package,
        modules=tuple(ordered),
        endpoints=tuple(m.endpoint for m in ordered if m.endpoint is not None),
        index=tuple(sorted(index, key=lambda e: e.lexicon_ref)),
    )
    return program, diagnostics


def _permission_set_text(doc: LexiconDoc) -> str | None:
    """A permission set's module docstring: its title and detail (what a user is shown
    when asked to grant it), or its description."""
    main = doc.defs.get("main")
    if not isinstance(main, LexPermissionSet):
        return None
    parts = [f"Permission set: {main.title}" if main.title else None, main.detail]
    text = "\n\n".join(p for p in parts if p)
    return text or main.description

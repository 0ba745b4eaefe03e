"""Emit the models package: one module per Lexicon document, lazy package ``__init__``s,
the NSID index (``models/_index.py``) and ``_meta.py``.

The IR has made every decision; this module turns IR values into the text fragments the
templates print (annotations, ``Field(...)`` calls, docstring lines) and collects the
imports each module needs, so every emitted import is used and sorted the way ruff's
isort sorts them for the output package. The text is laid out as ruff formats it, except
that lines too long for ``LINE_LENGTH`` are left to ruff (``lexforge.codegen.format``
runs it only over files that have one).

Module-level expressions (union and alias values) are evaluated at import time, when a
module in an import cycle may be only partly initialised, so every class they mention
is a string (a forward reference pydantic resolves in the alias's own module). Field
annotations are postponed (``from __future__ import annotations``) and need no quoting.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from lexforge.codegen.emit.env import render
from lexforge.codegen.emit.imports import ImportName, render_imports
from lexforge.codegen.emit.text import LINE_LENGTH, docstring, header, py_literal, py_string
from lexforge.codegen.ir import (
    AliasIR,
    AliasRefType,
    ArrayType,
    BlobType,
    BooleanType,
    BytesType,
    CidLinkType,
    ClassRef,
    EndpointIR,
    FieldIR,
    IntegerType,
    ModelIR,
    ModelRefType,
    ModuleIR,
    ProgramIR,
    StringType,
    TypeIR,
    UnionIR,
    UnionRefType,
    UnknownType,
)

__all__ = ["emit_models", "emit_module"]

_FORMAT_TYPES = {
    "at-identifier": "AtIdentifier",
    "at-uri": "AtUri",
    "cid": "CidString",
    "datetime": "Datetime",
    "did": "Did",
    "handle": "Handle",
    "language": "Language",
    "nsid": "Nsid",
    "record-key": "RecordKey",
    "tid": "Tid",
    "uri": "Uri",
}

_LEX = "lexforge.runtime.lex"
# String formats are reached through a lazy module (bound at the end of the module, like
# other lexicons' modules): the syntax types load when a model is first built, not when
# the module is imported.
_FORMATS = "lexforge.runtime.lex.formats"
_XRPC_ERRORS = "lexforge.runtime.xrpc.errors"


def _isort_key(name: str) -> tuple[int, str]:
    """ruff's ``order-by-type``: CONSTANTS, then Classes, then functions, each by name."""
    if name.isupper() and len(name) > 1:
        rank = 0
    elif name[:1].isupper():
        rank = 1
    else:
        rank = 2
    return rank, name


def _import_lines(
    plain: Iterable[tuple[str, str]],
    froms: dict[str, dict[str, str]],
    *,
    first_party: str,
    line_length: int = LINE_LENGTH,
) -> list[str]:
    """The import block, one line per entry (``""`` between sections): ``plain`` are
    ``import module as alias``, ``froms`` maps a module to ``{name: local}``. The first
    party is the output package's top-level package (``lexforge`` for this repository's
    own output; in a user's package ``lexforge`` is an installed, third-party library)."""
    imports = [ImportName(module, None, alias) for module, alias in plain]
    imports += [
        ImportName(module, name, local)
        for module, names in froms.items()
        for name, local in names.items()
    ]
    return render_imports(imports, first_party=first_party, line_length=line_length).split("\n")


@dataclass
class _Imports:
    """The names a module needs, each imported once under a local name that cannot
    clash with the module's own names."""

    own: frozenset[str]
    names: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))

    def use(self, module: str, name: str) -> str:
        local = name if name not in self.own else f"_{name}"
        self.names[module][name] = local
        return local


class _ModuleEmitter:
    """Renders one ``ModuleIR``."""

    def __init__(self, module: ModuleIR) -> None:
        self.ir = module
        self.imports = _Imports(frozenset(module.names))
        self.aliases = {imp.module: imp.alias for imp in module.imports}
        taken = {*module.names, *self.aliases.values()}
        self.formats_alias = next(
            n for n in ("formats", "_formats", "_lex_formats") if n not in taken
        )
        self.uses_formats = False

    # --- names ---------------------------------------------------------------------------

    def lex(self, name: str) -> str:
        return self.imports.use(_LEX, name)

    def typing(self, name: str) -> str:
        return self.imports.use("typing", name)

    def pydantic(self, name: str) -> str:
        return self.imports.use("pydantic", name)

    def ref(self, target: ClassRef, *, quoted: bool) -> str:
        """The name of ``target`` here. ``quoted`` (module-level values) makes references to
        other modules strings, resolved lazily in this module's namespace. Local names are
        never strings: module-level values come after the classes (and aliases after what
        they use), and a bare string such as ``"Node"`` could be resolved by pydantic in
        the namespace of whichever model is being built."""
        if target.module == self.ir.module:
            return target.name
        text = f"{self.aliases[target.module]}.{target.name}"
        return py_string(text) if quoted else text

    # --- types ---------------------------------------------------------------------------

    def literal(self, values: Iterable[bool | int | str]) -> str:
        return f"{self.typing('Literal')}[{', '.join(py_literal(v) for v in values)}]"

    def annotated(self, base: str, *meta: str) -> str:
        return f"{self.typing('Annotated')}[{base}, {', '.join(meta)}]"

    def field_call(self, args: list[str]) -> str:
        return f"{self.pydantic('Field')}({', '.join(args)})"

    def type_(self, t: TypeIR, *, quoted: bool, kwargs: list[str] | None = None) -> str:
        """Annotation text for ``t``. With ``kwargs``, constraints that ``Field`` can carry
        go there (top-level fields); otherwise they are ``Annotated`` metadata."""
        if isinstance(t, BooleanType):
            return self.literal([t.const]) if t.const is not None else "bool"
        if isinstance(t, IntegerType):
            if t.const is not None:
                return self.literal([t.const])
            if t.enum is not None:
                return self.literal(t.enum)
            bounds = [f"ge={t.minimum}"] if t.minimum is not None else []
            bounds += [f"le={t.maximum}"] if t.maximum is not None else []
            if not bounds:
                return "int"
            if kwargs is not None:
                kwargs += bounds
                return "int"
            return self.annotated("int", self.field_call(bounds))
        if isinstance(t, StringType):
            return self.string(t, quoted=quoted)
        if isinstance(t, BytesType):
            base = self.lex("Bytes")
            limits = _kw(min_length=t.min_length, max_length=t.max_length)
            return self.annotated(base, f"{self.lex('BytesLength')}({limits})") if limits else base
        if isinstance(t, CidLinkType):
            return self.lex("CidLink")
        if isinstance(t, BlobType):
            base = self.lex("BlobRef")
            args = []
            if t.accept is not None:
                accept = ", ".join(py_string(a) for a in t.accept)
                args.append(f"accept=({accept},)" if len(t.accept) == 1 else f"accept=({accept})")
            if t.max_size is not None:
                args.append(f"max_size={t.max_size}")
            if not args:
                return base
            return self.annotated(base, f"{self.lex('BlobConstraints')}({', '.join(args)})")
        if isinstance(t, UnknownType):
            return self.lex("UnknownObject")
        if isinstance(t, ArrayType):
            items = self.type_(t.items, quoted=quoted)
            bounds = [f"min_length={t.min_length}"] if t.min_length is not None else []
            bounds += [f"max_length={t.max_length}"] if t.max_length is not None else []
            base = f"list[{items}]"
            if not bounds:
                return base
            if kwargs is not None:
                kwargs += bounds
                return base
            return self.annotated(base, self.field_call(bounds))
        if isinstance(t, ModelRefType | AliasRefType):
            return self.ref(t.target, quoted=quoted)
        assert isinstance(t, UnionRefType)
        return self.ref(t.target, quoted=quoted)

    def string(self, t: StringType, *, quoted: bool) -> str:
        if t.const is not None:
            return self.literal([t.const])
        if t.enum is not None:
            return self.literal(t.enum)
        base = "str"
        if t.format:
            self.uses_formats = True
            base = f"{self.formats_alias}.{_FORMAT_TYPES[t.format]}"
            base = py_string(base) if quoted else base
        limits = _kw(
            min_length=t.min_length,
            max_length=t.max_length,
            min_graphemes=t.min_graphemes,
            max_graphemes=t.max_graphemes,
        )
        if not limits:
            return base
        return self.annotated(base, f"{self.lex('StringLimits')}({limits})")

    # --- fields and classes ------------------------------------------------------------

    def field_lines(self, f: FieldIR) -> list[str]:
        kwargs: list[str] = []
        base = self.type_(f.type, quoted=False, kwargs=kwargs)
        if f.has_alias:
            kwargs.insert(0, f"alias={py_string(f.wire_name)}")
        default: str | None = None
        if f.default is not None:
            annotation = f"{base} | None" if f.nullable else base
            default = py_literal(f.default)
        elif not f.required:
            annotation = f"{base} | None" if f.nullable else f"{self.lex('Omittable')}[{base}]"
            default = "None"
        else:
            annotation = f"{base} | None" if f.nullable else base
        if kwargs:
            # `default=` by keyword: type checkers without the pydantic plugin only see
            # defaults passed that way (dataclass_transform field specifiers).
            rhs = " = " + self.field_call(([f"default={default}"] if default else []) + kwargs)
        else:
            rhs = f" = {default}" if default else ""
        return [f"    {f.name}: {annotation}{rhs}", *docstring(f.description, 4, attribute=True)]

    def model_view(self, model: ModelIR) -> dict[str, Any]:
        base = self.lex("LexRecord" if model.kind == "record" else "LexModel")
        body: list[str] = []
        if model.type_tag is not None:
            tag = py_string(model.type_tag)
            field_ = self.field_call([f"default={tag}", 'alias="$type"'])
            body.append(f"    py_type: {self.literal([model.type_tag])} = {field_}")
            del tag
        for f in model.fields:
            body += self.field_lines(f)
        doc = docstring(model.description, 4)
        if model.kind == "record" and model.record_key:
            note = f"Record key: ``{model.record_key}``."
            doc = docstring(f"{model.description}\n\n{note}" if model.description else note, 4)
        if not body and not doc:
            body = ["    pass"]
        return {"name": model.name, "base": base, "doc": doc, "body": body}

    def union_view(self, union: UnionIR) -> dict[str, Any]:
        tag = self.pydantic("Tag")
        annotated = self.typing("Annotated")
        members = [
            f"{annotated}[{self.ref(m.target, quoted=True)}, {tag}({py_string(m.type_tag)})]"
            for m in union.members
        ]
        if not union.closed:
            unknown = self.lex("UnknownObject")
            members.append(f"{annotated}[{unknown}, {tag}({self.lex('UNKNOWN_TAG')})]")
        tags = [py_string(m.type_tag) for m in union.members]
        if union.closed:
            tags.append("closed=True")
        meta = f"{self.lex('union')}({', '.join(tags)})"
        value = self.annotated(" | ".join(members), meta)
        return self.alias_assignment(union.name, value, union.description, lazy=True)

    def message_view(self, endpoint: EndpointIR) -> list[dict[str, Any]]:
        """``Message`` (typing only: frames carry the type in their header) and
        ``MESSAGE_TYPES`` (frame ``t`` -> class) for a subscription."""
        assert endpoint.message is not None
        message = endpoint.message
        members = [self.ref(m.target, quoted=False) for m in message.members]
        out = [
            self.alias_assignment(
                "Message",
                " | ".join(members) if members else self.lex("UnknownObject"),
                message.description
                or "The messages of this stream (frame type -> class: ``MESSAGE_TYPES``).",
                lazy=False,
            )
        ]
        final = self.typing("Final")
        entries = ", ".join(
            f"{py_string(m.frame_type or m.type_tag)}: {self.ref(m.target, quoted=False)}"
            for m in message.members
        )
        model_type = self.lex("LexModel")
        out.append(
            {
                "lines": [
                    f"MESSAGE_TYPES: {final}[dict[str, type[{model_type}]]] = {{{entries}}}",
                    *docstring(
                        "Message classes by event-stream frame type (``t``).", 0, attribute=True
                    ),
                ]
            }
        )
        return out

    def alias_assignment(
        self, name: str, value: str, description: str | None, *, lazy: bool
    ) -> dict[str, Any]:
        if lazy:
            alias_type = self.imports.use("typing_extensions", "TypeAliasType")
            line = f"{name} = {alias_type}({py_string(name)}, {value})"
        else:
            line = f"{name}: {self.typing('TypeAlias')} = {value}"
        return {"lines": [line, *docstring(description, 0, attribute=True)]}

    def alias_view(self, alias: AliasIR) -> dict[str, Any]:
        if isinstance(alias.type, ModelRefType):
            # A body schema that is a ref: ``Output = other.Class`` (a real class).
            value = self.ref(alias.type.target, quoted=False)
            return self.alias_assignment(alias.name, value, alias.description, lazy=False)
        lazy = _has_refs(alias.type)
        value = self.type_(alias.type, quoted=True)
        return self.alias_assignment(alias.name, value, alias.description, lazy=lazy)

    def error_views(self, endpoint: EndpointIR) -> list[dict[str, Any]]:
        if not endpoint.errors:
            return []
        base = self.imports.use(_XRPC_ERRORS, "XrpcDeclaredError")
        return [
            {
                "name": e.class_name,
                "base": base,
                "doc": docstring(
                    e.description or f"The ``{e.name}`` error of ``{endpoint.nsid}``.", 4
                ),
                "body": [f"    error = {py_string(e.name)}"],
            }
            for e in endpoint.errors
        ]

    # --- module --------------------------------------------------------------------------

    def render(self) -> str:
        ir = self.ir
        final = self.typing("Final")
        tokens = [
            {
                "lines": [
                    f"{t.name}: {final} = {py_string(t.value)}",
                    *docstring(t.description, 0, attribute=True),
                ]
            }
            for t in ir.tokens
        ]
        classes = [self.model_view(m) for m in ir.models]
        if ir.endpoint is not None:
            classes += self.error_views(ir.endpoint)
        assignments = []
        message = ir.endpoint.message if ir.endpoint is not None else None
        for union in ir.unions:
            if union is message:
                continue
            assignments.append(self.union_view(union))
        late: list[dict[str, Any]] = []
        for alias in _ordered_aliases(ir):
            # ``Output = other.Class`` needs the other module complete: after any
            # deferred import.
            eager_ref = isinstance(alias.type, ModelRefType)
            (late if eager_ref else assignments).append(self.alias_view(alias))
        if ir.endpoint is not None and message is not None:
            late += self.message_view(ir.endpoint)
        names = sorted(
            {*ir.names, *(["MESSAGE_TYPES"] if message is not None else [])}, key=_isort_key
        )
        description = ir.description
        if description is None and ir.endpoint is not None:
            description = ir.endpoint.description
        if description is None and ir.models and ir.models[0].kind == "record":
            description = ir.models[0].description
        doc = docstring(description or f"Lexicon ``{ir.nsid}``.", 0)
        first_party = ir.module.partition(".")[0]
        lazy = [(i.module, i.alias) for i in ir.imports if not i.eager]
        checking: dict[str, dict[str, str]] = {}
        if self.uses_formats:
            lazy = sorted([*lazy, (_FORMATS, self.formats_alias)])
            package, _, name = _FORMATS.rpartition(".")
            checking[package] = {name: self.formats_alias}
        type_checking = _import_lines(
            [m for m in lazy if m[0] != _FORMATS],
            checking,
            first_party=first_party,
            line_length=LINE_LENGTH - 4,
        )
        if type_checking == [""]:
            type_checking = []
        if lazy:
            self.typing("TYPE_CHECKING")
            self.lex("lazy_module")
        eager = [(i.module, i.alias) for i in ir.imports if i.eager]
        return render(
            "models/module.py.j2",
            header=header(ir.source, ir.nsid),
            doc=doc,
            imports=_import_lines(eager, self.imports.names, first_party=first_party),
            type_checking=type_checking,
            lazy_modules=[(alias, py_string(module)) for module, alias in lazy],
            late_assignments=late,
            names=names,
            nsid=py_string(ir.nsid),
            final=final,
            tokens=tokens,
            classes=classes,
            assignments=assignments,
        )


def _local_refs(t: TypeIR, module: str) -> set[str]:
    if isinstance(t, ArrayType):
        return _local_refs(t.items, module)
    if isinstance(t, ModelRefType | AliasRefType | UnionRefType) and t.target.module == module:
        return {t.target.name}
    return set()


def _ordered_aliases(ir: ModuleIR) -> list[AliasIR]:
    """Aliases so that each comes after the local aliases it uses (stable otherwise)."""
    pending = list(ir.aliases)
    names = {a.name for a in pending}
    done: set[str] = set()
    out: list[AliasIR] = []
    while pending:
        for alias in pending:
            needs = (_local_refs(alias.type, ir.module) & names) - done - {alias.name}
            if not needs:
                break
        else:  # a cycle among aliases: keep the given order
            alias = pending[0]
        pending.remove(alias)
        done.add(alias.name)
        out.append(alias)
    return out


def _kw(**values: int | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items() if v is not None)


def _has_refs(t: TypeIR) -> bool:
    if isinstance(t, ArrayType):
        return _has_refs(t.items)
    return isinstance(t, ModelRefType | AliasRefType | UnionRefType)


def emit_module(module: ModuleIR) -> str:
    """The source of one generated model module (unformatted)."""
    return _ModuleEmitter(module).render()


def _package_inits(program: ProgramIR) -> dict[PurePosixPath, str]:
    """Lazy ``__init__.py`` for ``models`` and every package below it."""
    children: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for module in program.modules:
        parts = module.path.with_suffix("").parts  # ("models", "app", "bsky", "feed", "post")
        for i in range(1, len(parts)):
            children[parts[:i]].add(parts[i])
    out: dict[PurePosixPath, str] = {}
    for package, names in sorted(children.items()):
        dotted = ".".join((program.package, *package))
        label = ".".join(package[1:]) or None
        doc = (
            f"Generated models for the ``{label}.*`` lexicons."
            if label
            else "Generated models: one module per Lexicon document."
        )
        out[PurePosixPath(*package, "__init__.py")] = render(
            "models/package_init.py.j2",
            header=header(),
            doc=docstring(doc, 0),
            package=dotted,
            names=sorted(names, key=_isort_key),
        )
    return out


def _index(program: ProgramIR) -> str:
    prefix = program.models_package + "."

    def rel(module: str) -> str:
        return module.removeprefix(prefix)

    records = sorted((e.lexicon_ref, rel(e.module)) for e in program.index if e.kind == "record")
    methods = sorted(
        (e.lexicon_ref, rel(e.module), e.kind)
        for e in program.index
        if e.kind in ("query", "procedure", "subscription")
    )
    defs = sorted(
        (e.lexicon_ref, rel(e.module), e.name) for e in program.index if e.name is not None
    )
    return render(
        "models/index.py.j2",
        header=header(),
        package=program.models_package,
        records=[f"    {py_string(r)}: {py_string(m)}," for r, m in records],
        methods=[line for r, m, k in methods for line in _tuple_entry(r, m, k)],
        defs=[line for r, m, n in defs for line in _tuple_entry(r, m, n or "")],
    )


def _tuple_entry(key: str, *items: str) -> list[str]:
    """A ``"key": ("a", "b"),`` dict entry as ruff formats it: one line when it fits,
    else the tuple exploded one item per line (ruff adds the trailing comma)."""
    values = [py_string(item) for item in items]
    one = f"    {py_string(key)}: ({', '.join(values)}),"
    if len(one) <= LINE_LENGTH:
        return [one]
    return [f"    {py_string(key)}: (", *(f"        {v}," for v in values), "    ),"]


def _meta(program: ProgramIR, digest: str, version: str) -> str:
    return render(
        "meta.py.j2",
        header=header(),
        version=py_string(version),
        digest=py_string(digest),
        package=py_string(program.package),
    )


def lexicon_digest(texts: Iterable[tuple[str, str]]) -> str:
    """SHA-256 over (source name, text) pairs in sorted order: what the output came from."""
    h = hashlib.sha256()
    for source, text in sorted(texts):
        h.update(source.encode())
        h.update(b"\0")
        h.update(text.encode())
        h.update(b"\0")
    return h.hexdigest()


def emit_models(program: ProgramIR, *, digest: str, version: str) -> dict[PurePosixPath, str]:
    """Every models file plus ``_meta.py`` and the package's own ``__init__.py``."""
    files = {module.path: emit_module(module) for module in program.modules}
    files.update(_package_inits(program))
    files[PurePosixPath("models", "_index.py")] = _index(program)
    files[PurePosixPath("_meta.py")] = _meta(program, digest, version)
    return files

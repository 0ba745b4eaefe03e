"""Emit typed XRPC clients from the IR: ``client.com.atproto.repo.get_record(...)``.

Output layout (paths relative to the output root, modules under ``<package>.client``):

* ``client/__init__.py``: ``Client`` (blocking) and ``AsyncClient``, subclasses of the
  runtime's ``XrpcClient`` / ``AsyncXrpcClient``, with one lazy property per top-level
  NSID segment (``client.com``);
* one module per inner node of the NSID tree: ``client/com/atproto/__init__.py`` for a
  node with children, ``client/com/atproto/repo.py`` for a leaf. Each defines
  ``Namespace`` and ``AsyncNamespace``: lazy properties for child nodes (a child module
  is imported on first access, so using one namespace does not import every model) and
  one method per XRPC method.

A method is one call into the runtime. Parameters are keyword-only with plain Python
types (``str`` for every string format: the ``Params`` model validates and converts),
defaults from the Lexicon, ``None`` for optional ones; a procedure with input takes it
as the first positional argument (the ``Input`` model or a mapping for JSON, bytes or
chunks for other encodings). Every method also takes ``headers`` and (queries,
procedures) ``timeout``. Names come from the IR; nothing is renamed here, and a clash
between a method, a child namespace or a reserved name is an :class:`EmitError`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from lexforge.codegen.emit.text import LINE_LENGTH, docstring, header
from lexforge.codegen.emit.xrpc_common import (
    MESSAGE_TYPES,
    EmitError,
    ImportSet,
    literal,
    models_import,
    render_template,
    tuple_arg,
)
from lexforge.codegen.ir import (
    AliasRefType,
    ArrayType,
    BooleanType,
    EndpointIR,
    FieldIR,
    IntegerType,
    ProgramIR,
    StringType,
    TypeIR,
)

__all__ = ["emit", "emit_clients"]

_XRPC = "lexforge.runtime.xrpc"
_LEX = "lexforge.runtime.lex"
_CLIENT_MODULE = "lexforge.runtime.xrpc.client"
_PARAMS_MODULE = "lexforge.runtime.xrpc.params"

#: Keyword arguments every generated method has besides the Lexicon parameters.
_RESERVED_ARGS = frozenset({"self", "input", "headers", "timeout", "content_type"})
#: Names a namespace module binds itself; a method (module) may not take them.
_RESERVED_MODULE_NAMES = frozenset(
    {
        "TYPE_CHECKING",
        "Any",
        "AsyncBinaryInput",
        "AsyncIterator",
        "AsyncNamespace",
        "AsyncXrpcClient",
        "BinaryInput",
        "Iterator",
        "Literal",
        "Mapping",
        "Namespace",
        "TimeoutLike",
        "XrpcClient",
        "annotations",
        "cached_property",
        "cast",
        "lazy_module",
        "validate_params",
    }
)
#: Attributes of the runtime clients that a top-level namespace would shadow.
_CLIENT_ATTRIBUTES = frozenset(
    {
        "aclose",
        "auth",
        "base_url",
        "close",
        "options",
        "procedure",
        "query",
        "query_stream",
        "subscribe",
        "with_headers",
        "with_labelers",
        "with_proxy",
    }
)


@dataclass(slots=True)
class _Node:
    """One node of the NSID tree: child segment names and the methods defined here."""

    parts: tuple[str, ...]
    children: set[str] = field(default_factory=set)
    methods: list[EndpointIR] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Child:
    name: str
    alias: str
    parent_module: str
    prefix: str


@dataclass(frozen=True, slots=True)
class _Method:
    keyword: str
    name: str
    args: tuple[str, ...]
    returns: str
    doc: tuple[str, ...]
    statement: str
    call_args: tuple[str, ...]
    after: str | None


@dataclass(frozen=True, slots=True)
class _Class:
    name: str
    base: str | None
    xrpc_type: str
    xrpc_expr: str
    child_class: str
    doc: tuple[str, ...]
    children: tuple[_Child, ...]
    methods: tuple[_Method, ...]


def _tree(endpoints: Iterable[EndpointIR]) -> dict[tuple[str, ...], _Node]:
    nodes: dict[tuple[str, ...], _Node] = {(): _Node(())}
    for endpoint in endpoints:
        *namespace, _ = endpoint.module_parts
        for depth in range(len(namespace)):
            parent, child = tuple(namespace[:depth]), namespace[depth]
            nodes.setdefault(parent, _Node(parent)).children.add(child)
            nodes.setdefault(tuple(namespace[: depth + 1]), _Node(tuple(namespace[: depth + 1])))
        nodes[tuple(namespace)].methods.append(endpoint)
    for node in nodes.values():
        node.methods.sort(key=lambda e: e.method_name)
        names = [e.method_name for e in node.methods]
        for name in names:
            if name in node.children:
                raise EmitError(
                    f"{'.'.join(node.parts)}: {name!r} is both a method and a namespace"
                )
            if name in _RESERVED_MODULE_NAMES:
                raise EmitError(f"{'.'.join(node.parts)}: method name {name!r} is reserved")
        if len(set(names)) != len(names):
            raise EmitError(f"{'.'.join(node.parts)}: two methods with one name")
    for name in nodes[()].children:
        if name in _CLIENT_ATTRIBUTES or name.startswith("_"):
            raise EmitError(f"top-level namespace {name!r} would shadow a client attribute")
    return nodes


def _annotation(t: TypeIR, imports: ImportSet) -> str:
    """The argument type a caller passes for a parameter of Lexicon type ``t``."""
    if isinstance(t, AliasRefType):
        return _annotation(t.resolved, imports)
    if isinstance(t, BooleanType):
        return "bool"
    if isinstance(t, IntegerType):
        if t.enum:
            imports.add("typing", "Literal")
            return f"Literal[{', '.join(str(v) for v in t.enum)}]"
        return "int"
    if isinstance(t, StringType):
        if t.enum:
            imports.add("typing", "Literal")
            return f"Literal[{', '.join(literal(v) for v in t.enum)}]"
        return "str"
    if isinstance(t, ArrayType):
        return f"list[{_annotation(t.items, imports)}]"
    imports.add("typing", "Any")
    return "Any"


def _arg_name(f: FieldIR) -> str:
    return f"{f.name}_" if f.name in _RESERVED_ARGS else f.name


def _param_args(fields: tuple[FieldIR, ...], imports: ImportSet) -> list[str]:
    args = []
    for f in fields:
        annotation = _annotation(f.type, imports)
        if f.default is not None:
            suffix = f" = {literal(f.default)}"
        elif f.required:
            suffix = ""
        else:
            annotation, suffix = f"{annotation} | None", " = None"
        args.append(_explode(f"{_arg_name(f)}: ", annotation, suffix))
    return args


def _explode(prefix: str, annotation: str, suffix: str) -> str:
    """A parameter line, with a too-long ``Literal[...]`` split one value per line as
    ruff formats it (continuation lines are relative to the parameter's indent)."""
    line = f"{prefix}{annotation}{suffix}"
    if len(line) + 9 <= LINE_LENGTH or not annotation.startswith("Literal["):
        return line
    head, _, rest = annotation.partition("[")
    inner, _, tail = rest.rpartition("]")
    values = [v.strip() for v in inner.split(", ")]
    body = "".join(f"\n    {v}," for v in values)
    return f"{prefix}{head}[{body}\n]{tail}{suffix}"


def _params_call(endpoint: EndpointIR, module: str, imports: ImportSet) -> list[str]:
    assert endpoint.params is not None
    if not endpoint.params.fields:
        return [f"    {module}.Params(),"]
    imports.add(_PARAMS_MODULE, "validate_params")
    lines = ["    validate_params(", f"        {module}.Params,", "        {"]
    lines += [
        f"            {json.dumps(f.wire_name)}: {_arg_name(f)}," for f in endpoint.params.fields
    ]
    lines += ["        },", "    ),"]
    return lines


def _errors_arg(endpoint: EndpointIR, module: str) -> list[str]:
    if not endpoint.errors:
        return []
    names = [f"{module}.{e.class_name}" for e in endpoint.errors]
    return [line[8:] for line in tuple_arg(12, "errors", names)]


def _method_doc(endpoint: EndpointIR, module: str) -> tuple[str, ...]:
    text = endpoint.description or f"Call ``{endpoint.nsid}``."
    text += f"\n\n``{endpoint.nsid}`` ({endpoint.kind})."
    if endpoint.errors:
        names = ", ".join(f"``{module}.{e.class_name}``" for e in endpoint.errors)
        text += f" Declared errors: {names}."
    if endpoint.kind == "query" and endpoint.output is not None and endpoint.output.model is None:
        text += (
            f" Returns the whole body; to stream it, use ``query_stream({module}.NSID, ...)`` "
            "on the client."
        )
    return tuple(docstring(text, 8))


def _open_encoding(endpoint: EndpointIR) -> bool:
    """Whether the input encoding leaves the MIME type to the caller (``*/*``, lists)."""
    assert endpoint.input is not None
    return len(endpoint.input.encodings) > 1 or "*" in endpoint.input.encoding


def _method(endpoint: EndpointIR, *, asynchronous: bool, imports: ImportSet) -> _Method:
    module = endpoint.method_name
    args: list[str] = []
    call: list[str] = [f"    {module}.NSID,"]
    if endpoint.params is not None:
        call += _params_call(endpoint, module, imports)
    returns = "None"
    kind = endpoint.kind
    if kind == "subscription":
        assert endpoint.message is not None
        iterator = "AsyncIterator" if asynchronous else "Iterator"
        imports.add("collections.abc", iterator)
        returns = f"{iterator}[{module}.{endpoint.message.name}]"
        call.append(f"    messages={module}.{MESSAGE_TYPES},")
    if endpoint.input is not None:
        body = endpoint.input
        if body.model is not None:
            imports.add("collections.abc", "Mapping")
            imports.add("typing", "Any")
            args.append(f"input: {module}.{body.model} | Mapping[str, Any]")
            call.append("    input=input,")
            call.append(f"    input_schema={module}.{body.model},")
        else:
            binary = "AsyncBinaryInput" if asynchronous else "BinaryInput"
            imports.add(_CLIENT_MODULE, binary)
            args.append(f"input: {binary}")
            call.append("    input=input,")
        call.append(f"    input_encoding={literal(body.encoding)},")
    args.append("*")
    if endpoint.params is not None:
        args += _param_args(endpoint.params.fields, imports)
    if endpoint.input is not None and endpoint.input.model is None and _open_encoding(endpoint):
        args.append("content_type: str | None = None")
        call.append("    content_type=content_type,")
    cast_to: str | None = None
    if endpoint.output is not None:
        body = endpoint.output
        if body.model is None:
            returns = "bytes"
            call.append("    output=bytes,")
        else:
            returns = f"{module}.{body.model}"
            call.append(f"    output={module}.{body.model},")
            if body.schema_kind == "union":
                cast_to = returns
    call += _errors_arg(endpoint, module)
    imports.add("collections.abc", "Mapping")
    args.append("headers: Mapping[str, str] | None = None")
    call.append("    headers=headers,")
    if kind != "subscription":
        imports.add(_CLIENT_MODULE, "TimeoutLike")
        args.append("timeout: TimeoutLike | None = None")
        call.append("    timeout=timeout,")
    runtime_call = {"query": "query", "procedure": "procedure", "subscription": "subscribe"}[kind]
    awaits = asynchronous and kind != "subscription"
    target = f"{'await ' if awaits else ''}self._xrpc.{runtime_call}"
    keyword = "async def" if awaits else "def"
    doc = _method_doc(endpoint, module)
    if cast_to is None:
        statement, after = f"return {target}", None
    else:  # a union body is an alias, not a class: the runtime cannot type the result
        imports.add("typing", "cast")
        statement, after = f"result = {target}", f'return cast("{cast_to}", result)'
    return _Method(
        keyword=keyword,
        name=endpoint.method_name,
        args=tuple(args),
        returns=returns,
        doc=doc,
        statement=statement,
        call_args=tuple(call),
        after=after,
    )


def _module_name(package: str, parts: tuple[str, ...]) -> str:
    return ".".join((f"{package}.client", *parts))


def _path(parts: tuple[str, ...], node: _Node) -> PurePosixPath:
    if not parts or node.children:
        return PurePosixPath("client", *parts, "__init__.py")
    return PurePosixPath("client", *parts[:-1], f"{parts[-1]}.py")


def _children(package: str, node: _Node, imports: ImportSet) -> tuple[_Child, ...]:
    module = _module_name(package, node.parts)
    children = []
    for name in sorted(node.children):
        alias = f"_{name}"
        imports.add_type_checking(module, name, alias)
        prefix = ".".join((*node.parts, name))
        children.append(_Child(name=name, alias=alias, parent_module=module, prefix=prefix))
    return tuple(children)


def _render_node(program: ProgramIR, node: _Node) -> str:
    package = program.package
    imports = ImportSet(first_party=package)
    imports.add("__future__", "annotations")
    children = _children(package, node, imports)
    if children:
        imports.add("functools", "cached_property")
        imports.add("typing", "TYPE_CHECKING")
    for endpoint in node.methods:
        imports.add_lazy_module(*models_import(endpoint.module))
    if node.methods:
        imports.add("typing", "TYPE_CHECKING")
        imports.add(_LEX, "lazy_module")
    dotted = ".".join(node.parts)
    classes: list[_Class] = []
    for asynchronous in (False, True):
        if node.parts:
            xrpc_type = "AsyncXrpcClient" if asynchronous else "XrpcClient"
            imports.add(_XRPC, xrpc_type)
            kind = "async" if asynchronous else "blocking"
            doc = f"``{dotted}.*`` XRPC methods ({kind})."
            name = "AsyncNamespace" if asynchronous else "Namespace"
            base = None
            xrpc_expr = "self._xrpc"
        else:
            xrpc_type = "AsyncXrpcClient" if asynchronous else "XrpcClient"
            imports.add(_XRPC, xrpc_type)
            name = "AsyncClient" if asynchronous else "Client"
            base = xrpc_type
            xrpc_expr = "self"
            doc = (
                f"{'Async' if asynchronous else 'Blocking'} XRPC client shaped after the NSID "
                f"tree: ``client.com.atproto.repo.get_record(...)``.\n\nTakes the arguments of "
                f"``{_XRPC}.{xrpc_type}`` (base URL, auth, timeout, proxy, ...)."
            )
        methods = tuple(
            _method(e, asynchronous=asynchronous, imports=imports) for e in node.methods
        )
        classes.append(
            _Class(
                name=name,
                base=base,
                xrpc_type=xrpc_type,
                xrpc_expr=xrpc_expr,
                child_class="AsyncNamespace" if asynchronous else "Namespace",
                doc=tuple(docstring(doc, 4)),
                children=children,
                methods=methods,
            )
        )
    if node.parts:
        module_doc = f"Client methods of the ``{dotted}`` namespace."
        source = f"the {dotted}.* lexicons"
    else:
        module_doc = (
            "Typed XRPC clients for every method of this package.\n\n"
            "``Client(base_url)`` blocks, ``AsyncClient(base_url)`` is async; namespaces "
            "mirror NSIDs and load on first use."
        )
        source = None
    return render_template(
        "client/namespace.py.j2",
        header=header(source),
        module_doc="\n".join(docstring(module_doc, 0)),
        imports=imports.render(),
        type_checking=imports.render_type_checking(),
        lazy=imports.render_lazy(),
        all_names=", ".join(json.dumps(c.name) for c in sorted(classes, key=lambda c: c.name)),
        classes=classes,
    )


def emit_clients(program: ProgramIR) -> dict[PurePosixPath, str]:
    """``{relative path: source}`` for the client package of ``program``."""
    nodes = _tree(program.endpoints)
    return {
        _path(parts, node): _render_node(program, node) for parts, node in sorted(nodes.items())
    }


#: The entry point ``lexforge.codegen.emit.emit_all`` looks up.
emit = emit_clients

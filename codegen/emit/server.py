"""Emit Starlette server bindings from the IR.

Output layout (paths relative to the output root, modules under ``<package>.server``):

* ``server/__init__.py``: ``BINDINGS`` (NSID -> binding module), ``create_app(handlers,
  auth=..., limits=...)`` returning a Starlette app, and ``build_routes(...)`` for mounting
  into an existing app. Both are thin calls into ``lexforge.runtime.xrpc.app``;
* ``server/<nsid path>.py`` per method (``server/com/atproto/repo/get_record.py``):
  ``BINDING``, a ``Query`` / ``Procedure`` / ``Subscription`` naming the generated models,
  encodings and declared errors, and ``Handler``, the typed handler interface (a
  ``Protocol`` with positional-only parameters, so any handler whose signature matches
  the scaffold convention satisfies it);
* an ``__init__.py`` for every package in between.

Binding modules are imported only for methods that have a handler, so a server that
implements ten methods does not load the models of three hundred.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath

from lexforge.codegen.emit.text import docstring, header
from lexforge.codegen.emit.xrpc_common import (
    MESSAGE_TYPES,
    EmitError,
    ImportSet,
    dict_entry,
    literal,
    models_import,
    render_template,
    tuple_arg,
)
from lexforge.codegen.ir import EndpointIR, ModuleIR, ProgramIR

__all__ = ["emit", "emit_server"]

_XRPC = "lexforge.runtime.xrpc"
_BINDING_CLASS = {"query": "Query", "procedure": "Procedure", "subscription": "Subscription"}


def _handler_signature(
    endpoint: EndpointIR, module: str, imports: ImportSet
) -> tuple[str, list[str], str]:
    """(def keyword, parameters, return annotation) of ``Handler.__call__``."""
    params = ["self", "ctx: XrpcContext"]
    if endpoint.params is not None:
        params.append(f"params: {module}.{endpoint.params.name}")
    if endpoint.input is not None:
        body = endpoint.input
        params.append(f"input: {module}.{body.model}" if body.model else "input: bytes")
    params.append("/")
    if endpoint.kind == "subscription":
        assert endpoint.message is not None
        imports.add("collections.abc", "AsyncIterator")
        return "def", params, f"AsyncIterator[{module}.{endpoint.message.name}]"
    if endpoint.output is None:
        returns = "None"
    elif endpoint.output.model is None:
        imports.add(_XRPC, "RawOutput")
        returns = "RawOutput"
    else:
        returns = f"{module}.{endpoint.output.model}"
    return "async def", params, returns


def _binding_args(endpoint: EndpointIR, module: str, imports: ImportSet) -> list[str]:
    args = [f"nsid={module}.NSID,"]
    if endpoint.params is not None:
        args.append(f"params={module}.{endpoint.params.name},")
    if endpoint.input is not None:
        if endpoint.input.model is not None:
            args.append(f"input={module}.{endpoint.input.model},")
        args.append(f"input_encoding={literal(endpoint.input.encoding)},")
    if endpoint.output is not None:
        if endpoint.output.model is not None:
            args.append(f"output={module}.{endpoint.output.model},")
        args.append(f"output_encoding={literal(endpoint.output.encoding)},")
    if endpoint.message is not None:
        args.append(f"messages={module}.{MESSAGE_TYPES},")
    if endpoint.errors:
        names = [f"{module}.{e.class_name}" for e in endpoint.errors]
        args += [line[4:] for line in tuple_arg(4, "errors", names)]
    return args


def _binding_module(program: ProgramIR, endpoint: EndpointIR, source: ModuleIR | None) -> str:
    imports = ImportSet(first_party=program.package)
    imports.add("__future__", "annotations")
    imports.add("typing", "Protocol")
    imports.add(_XRPC, "XrpcContext")
    binding_class = _BINDING_CLASS[endpoint.kind]
    imports.add(_XRPC, binding_class)
    parent, module = models_import(endpoint.module)
    imports.add_module(parent, module)
    keyword, params, returns = _handler_signature(endpoint, module, imports)
    args = _binding_args(endpoint, module, imports)
    text = f"Server binding of the XRPC {endpoint.kind} ``{endpoint.nsid}``."
    if endpoint.description:
        text += f"\n\n{endpoint.description}"
    return render_template(
        "server/binding.py.j2",
        header=header(source.source if source else None, endpoint.nsid),
        module_doc="\n".join(docstring(text, 0)),
        imports=imports.render(),
        handler_doc="\n".join(
            docstring("The handler signature ``create_app`` expects for this method.", 4)
        ),
        keyword=keyword,
        params=params,
        returns=returns,
        binding_class=binding_class,
        binding_args=args,
    )


def _binding_path(endpoint: EndpointIR) -> PurePosixPath:
    *packages, name = endpoint.module_parts
    return PurePosixPath("server", *packages, f"{name}.py")


def _server_init(program: ProgramIR) -> str:
    entries: list[str] = []
    for endpoint in sorted(program.endpoints, key=lambda e: e.nsid):
        module = "." + ".".join(endpoint.module_parts)
        entries += dict_entry(4, json.dumps(endpoint.nsid), json.dumps(module))
    return render_template(
        "server/init.py.j2",
        header=header(),
        entries=entries,
    )


def _package_init(dotted: str) -> str:
    return render_template(
        "server/package.py.j2",
        header=header(),
        module_doc="\n".join(docstring(f"Server bindings of the ``{dotted}.*`` methods.", 0)),
    )


def emit_server(program: ProgramIR) -> dict[PurePosixPath, str]:
    """``{relative path: source}`` for the server package of ``program``."""
    sources = {m.nsid: m for m in program.modules}
    files: dict[PurePosixPath, str] = {
        PurePosixPath("server", "__init__.py"): _server_init(program)
    }
    for endpoint in program.endpoints:
        files[_binding_path(endpoint)] = _binding_module(
            program, endpoint, sources.get(endpoint.nsid)
        )
        packages = endpoint.module_parts[:-1]
        for depth in range(1, len(packages) + 1):
            path = PurePosixPath("server", *packages[:depth], "__init__.py")
            if path not in files:
                files[path] = _package_init(".".join(packages[:depth]))
    for path in files:
        if path.name != "__init__.py" and path.with_suffix("") / "__init__.py" in files:
            raise EmitError(f"{path} is both a method module and a package")
    return dict(sorted(files.items()))


#: The entry point ``lexforge.codegen.emit.emit_all`` looks up.
emit = emit_server

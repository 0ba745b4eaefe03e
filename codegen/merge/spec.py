"""``HandlerSpec``: everything the handler renderer and merge need to know about a method.

A handler module is hand-owned code, so the renderer must not depend on the whole IR;
this small value is the contract between the compiler (``EndpointIR``) and the
scaffold/merge stage. ``handler_spec_from_endpoint`` is the only place that reads the IR.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Literal, TypeAlias

if TYPE_CHECKING:
    from lexforge.codegen.ir import BodyIR, EndpointIR, ProgramIR

__all__ = [
    "RAW_OUTPUT",
    "RESERVED_NAMES",
    "HandlerKind",
    "HandlerSpec",
    "TypeRef",
    "handler_spec_from_endpoint",
    "handler_specs_from_program",
]

HandlerKind: TypeAlias = Literal["query", "procedure", "subscription"]

#: Names a handler module binds itself; a models module alias must not shadow them.
RESERVED_NAMES: frozenset[str] = frozenset(
    {
        "AsyncIterator",
        "MethodNotImplemented",
        "NSID",
        "RawOutput",
        "XrpcContext",
        "ctx",
        "handle",
        "input",
        "params",
    }
)


@dataclass(frozen=True, slots=True, order=True)
class TypeRef:
    """A type named in a handler signature.

    ``module`` is the dotted module that defines ``name``; ``None`` means a builtin
    (``bytes``). A name from the method's own models module is written qualified by
    the module alias (``get_record.Output``); any other is imported by name.
    """

    name: str
    module: str | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or keyword.iskeyword(self.name):
            raise ValueError(f"not a Python identifier: {self.name!r}")
        if self.module is not None and not _is_dotted_name(self.module):
            raise ValueError(f"not a dotted module name: {self.module!r}")


@dataclass(frozen=True, slots=True)
class HandlerSpec:
    """One XRPC method as its hand-written handler module sees it.

    ``module_parts`` is the handler module path below the handler folder, the same
    snake_case path as the generated models module below its ``models`` package
    (``("com", "atproto", "repo", "get_record")``). ``models_module`` is the dotted
    generated module defining ``Params``/``Input``/``Output``/``Message``.
    ``params`` is ``None`` when the method declares no parameters, ``input`` is set
    only for procedures with a body, ``output`` ``None`` when there is no output and
    ``message`` set only for subscriptions. ``description`` is the method's Lexicon
    description and ``document_description`` the document's own, if any.
    """

    nsid: str
    kind: HandlerKind
    module_parts: tuple[str, ...]
    models_module: str
    params: TypeRef | None = None
    input: TypeRef | None = None
    output: TypeRef | None = None
    message: TypeRef | None = None
    description: str | None = None
    document_description: str | None = None
    errors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.module_parts or not all(
            p.isidentifier() and not keyword.iskeyword(p) for p in self.module_parts
        ):
            raise ValueError(f"{self.nsid}: bad handler module path {self.module_parts!r}")
        if not _is_dotted_name(self.models_module):
            raise ValueError(f"{self.nsid}: bad models module {self.models_module!r}")
        if self.kind == "subscription":
            if self.message is None:
                raise ValueError(f"{self.nsid}: a subscription needs a message type")
            if self.input is not None or self.output is not None:
                raise ValueError(f"{self.nsid}: a subscription has no input or output")
        elif self.message is not None:
            raise ValueError(f"{self.nsid}: only subscriptions have a message type")
        if self.kind == "query" and self.input is not None:
            raise ValueError(f"{self.nsid}: a query has no input")

    @property
    def relative_path(self) -> PurePosixPath:
        """The handler file below the handler folder (``com/atproto/repo/get_record.py``)."""
        *packages, name = self.module_parts
        return PurePosixPath(*packages, f"{name}.py")

    @property
    def models_alias(self) -> str:
        """The name the handler binds the models module to.

        The module's own name (``get_record``), unless that would shadow a name the
        handler binds itself (a method literally called ``handle``); then with a
        ``_models`` suffix.
        """
        name = self.models_module.rpartition(".")[2]
        return f"{name}_models" if name in RESERVED_NAMES else name


def _is_dotted_name(text: str) -> bool:
    return all(p.isidentifier() and not keyword.iskeyword(p) for p in text.split("."))


#: The return type of a raw-output handler (bytes or a chunk stream).
RAW_OUTPUT = TypeRef("RawOutput", "lexforge.runtime.xrpc")


def _body_type(endpoint: EndpointIR, body: BodyIR) -> TypeRef:
    if body.model is None:
        return TypeRef("bytes")
    return TypeRef(body.model, endpoint.module)


def _output_type(endpoint: EndpointIR, body: BodyIR) -> TypeRef:
    """A raw output may be bytes or a chunk stream: the runtime's ``RawOutput``."""
    if body.model is None:
        return RAW_OUTPUT
    return TypeRef(body.model, endpoint.module)


def handler_spec_from_endpoint(
    endpoint: EndpointIR, *, document_description: str | None = None
) -> HandlerSpec:
    """The handler view of a compiled method.

    Raw inputs (no schema, or not JSON) are ``bytes``, raw outputs ``RawOutput`` (bytes
    or a stream of chunks). The document description lives on ``ModuleIR`` rather than
    ``EndpointIR``; pass it when you have it.
    """
    params = TypeRef(endpoint.params.name, endpoint.module) if endpoint.params else None
    message = TypeRef(endpoint.message.name, endpoint.module) if endpoint.message else None
    return HandlerSpec(
        nsid=endpoint.nsid,
        kind=endpoint.kind,
        module_parts=endpoint.module_parts,
        models_module=endpoint.module,
        params=params,
        input=_body_type(endpoint, endpoint.input) if endpoint.input else None,
        output=_output_type(endpoint, endpoint.output) if endpoint.output else None,
        message=message,
        description=endpoint.description,
        document_description=document_description,
        errors=tuple(e.class_name for e in endpoint.errors),
    )


def handler_specs_from_program(program: ProgramIR) -> list[HandlerSpec]:
    """The handler view of every method of a compilation, sorted by NSID.

    Unlike ``EndpointIR`` alone, the program also knows each document's own description
    (the module docstring of its handler).
    """
    descriptions = {m.nsid: m.description for m in program.modules}
    return [
        handler_spec_from_endpoint(e, document_description=descriptions.get(e.nsid))
        for e in sorted(program.endpoints, key=lambda e: e.nsid)
    ]

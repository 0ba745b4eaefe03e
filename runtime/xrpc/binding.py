"""Descriptions of XRPC methods, as generated server bindings declare them.

A generated binding module holds one of these (``BINDING = Query(...)``) naming the
method's generated models; :mod:`.server` turns it plus a handler into a route. They are
plain data: no Starlette here, so anything may inspect them.

Body conventions (from the compiler's IR): ``input``/``output`` is the JSON schema (a
model class or, for a ``union`` body, a type alias); it is ``None`` with an encoding set
for a raw body (``bytes``), and the encoding is ``None`` when the method has no body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Literal, TypeAlias

from pydantic import BaseModel

from lexforge.runtime.syntax import is_valid_nsid
from lexforge.runtime.xrpc.errors import XrpcDeclaredError, XrpcSetupError

__all__ = ["Binding", "Procedure", "Query", "Subscription"]


def _check_nsid(nsid: str) -> None:
    if not is_valid_nsid(nsid):
        raise XrpcSetupError(f"not an NSID: {nsid!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Query:
    """A Lexicon ``query``: HTTP GET, parameters, optional output."""

    kind: ClassVar[Literal["query"]] = "query"
    http_method: ClassVar[str] = "GET"

    nsid: str
    params: type[BaseModel] | None = None
    output: Any = None
    output_encoding: str | None = None
    errors: tuple[type[XrpcDeclaredError], ...] = ()

    def __post_init__(self) -> None:
        _check_nsid(self.nsid)
        if self.output is not None and self.output_encoding is None:
            raise XrpcSetupError(f"{self.nsid}: an output schema needs an encoding")


@dataclass(frozen=True, slots=True, kw_only=True)
class Procedure:
    """A Lexicon ``procedure``: HTTP POST, parameters, optional input and output."""

    kind: ClassVar[Literal["procedure"]] = "procedure"
    http_method: ClassVar[str] = "POST"

    nsid: str
    params: type[BaseModel] | None = None
    input: Any = None
    input_encoding: str | None = None
    output: Any = None
    output_encoding: str | None = None
    errors: tuple[type[XrpcDeclaredError], ...] = ()

    def __post_init__(self) -> None:
        _check_nsid(self.nsid)
        if self.output is not None and self.output_encoding is None:
            raise XrpcSetupError(f"{self.nsid}: an output schema needs an encoding")
        if self.input is not None and self.input_encoding is None:
            raise XrpcSetupError(f"{self.nsid}: an input schema needs an encoding")


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscription:
    """A Lexicon ``subscription``: WebSocket, parameters, frames of ``messages``.

    ``messages`` maps a frame type (``#commit``, or ``nsid#name`` for a def of another
    Lexicon) to its message model.
    """

    kind: ClassVar[Literal["subscription"]] = "subscription"
    http_method: ClassVar[str] = "GET"

    nsid: str
    params: type[BaseModel] | None = None
    messages: Mapping[str, Any] = field(default_factory=dict)
    errors: tuple[type[XrpcDeclaredError], ...] = ()

    def __post_init__(self) -> None:
        _check_nsid(self.nsid)
        if not self.messages:
            raise XrpcSetupError(f"{self.nsid}: a subscription needs message types")
        object.__setattr__(self, "messages", MappingProxyType(dict(self.messages)))

    def frame_type(self, message: object) -> str | None:
        """The frame type ``t`` for a message instance (``None`` if not a member)."""
        for t, schema in self.messages.items():
            if isinstance(schema, type) and isinstance(message, schema):
                return t
        return None


Binding: TypeAlias = Query | Procedure | Subscription

"""Query-string parameters: encoding on the client, decoding on the server.

Lexicon ``params`` hold booleans, integers, strings and arrays of those. On the wire
(spec/xrpc.md §2) arrays repeat the key (``?cids=a&cids=b``), booleans are ``true`` /
``false`` and integers are decimal. Both directions work from the generated ``Params``
model alone: the kind of each parameter comes from its annotation, so generated code
carries no per-parameter tables.
"""

from __future__ import annotations

import functools
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from lexforge.runtime.xrpc.errors import XrpcBadRequest

__all__ = [
    "ParamKind",
    "ParamSpec",
    "decode_params",
    "describe_validation_error",
    "encode_params",
    "param_specs",
    "validate_params",
]

ParamKind = Literal["string", "integer", "boolean"]
M = TypeVar("M", bound=BaseModel)

#: Decimal integers; 20 characters cover every signed 64-bit value.
_INTEGER = re.compile(r"-?[0-9]{1,19}")


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """How one parameter travels: its query key, scalar kind and whether it repeats."""

    name: str
    key: str
    kind: ParamKind
    array: bool


def encode_params(params: BaseModel | Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The query items for ``params`` (wire names; ``None`` values left out).

    Defaults are sent explicitly (clients SHOULD, for cache consistency): a model
    dumps every field, including the ones left at their default.
    """
    if params is None:
        return []
    if isinstance(params, BaseModel):
        # Defaults too (exclude_unset=False): clients SHOULD send them explicitly.
        values = params.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude_unset=False
        )
    else:
        values = dict(params)
    items: list[tuple[str, str]] = []
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            items.extend((key, _encode_scalar(key, v)) for v in value if v is not None)
        else:
            items.append((key, _encode_scalar(key, value)))
    return items


def _encode_scalar(key: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    raise TypeError(f"query parameter {key!r} cannot carry a {type(value).__name__}")


def validate_params(model: type[M], values: Mapping[str, object]) -> M:
    """Build ``Params`` on the client from keyword arguments; ``None`` means "not given".

    Generated client methods call this: optional Lexicon parameters default to ``None``
    in their signatures, but a model field may refuse an explicit ``null``, so absent
    values are left out rather than passed. Raises :class:`pydantic.ValidationError`.
    """
    return model.model_validate({k: v for k, v in values.items() if v is not None})


def decode_params(model: type[M], items: Iterable[tuple[str, str]]) -> M:
    """Decode query items into ``model``, raising 400 ``InvalidRequest`` on bad input.

    Unknown keys are ignored; a repeated key for a non-array parameter, a boolean other
    than ``true``/``false`` or a non-decimal integer is refused before the model
    validates ranges, lengths and formats.
    """
    specs = param_specs(model)
    by_key = {spec.key: spec for spec in specs}
    raw: dict[str, list[str]] = {}
    for key, value in items:
        if key == "__proto__":
            raise XrpcBadRequest("Invalid query parameter name: __proto__")
        if key in by_key:
            raw.setdefault(key, []).append(value)
    data: dict[str, object] = {}
    for key, values in raw.items():
        spec = by_key[key]
        if spec.array:
            data[key] = [_decode_scalar(spec, v) for v in values]
        elif len(values) > 1:
            raise XrpcBadRequest(f"Parameter {key!r} must not be repeated")
        else:
            data[key] = _decode_scalar(spec, values[0])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise XrpcBadRequest(describe_validation_error("Invalid parameters", exc)) from None


def _decode_scalar(spec: ParamSpec, value: str) -> object:
    if spec.kind == "boolean":
        if value == "true":
            return True
        if value == "false":
            return False
        raise XrpcBadRequest(f"Parameter {spec.key!r} must be 'true' or 'false'")
    if spec.kind == "integer":
        if _INTEGER.fullmatch(value) is None:
            raise XrpcBadRequest(f"Parameter {spec.key!r} must be an integer")
        return int(value)
    return value


def describe_validation_error(prefix: str, exc: ValidationError) -> str:
    """A one-line message for a pydantic error that never echoes the input value."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:3]:
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - len(parts)
    suffix = f" (and {more} more)" if more > 0 else ""
    return f"{prefix}: {'; '.join(parts)}{suffix}"


@functools.cache
def param_specs(model: type[BaseModel]) -> tuple[ParamSpec, ...]:
    """The :class:`ParamSpec` of every field of a ``Params`` model (cached per class)."""
    specs = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        array, kind = _kind_of(info.annotation)
        specs.append(ParamSpec(name=name, key=key, kind=kind, array=array))
    return tuple(specs)


def _kind_of(annotation: object) -> tuple[bool, ParamKind]:
    annotation = _strip(annotation)
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, Sequence, set, frozenset):
        args = typing.get_args(annotation)
        return True, _scalar_kind(_strip(args[0]) if args else str)
    return False, _scalar_kind(annotation)


def _scalar_kind(annotation: object) -> ParamKind:
    if annotation is bool:
        return "boolean"
    if isinstance(annotation, type) and issubclass(annotation, int) and annotation is not bool:
        return "integer"
    if typing.get_origin(annotation) is Literal:
        values = typing.get_args(annotation)
        if values and all(isinstance(v, bool) for v in values):
            return "boolean"
        if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return "integer"
    return "string"


def _strip(annotation: object) -> object:
    """Remove ``Annotated`` and ``None`` from an annotation (``int | None`` -> ``int``)."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
            kinds = {_scalar_kind(_strip(m)) for m in members}
            if len(kinds) != 1:
                return str
            return {"boolean": bool, "integer": int}.get(kinds.pop(), str)
        return annotation

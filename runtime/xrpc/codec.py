"""Bodies and models: strict JSON in, validated models out, and back.

The body schemas of generated methods are model classes (``Input``, ``Output``) or, for
a ``union`` body, a type alias; :func:`validate` accepts either. JSON is read with the
data model's strict reader (duplicate keys, NaN, unsafe integers, lone surrogates and
deep nesting are refused before any model sees the value) and written canonically.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter

from lexforge.runtime.data.json import dumps_json, loads_json

__all__ = ["dump_json", "parse_json", "to_data", "validate"]


def parse_json(raw: bytes) -> Any:
    """Parse a JSON body into data-model values; it must be an object.

    Raises :class:`~lexforge.runtime.data.errors.DataModelError` on bad input.
    """
    return loads_json(raw, require_object=True)


@functools.cache
def _adapter(schema: Any) -> TypeAdapter[Any]:
    return TypeAdapter(schema)


def validate(schema: Any, value: Any) -> Any:
    """Validate ``value`` (data-model values or an instance) against a body schema.

    Raises :class:`pydantic.ValidationError`.
    """
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema.model_validate(value)
    return _adapter(schema).validate_python(value)


def to_data(value: Any) -> Any:
    """A model (or mapping of models) as data-model values: wire names, unset fields left
    out (generated models define ``to_data()``, which does exactly that)."""
    if isinstance(value, BaseModel):
        dump = getattr(value, "to_data", None)
        if callable(dump):
            return dump()
        return value.model_dump(mode="python", by_alias=True, exclude_unset=True)
    if isinstance(value, Mapping):
        return {key: to_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_data(item) for item in value]
    return value


def dump_json(value: Any) -> bytes:
    """Serialise a model or data-model value as compact UTF-8 JSON."""
    return dumps_json(to_data(value)).encode("utf-8")

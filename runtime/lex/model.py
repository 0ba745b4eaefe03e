"""Base classes of generated models and the ``$type`` union machinery.

``LexModel`` configures every generated model once:

* ``strict=True``: no coercion (``"12"`` is not an integer, ``1.0`` is not an integer,
  ``True`` is not an integer);
* ``extra="allow"``: unknown fields are kept (as data-model values) and written back,
  so records written by newer software survive a round trip;
* ``validate_by_name`` and ``validate_by_alias``: build with ``created_at=`` or
  ``createdAt=``; ``serialize_by_alias``: always write wire names;
* ``defer_build=True``: a model's validator is built on first use, so importing a
  module (or a package of 400) builds nothing it does not need.

Serialising writes what was read: ``model_dump``/``model_dump_json`` default to
``exclude_unset=True``, so absent fields stay absent (defaults are for reading; they
are never injected into stored data) and a JSON -> model -> JSON or DAG-CBOR -> model
-> DAG-CBOR round trip is lossless. Records always carry ``$type``; union members get
theirs added when missing (a model built in Python and placed in a union). Use
``to_json()`` for the JSON form and ``to_data()`` for the data-model form that
``lexforge.runtime.data.encode`` turns into DAG-CBOR.

Unions: ``union(...)`` builds the discriminator for a ``$type`` union. Each member is
tagged with its ``$type``; an open union also has an ``UnknownObject`` member tagged
``UNKNOWN_TAG`` that keeps any other ``$type`` as data. Data without ``$type`` is not a
union member.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    SerializerFunctionWrapHandler,
    Tag,
    model_serializer,
)
from pydantic_core import core_schema

from lexforge.runtime.lex.values import DataValue

__all__ = [
    "UNKNOWN_TAG",
    "LexModel",
    "LexRecord",
    "TypedUnion",
    "union",
]

#: Tag of the ``UnknownObject`` member of an open union (not a valid NSID, so it can
#: never clash with a real ``$type``).
UNKNOWN_TAG = "*"


class LexModel(BaseModel):
    """Base of every generated model (see the module docstring)."""

    model_config = ConfigDict(
        strict=True,
        extra="allow",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        defer_build=True,
        protected_namespaces=(),
    )

    __pydantic_extra__: dict[str, DataValue]

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        """``BaseModel.model_dump`` with ``exclude_unset=True`` unless told otherwise."""
        kwargs.setdefault("exclude_unset", True)
        return super().model_dump(**kwargs)

    def model_dump_json(self, **kwargs: Any) -> str:
        """``BaseModel.model_dump_json`` with ``exclude_unset=True`` unless told otherwise."""
        kwargs.setdefault("exclude_unset", True)
        return super().model_dump_json(**kwargs)

    def to_json(self) -> dict[str, Any]:
        """The atproto JSON form (``$link``, ``$bytes``, wire names), as read."""
        return self.model_dump(mode="json")

    def to_data(self) -> dict[str, Any]:
        """The data-model form (``CID``, ``bytes``), ready for DAG-CBOR encoding."""
        return self.model_dump(mode="python")


def _with_type(data: Any, type_tag: object) -> Any:
    if isinstance(data, dict) and "$type" not in data and isinstance(type_tag, str):
        return {"$type": type_tag, **data}
    return data


class LexRecord(LexModel):
    """Base of generated ``Record`` classes: serialised data always carries ``$type``
    (the default of the generated ``py_type`` field, the record's NSID)."""

    @model_serializer(mode="wrap")
    def _serialize_with_type(self, handler: SerializerFunctionWrapHandler) -> Any:
        return _with_type(handler(self), getattr(self, "py_type", None))


def _member_type(value: object) -> object:
    if type(value) is dict or isinstance(value, Mapping):  # exact dict first: no ABC check
        return value.get("$type")
    return getattr(value, "py_type", None)


def _serialize_member(value: Any, handler: SerializerFunctionWrapHandler) -> Any:
    return _with_type(handler(value), _member_type(value))


@dataclass(frozen=True, slots=True)
class TypedUnion:
    """``Annotated`` metadata for a ``$type`` union: tagged-union validation plus ``$type``
    on serialisation. Build it with ``union(...)``."""

    tags: frozenset[str]
    closed: bool

    def tag(self, value: object) -> str | None:
        """The member tag for ``value``; ``None`` means "not a member" (an error)."""
        type_tag = _member_type(value)
        if not isinstance(type_tag, str):
            return None
        if type_tag in self.tags:
            return type_tag
        return None if self.closed else UNKNOWN_TAG

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # Built here rather than with pydantic's Discriminator: that one needs at least
        # two members, and a closed one-member union is a valid Lexicon union.
        origin = typing.get_origin(source)
        choices: dict[Hashable, core_schema.CoreSchema] = {}
        if origin not in (Union, types.UnionType):
            # One member: ``Annotated[Annotated[X, Tag(t)], union(t)]`` flattens to
            # ``Annotated[X, Tag(t), union(t)]``, so ``source`` is ``X`` itself.
            only = next(iter(self.tags)) if self.tags else UNKNOWN_TAG
            choices[only] = handler(source)
        for member in typing.get_args(source) if not choices else ():
            tags = [m.tag for m in getattr(member, "__metadata__", ()) if isinstance(m, Tag)]
            if len(tags) != 1:
                raise TypeError(f"union member {member!r} needs exactly one Tag(...)")
            choices[tags[0]] = handler.generate_schema(typing.get_args(member)[0])
        expected = ", ".join(sorted(self.tags)) or "any"
        message = (
            f"a union member needs a $type among: {expected}"
            if self.closed
            else "a union member needs a $type"
        )
        return core_schema.tagged_union_schema(
            choices,
            self.tag,
            custom_error_type="lex_union",
            custom_error_message=message,
            serialization=core_schema.wrap_serializer_function_ser_schema(_serialize_member),
        )


def union(*tags: str, closed: bool = False) -> TypedUnion:
    """Metadata for a union of the members tagged ``tags`` (their ``$type`` values)."""
    return TypedUnion(frozenset(tags), closed)

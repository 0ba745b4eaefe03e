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

import functools
import types
import typing
from collections.abc import Callable, Hashable, Mapping
from typing import Any, ClassVar, NamedTuple, Self, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    SerializerFunctionWrapHandler,
    Tag,
    model_serializer,
)
from pydantic.config import ExtraValues
from pydantic_core import SchemaValidator, ValidationError, core_schema

from lexforge.runtime.lex.accel import accelerator
from lexforge.runtime.lex.fast import build_fast_validator, with_fast_form
from lexforge.runtime.lex.values import DataValue, UnknownObject

_models = accelerator("_models")
_FastEntry: Any = None if _models is None else _models.FastEntry

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


def _fast_validator(cls: type[LexModel]) -> SchemaValidator:
    """``cls``'s fast validator, built on first use (subclasses get their own)."""
    owner, validator = cls.__lexforge_fast__
    if owner is not cls or validator is None:
        if not cls.__pydantic_complete__:
            cls.model_rebuild()  # what pydantic does on first use (defer_build)
        validator = build_fast_validator(cls.__pydantic_core_schema__)
        cls.__lexforge_fast__ = (cls, validator)
        _specialize(cls, validator)
    return validator


def _specialize(cls: type[LexModel], fast: SchemaValidator) -> None:
    """Give ``cls`` its own ``model_validate``/``model_validate_json`` bound to its
    fast validator: the generic ones cost a class-attribute lookup and a keyword
    signature per call, a tenth of a small record's validation. Same behaviour: any
    option, or a subclass, takes the generic path; a failure re-runs the full
    validator, whose error is raised. With the C accelerator each is a ``FastEntry``
    (``runtime/lex/_models.c``), which also saves the bound method and the frame."""
    full = cls.__pydantic_validator__
    generic_python: Any = LexModel.__dict__["model_validate"].__func__
    generic_json: Any = LexModel.__dict__["model_validate_json"].__func__
    pairs = (
        (fast.validate_python, full.validate_python, generic_python),
        (fast.validate_json, full.validate_json, generic_json),
    )
    for fast_method, full_method, generic in pairs:
        function: Any
        entry: Any
        if _FastEntry is not None:
            entry = function = _FastEntry(cls, fast_method, full_method, generic, ValidationError)
        else:
            function = _entry_function(cls, fast_method, full_method, generic)
            entry = classmethod(function)
        functools.update_wrapper(function, generic)
        if _FastEntry is not None:
            # Not bound like a classmethod: signature and help() of the bound one.
            function.__wrapped__ = getattr(LexModel, generic.__name__)
        function.__lexforge_specialized__ = True
        type.__setattr__(cls, generic.__name__, entry)


def _entry_function(cls: type[LexModel], fast_method: Any, full_method: Any, generic: Any) -> Any:
    """The pure-Python ``FastEntry`` (without the C accelerator): the same dispatch."""

    def entry(klass: Any, obj: Any, /, **options: Any) -> Any:
        if klass is cls and not options:
            try:
                return fast_method(obj)
            except ValidationError:
                return full_method(obj)
        return generic(klass, obj, **options)

    return entry


def _forget_fast(cls: type[LexModel]) -> None:
    """Drop ``cls``'s fast validator and specialised methods (after a schema rebuild)."""
    if "__lexforge_fast__" in cls.__dict__:
        type.__setattr__(cls, "__lexforge_fast__", (None, None))
    for name in ("model_validate", "model_validate_json"):
        method = cls.__dict__.get(name)
        if getattr(getattr(method, "__func__", method), "__lexforge_specialized__", False):
            type.__delattr__(cls, name)


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

    #: (class, its fast validator) once built; a subclass sees its parent's entry, so
    #: the class is checked (see ``lexforge.runtime.lex.fast``).
    __lexforge_fast__: ClassVar[tuple[type[BaseModel] | None, SchemaValidator | None]] = (
        None,
        None,
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Complete generated bases before pydantic collects their fields.

        A generated model builds on first use (``defer_build``), its annotations naming
        things of its own module (``Omittable``, other lexicons' modules). A user's
        subclass, rebuilt later in *its* module's namespace, could not resolve the
        inherited annotations of a base that was never built: building the base first
        resolves them where they were written.
        """
        super().__init_subclass__(**kwargs)
        for base in cls.__mro__[1:]:
            if base.__module__ == __name__ or not issubclass(base, LexModel):
                continue  # the hand-written bases here have no fields to resolve
            if base.__dict__.get("__pydantic_complete__") is False:
                base.model_rebuild()

    @classmethod
    def model_rebuild(
        cls,
        *,
        force: bool = False,
        raise_errors: bool = True,
        _parent_namespace_depth: int = 2,
        _types_namespace: Mapping[str, Any] | None = None,
    ) -> bool | None:
        """``BaseModel.model_rebuild``; a model rebuilt drops its fast validator, which is
        built again from the new schema when next used."""
        rebuilt = super().model_rebuild(
            force=force,
            raise_errors=raise_errors,
            # This frame sits between the caller and pydantic's namespace lookup.
            _parent_namespace_depth=_parent_namespace_depth + 1 if _parent_namespace_depth else 0,
            _types_namespace=_types_namespace,
        )
        if rebuilt:
            _forget_fast(cls)
        return rebuilt

    @classmethod
    def model_validate(
        cls,
        obj: Any,
        *,
        strict: bool | None = None,
        extra: ExtraValues | None = None,
        from_attributes: bool | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> Self:
        """``BaseModel.model_validate``, through the fast validator first.

        Same result, same errors: when the fast validator fails, the full one runs and
        raises (see ``lexforge.runtime.lex.fast``). Options other than ``context`` go
        straight to the full validator.
        """
        owner, fast = cls.__lexforge_fast__
        if owner is not cls or fast is None:
            fast = _fast_validator(cls)
        if (
            strict is None
            and extra is None
            and from_attributes is None
            and by_alias is None
            and by_name is None
        ):
            try:
                if context is None:
                    model: Self = fast.validate_python(obj)
                else:
                    model = fast.validate_python(obj, context=context)
            except ValidationError:
                pass
            else:
                return model
        return super().model_validate(
            obj,
            strict=strict,
            extra=extra,
            from_attributes=from_attributes,
            context=context,
            by_alias=by_alias,
            by_name=by_name,
        )

    @classmethod
    def model_validate_json(
        cls,
        json_data: str | bytes | bytearray,
        *,
        strict: bool | None = None,
        extra: ExtraValues | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> Self:
        """``BaseModel.model_validate_json``, through the fast validator first (see
        ``model_validate``)."""
        owner, fast = cls.__lexforge_fast__
        if owner is not cls or fast is None:
            fast = _fast_validator(cls)
        if strict is None and extra is None and by_alias is None and by_name is None:
            try:
                if context is None:
                    model: Self = fast.validate_json(json_data)
                else:
                    model = fast.validate_json(json_data, context=context)
            except ValidationError:
                pass
            else:
                return model
        return super().model_validate_json(
            json_data,
            strict=strict,
            extra=extra,
            context=context,
            by_alias=by_alias,
            by_name=by_name,
        )

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


class TypedUnion(NamedTuple):
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
        full = core_schema.tagged_union_schema(
            choices,
            _discriminator(self.tags, self.closed),
            custom_error_type="lex_union",
            custom_error_message=message,
            serialization=core_schema.wrap_serializer_function_ser_schema(_serialize_member),
        )
        return with_fast_form(full, lambda transform: self._fast_form(choices, transform))

    def _fast_form(
        self,
        choices: dict[Hashable, core_schema.CoreSchema],
        transform: Callable[[Any], Any],
    ) -> core_schema.CoreSchema:
        """Dispatch on the ``$type`` key in Rust; an open union's other ``$type`` values
        go to ``UnknownObject`` (anything else: the full validator decides)."""
        known = {tag: transform(s) for tag, s in choices.items() if tag != UNKNOWN_TAG}
        unknown = None
        if not self.closed:
            unknown = core_schema.no_info_plain_validator_function(_unknown_member(self.tags))
        if not known:
            assert unknown is not None  # a closed union lists at least one member
            return unknown
        tagged = core_schema.tagged_union_schema(known, "$type")
        if unknown is None:
            return tagged
        return core_schema.union_schema([tagged, unknown], mode="left_to_right")


def _discriminator(tags: frozenset[str], closed: bool) -> Callable[[object], str | None]:
    """``TypedUnion.tag`` as one closure (called by pydantic-core for every value)."""
    get_type = _member_type

    def tag(value: object) -> str | None:
        type_tag = value.get("$type") if type(value) is dict else get_type(value)
        if type(type_tag) is not str and not isinstance(type_tag, str):
            return None
        if type_tag in tags:
            return type_tag
        return None if closed else UNKNOWN_TAG

    return tag


def _unknown_member(tags: frozenset[str]) -> Callable[[object], UnknownObject]:
    """The fast validator's open-union member for a ``$type`` the union does not list."""
    from lexforge.runtime.lex.datamodel import validate_unknown  # noqa: PLC0415

    def unknown(value: object) -> UnknownObject:
        if type(value) is dict:
            type_tag = value.get("$type")
            if type(type_tag) is str and type_tag not in tags:
                return UnknownObject(validate_unknown(value))
        raise ValueError("left to the full validator")

    return unknown


def union(*tags: str, closed: bool = False) -> TypedUnion:
    """Metadata for a union of the members tagged ``tags`` (their ``$type`` values)."""
    return TypedUnion(frozenset(tags), closed)

"""The fast validator of a generated model: the same rules, decided in Rust where it can.

Every generated model has two validators over one set of rules:

* the **full** validator, pydantic's own ``__pydantic_validator__``, built from the
  model's core schema: every check, with this package's precise error types and
  messages. Whatever is not a ``LexModel`` entry point (a ``TypeAdapter``, a model
  nested in a user's own pydantic model, ``Model(**fields)``) uses it;
* the **fast** validator, built here on first use from the same core schema, which
  ``LexModel.model_validate`` / ``model_validate_json`` try first. Schema nodes that
  carry a fast form (see ``prefer_fast``) are replaced by it: a string format becomes a
  pydantic-core ``pattern`` whose instance is built by a C ``StrMaker`` called from
  Rust; string limits become code-point bounds that decide the common case without
  counting bytes or graphemes; a blob is checked and built by one C callable
  (``runtime/lex/_values.c``); a ``$type`` union dispatches on the key in Rust; JSON
  ``unknown`` content is checked against the data model by a schema per nesting level
  (``lexforge.runtime.lex.datamodel``);
  and a model's fields are validated as a typed dict whose output a C builder turns
  into the instance pydantic-core would have made (``_model_form``).

Each fast form is ``union(fast, full)`` (left to right): a value the fast form does not
take is handed to the full form's own check, so the fast validator accepts exactly what
the full one accepts and builds the same values (each fast form accepts a subset of
what its full form accepts, with identical results; tests prove it per form and across
the official models). A ``$type`` union's fast form takes known members and, if open,
other ``$type`` values as ``UnknownObject``; anything else fails it. Only errors
differ: a union reports both branches. So when the fast validator fails, for any
reason, the full validator runs on the same input and its exception (the one with the
right error types) is what the caller sees: invalid input costs both validators.

What the fast validator costs: a second compiled schema per model class that is
validated through ``model_validate``/``model_validate_json`` (built on first use; a post
with its embeds takes a few milliseconds), and a model rebuild drops it.

pydantic-core reuses a finished model's own validator wherever a schema nests that model
(its "prebuilt" validators): built naively, the fast validator of a post would run the
full validators of its replies and embeds. While the fast validator is built, the
nested classes are therefore marked not complete (under pydantic's rebuild lock, then
restored), so each is compiled inline in its fast form.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from typing import Any, Final, NoReturn

from pydantic import BaseModel
from pydantic_core import SchemaValidator, core_schema

from lexforge.runtime.lex.accel import accelerator

__all__ = [
    "FAST_KEY",
    "FastForm",
    "Transform",
    "build_fast_validator",
    "fast_schema",
    "prefer_fast",
    "with_fast_form",
]

#: Core-schema ``metadata`` key holding a node's fast form.
FAST_KEY: Final = "lexforge_fast_form"

#: Builds a node's fast form; receives the ``Transform`` (call it on the node's children).
FastForm = Callable[["Transform"], core_schema.CoreSchema]

_lock = threading.RLock()


def prefer_fast(
    schema: core_schema.CoreSchema,
    fast: core_schema.CoreSchema,
    fallback: core_schema.CoreSchema | None = None,
) -> core_schema.CoreSchema:
    """``schema`` (used by the full validator), marked so that the fast validator uses
    ``fast`` and, for values ``fast`` rejects, ``fallback`` (default: ``schema``).

    ``fast`` must accept a subset of what ``schema`` accepts and build the same value.
    """
    backup = schema if fallback is None else fallback
    return with_fast_form(
        schema,
        lambda transform: core_schema.union_schema([fast, transform(backup)], mode="left_to_right"),
    )


def with_fast_form(schema: core_schema.CoreSchema, form: FastForm) -> core_schema.CoreSchema:
    """``schema`` with ``form`` as the builder of its fast form (see ``FastForm``)."""
    metadata = dict(schema.get("metadata") or {})
    metadata[FAST_KEY] = form
    out = dict(schema)
    out["metadata"] = metadata
    return out


class Transform:
    """Replaces marked nodes by their fast forms (one instance per fast schema).

    Shared nodes stay shared (one copy per original node), and forms can add named
    definitions (``define``) that the whole fast schema references once.
    """

    def __init__(self) -> None:
        self._memo: dict[int, tuple[Any, Any]] = {}
        self.definitions: dict[str, core_schema.CoreSchema] = {}

    def define(self, definitions: Iterable[core_schema.CoreSchema]) -> None:
        """Add schemas (each with a ``ref``) for the fast schema to reference; a ref
        that is already defined keeps its first schema."""
        for schema in definitions:
            self.definitions.setdefault(schema["ref"], schema)

    def __call__(self, node: Any) -> Any:
        key = id(node)
        if key in self._memo:
            return self._memo[key][1]
        if isinstance(node, dict):
            metadata = node.get("metadata")
            form = metadata.get(FAST_KEY) if isinstance(metadata, dict) else None
            if form is not None:
                out: Any = form(self)
            elif node.get("type") == "model" and (built := _model_form(node, self)) is not None:
                out = built
            else:
                out = {
                    k: v if k == "metadata" or not isinstance(v, dict | list) else self(v)
                    for k, v in node.items()
                }
        elif isinstance(node, list):
            out = [self(item) if isinstance(item, dict | list) else item for item in node]
        else:
            out = node
        self._memo[key] = (node, out)  # keeps ``node`` alive: its id stays unique
        return out


class _Absent:
    """What the fast form of a model yields for a field absent from the input (see
    ``_model_form``); never seen outside it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<absent>"


_ABSENT: Final = _Absent()
#: Default values the model form hands over as they are (pydantic copies none of them).
_IMMUTABLE_DEFAULTS = (type(None), bool, int, str, float, bytes)


_models = accelerator("_models")
_ModelBuilder: Final = None if _models is None else _models.ModelBuilder


def _given_by_name(value: object) -> NoReturn:
    raise ValueError("a field given by its Python name (left to the full validator)")


def _model_form(node: dict[str, Any], transform: Transform) -> core_schema.CoreSchema | None:
    """The fast form of a plain model node, or None to keep the node as it is.

    pydantic-core's model validator costs far more than a typed dict with the same
    fields, so the fields are validated as a typed dict (same config: strictness, extras
    and their schema; lookups by alias only) and a C ``ModelBuilder``
    (``runtime/lex/_models.c``) makes the instance as pydantic-core would. Defaults
    become a sentinel, so the builder knows which fields the input had (the fields
    set). A model instance given as input is not a dict: the fast validator fails and
    the full one takes it.
    """
    inner = node.get("schema")
    cls = node.get("cls")
    if (
        _ModelBuilder is None
        or not isinstance(cls, type)
        or not isinstance(inner, dict)
        or inner.get("type") != "model-fields"
        or inner.get("computed_fields")
        or node.get("custom_init")
        or node.get("root_model")
        or node.get("post_init")
        or node.get("revalidate_instances") not in (None, "never")
    ):
        return None
    names: list[str] = []
    defaults: list[Any] = []
    aliased: dict[str, str] = {}
    fields: dict[str, core_schema.TypedDictField] = {}
    for name, field in inner["fields"].items():
        alias = field.get("validation_alias")
        if alias is not None and not isinstance(alias, str):
            return None  # an alias path or choices
        if alias is not None and alias != name:
            aliased[name] = alias
        schema = field["schema"]
        default: Any = _ABSENT
        if schema.get("type") == "default":
            default = schema.get("default", _ABSENT)
            if (
                "default_factory" in schema
                or schema.get("validate_default")
                or type(default) not in _IMMUTABLE_DEFAULTS
            ):
                return None
            schema = {**schema, "default": _ABSENT}
        fields[name] = core_schema.typed_dict_field(
            transform(schema), required=default is _ABSENT, validation_alias=alias
        )
        names.append(name)
        defaults.append(default)
    # Fields are looked up by alias only, and each aliased field gets a "shadow" field
    # keyed by its alias and looked up by its name, which refuses any value: input that
    # names a field by its Python name (alone, or beside its alias, where pydantic keeps
    # the name as an extra field) goes to the full validator. A typed dict drops unused
    # input keys equal to its field names; those keys are exactly the aliases (used)
    # and the plain names (no alias), so no key is dropped that pydantic would keep.
    if len({*inner["fields"], *aliased.values()}) != len(inner["fields"]) + len(aliased):
        return None  # an alias equal to another field's name or alias
    for name, alias in aliased.items():
        fields[alias] = core_schema.typed_dict_field(
            core_schema.no_info_plain_validator_function(_given_by_name),
            required=False,
            validation_alias=name,
        )
    config: Any = {**(node.get("config") or {}), "validate_by_name": False}
    config["validate_by_alias"] = True
    extras = inner.get("extras_schema")
    typed = core_schema.typed_dict_schema(
        fields,
        extras_schema=None if extras is None else transform(extras),
        extra_behavior=inner.get("extra_behavior") or config.get("extra_fields_behavior"),
        config=config,
    )
    slots = BaseModel.__dict__
    builder = _ModelBuilder(
        cls,
        tuple(names),
        tuple(defaults),
        _ABSENT,
        slots["__pydantic_extra__"],
        slots["__pydantic_fields_set__"],
        slots["__pydantic_private__"],
    )
    return core_schema.no_info_after_validator_function(builder, typed, ref=node.get("ref"))


def fast_schema(schema: core_schema.CoreSchema) -> core_schema.CoreSchema:
    """A copy of ``schema`` with every marked node replaced by its fast form."""
    transform = Transform()
    result: Any = transform(schema)
    if transform.definitions:
        extra = list(transform.definitions.values())
        if result.get("type") == "definitions":
            result = {**result, "definitions": [*result["definitions"], *extra]}
        else:
            result = core_schema.definitions_schema(result, extra)
    fast: core_schema.CoreSchema = result
    return fast


def _model_classes(schema: Any, found: set[type[Any]]) -> set[type[Any]]:
    if isinstance(schema, dict):
        if schema.get("type") == "model" and isinstance(schema.get("cls"), type):
            found.add(schema["cls"])
        for key, value in schema.items():
            if key != "metadata" and isinstance(value, dict | list):
                _model_classes(value, found)
    elif isinstance(schema, list):
        for item in schema:
            _model_classes(item, found)
    return found


def _pydantic_rebuild_lock() -> Any:
    import pydantic.main  # noqa: PLC0415 - already imported by every model

    return getattr(pydantic.main, "_rebuild_lock", None)


def build_fast_validator(schema: core_schema.CoreSchema) -> SchemaValidator:
    """The fast validator for a model's complete core ``schema`` (see the module
    docstring; models call this through ``LexModel``)."""
    fast = fast_schema(schema)
    classes = _model_classes(fast, set())
    with ExitStack() as stack:
        stack.enter_context(_lock)
        rebuild_lock = _pydantic_rebuild_lock()
        if rebuild_lock is not None:
            stack.enter_context(rebuild_lock)
        marked = [c for c in classes if c.__dict__.get("__pydantic_complete__") is True]
        for cls in marked:
            cls.__pydantic_complete__ = False
        try:
            return SchemaValidator(fast)
        finally:
            for cls in marked:
                cls.__pydantic_complete__ = True

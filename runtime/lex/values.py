"""Lexicon value types for generated models: links, bytes, blobs and unknown objects.

Each type validates both forms of the data model, so one model reads JSON and DAG-CBOR:

==============  ===============================  ================================
type            JSON form                        data-model (CBOR) form
==============  ===============================  ================================
``CidLink``     ``{"$link": "bafy..."}``         ``CID``
``Bytes``       ``{"$bytes": "<base64>"}``       ``bytes``
``BlobRef``     blob object, ``ref`` a $link     blob map, ``ref`` a ``CID``
``UnknownObject``  any object                    any map
==============  ===============================  ================================

and serialises to the JSON form in ``mode="json"`` and to the data-model form in
``mode="python"`` (ready for ``lexforge.runtime.data.encode``). Pydantic never sees a
bare ``bytes``/``CID`` field, so it never writes base64url or hex by itself.

``DataValue`` is the same idea for values of unknown shape (``unknown`` content and
extra fields kept by ``extra="allow"``): JSON forms are read into data-model values,
and written back as JSON forms.

The validators live in ``lexforge.runtime.lex.datamodel``, imported when a schema is
first built; ``CidLink`` and ``BlobRef`` (whose types come from ``lexforge.runtime.data``)
are created on first access. Importing a generated module that uses neither does not
import ``lexforge.runtime.data``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from lexforge.runtime.lex.fast import Transform, prefer_fast, with_fast_form

if TYPE_CHECKING:
    from lexforge.runtime.data.blob import Blob
    from lexforge.runtime.data.cid import CID

__all__ = [
    "BlobRef",
    "Bytes",
    "CidLink",
    "DataValue",
    "UnknownObject",
    "as_data",
    "fast_blob_schema",
]


def as_data(value: object) -> Any:
    """A JSON or data-model value (or a mix) as a data-model value.

    ``{"$link"}``/``{"$bytes"}`` objects become ``CID``/``bytes``; ``CID`` and ``bytes``
    stay; every rule of ``lexforge.runtime.data.from_json`` applies (no floats, safe
    integers, non-empty string ``$type``, valid blobs, key and size limits). Raises
    ``DataModelError``.
    """
    from lexforge.runtime.lex import datamodel  # noqa: PLC0415 - see the module docstring

    return datamodel.as_data(value)


def fast_blob_schema(
    accept: tuple[str, ...] | None, max_size: int | None
) -> core_schema.CoreSchema:
    """The fast form of a blob field (see ``lexforge.runtime.lex.datamodel``)."""
    from lexforge.runtime.lex import datamodel  # noqa: PLC0415 - see the module docstring

    return datamodel.fast_blob_schema(accept, max_size)


def _plain(validate: str, serialize: str) -> core_schema.PlainValidatorFunctionSchema:
    """A plain validator and serialiser from ``lexforge.runtime.lex.datamodel``."""
    from lexforge.runtime.lex import datamodel  # noqa: PLC0415 - see the module docstring

    return core_schema.no_info_plain_validator_function(
        getattr(datamodel, validate),
        serialization=core_schema.plain_serializer_function_ser_schema(
            getattr(datamodel, serialize), info_arg=True
        ),
    )


class _CidLinkSchema:
    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return _plain("validate_link", "serialize_link")


class _BytesSchema:
    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return _plain("validate_bytes", "serialize_bytes")


#: ``bytes``: raw bytes (``{"$bytes": "<base64>"}`` in JSON).
Bytes = Annotated[bytes, _BytesSchema()]


class _BlobSchema:
    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return prefer_fast(_plain("validate_blob", "serialize_blob"), fast_blob_schema(None, None))


def _json_fast_form(full: core_schema.CoreSchema, last_step: Any = None) -> core_schema.CoreSchema:
    """``full`` with a fast form for JSON input: the data-value schema of
    ``lexforge.runtime.lex.datamodel`` (then ``last_step``), ``full`` for what it refuses
    and for Python input."""
    from lexforge.runtime.lex import datamodel  # noqa: PLC0415 - see the module docstring

    def form(transform: Transform) -> core_schema.CoreSchema:
        transform.define(datamodel.data_value_definitions())
        fast: core_schema.CoreSchema = core_schema.definition_reference_schema(
            datamodel.DATA_VALUE_REF
        )
        if last_step is not None:
            fast = core_schema.no_info_after_validator_function(last_step, fast)
        return core_schema.json_or_python_schema(
            json_schema=core_schema.union_schema([fast, full], mode="left_to_right"),
            python_schema=full,
        )

    return with_fast_form(full, form)


class _DataValueSchema:
    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return _json_fast_form(_plain("validate_data", "serialize_data"))


#: Any data-model value (used for extra fields); JSON forms are read as data.
DataValue = Annotated[Any, _DataValueSchema()]


class UnknownObject(dict[str, Any]):
    """An object whose schema this code does not know: Lexicon ``unknown`` fields, and
    members of open unions whose ``$type`` is not listed.

    A plain ``dict`` of data-model values (``CID``/``bytes`` for links and bytes, blobs
    as maps), so nothing is lost: it serialises back exactly as read. ``py_type`` is its
    ``$type`` when it has one. It must be a map, and neither a blob nor a bare
    ``$link``/``$bytes`` object.
    """

    __slots__ = ()

    @property
    def py_type(self) -> str | None:
        """The ``$type`` of the object, if any."""
        value = self.get("$type")
        return value if isinstance(value, str) else None

    @classmethod
    def _validate(cls, value: object) -> UnknownObject:
        if isinstance(value, UnknownObject):
            return value
        from lexforge.runtime.lex import datamodel  # noqa: PLC0415 - see the module docstring

        return cls(datamodel.validate_unknown(value))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        from lexforge.runtime.lex import datamodel  # noqa: PLC0415 - see the module docstring

        unknown = datamodel.validate_unknown

        def validate(value: object) -> UnknownObject:
            if isinstance(value, UnknownObject):
                return value
            return cls(unknown(value))

        fast_unknown = datamodel.fast_unknown

        def wrap(value: object) -> UnknownObject:
            return cls(fast_unknown(value))

        full = core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                datamodel.serialize_unknown, info_arg=True
            ),
        )
        return _json_fast_form(full, wrap)


if TYPE_CHECKING:
    #: ``cid-link``: a ``CID`` (``{"$link": ...}`` in JSON, tag 42 in DAG-CBOR).
    CidLink = Annotated[CID, _CidLinkSchema()]
    #: ``blob``: a ``lexforge.runtime.data.Blob`` (current or legacy form, kept as read).
    BlobRef = Annotated[Blob, _BlobSchema()]
else:

    def __getattr__(name: str) -> Any:
        # ``CidLink`` and ``BlobRef`` need their types from ``lexforge.runtime.data``.
        if name == "CidLink":
            from lexforge.runtime.data.cid import CID  # noqa: PLC0415

            value = Annotated[CID, _CidLinkSchema()]
        elif name == "BlobRef":
            from lexforge.runtime.data.blob import Blob  # noqa: PLC0415

            value = Annotated[Blob, _BlobSchema()]
        else:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        globals()[name] = value
        return value

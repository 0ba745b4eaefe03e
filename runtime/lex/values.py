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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

from lexforge.runtime.data.blob import Blob
from lexforge.runtime.data.cbor_limits import MAX_DEPTH
from lexforge.runtime.data.cid import CID
from lexforge.runtime.data.errors import DataModelError
from lexforge.runtime.data.json import from_json, to_json

__all__ = [
    "BlobRef",
    "Bytes",
    "CidLink",
    "DataValue",
    "UnknownObject",
    "as_data",
]


def as_data(value: object, _depth: int = 0) -> Any:
    """A JSON or data-model value (or a mix) as a data-model value.

    ``{"$link"}``/``{"$bytes"}`` objects become ``CID``/``bytes``; ``CID`` and ``bytes``
    stay; everything else follows ``lexforge.runtime.data.from_json`` (no floats, safe
    integers, valid blobs). Raises ``DataModelError``.
    """
    if isinstance(value, str | bool | int) or value is None:
        return from_json(value)
    if isinstance(value, CID | bytes):
        return value
    if _depth > MAX_DEPTH:
        raise DataModelError(f"nesting deeper than {MAX_DEPTH} levels")
    if isinstance(value, Mapping):
        if "$link" in value or "$bytes" in value:
            return from_json(dict(value))
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise DataModelError(f"map key {key!r} is not a string")
            out[key] = as_data(item, _depth + 1)
        if out.get("$type") == "blob":
            # Re-check the blob in its data-model form.
            Blob.from_data(out)
        return out
    if isinstance(value, list | tuple):
        return [as_data(item, _depth + 1) for item in value]
    return from_json(value)


def _is_json(info: core_schema.SerializationInfo) -> bool:
    return info.mode_is_json()


# --- CidLink ---------------------------------------------------------------------------


def _validate_link(value: object) -> CID:
    if isinstance(value, CID):
        return value
    if isinstance(value, Mapping) and set(value) == {"$link"}:
        text = value["$link"]
        if isinstance(text, str):
            try:
                return CID.parse(text)
            except DataModelError as exc:
                raise PydanticCustomError(
                    "lex_cid_link", "invalid CID: {reason}", {"reason": str(exc)}
                ) from None
    raise PydanticCustomError("lex_cid_link", 'expected a CID link ({"$link": "<cid>"})')


def _serialize_link(value: CID, info: core_schema.SerializationInfo) -> Any:
    return {"$link": str(value)} if _is_json(info) else value


class _CidLinkSchema:
    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _validate_link,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _serialize_link, info_arg=True
            ),
        )


#: ``cid-link``: a ``CID`` (``{"$link": ...}`` in JSON, tag 42 in DAG-CBOR).
CidLink = Annotated[CID, _CidLinkSchema()]


# --- Bytes -----------------------------------------------------------------------------


def _validate_bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, Mapping) and set(value) == {"$bytes"}:
        try:
            data = from_json(dict(value))
        except DataModelError as exc:
            raise PydanticCustomError("lex_bytes", "{reason}", {"reason": str(exc)}) from None
        if isinstance(data, bytes):
            return data
    raise PydanticCustomError("lex_bytes", 'expected bytes ({"$bytes": "<base64>"})')


def _serialize_bytes(value: bytes, info: core_schema.SerializationInfo) -> Any:
    return to_json(value) if _is_json(info) else value


class _BytesSchema:
    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _validate_bytes,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _serialize_bytes, info_arg=True
            ),
        )


#: ``bytes``: raw bytes (``{"$bytes": "<base64>"}`` in JSON).
Bytes = Annotated[bytes, _BytesSchema()]


# --- BlobRef ---------------------------------------------------------------------------


_BLOB_KEYS = frozenset({"$type", "ref", "mimeType", "size"})
_MAX_BLOB_SIZE = 2**53 - 1


def _fast_blob(value: dict[str, Any]) -> Blob | None:
    """The current blob form with plain types, checked once; ``None`` for anything else."""
    if value.keys() != _BLOB_KEYS or value["$type"] != "blob":
        return None
    ref, mime, size = value["ref"], value["mimeType"], value["size"]
    if type(ref) is dict and len(ref) == 1 and type(link := ref.get("$link")) is str:
        ref = CID.parse(link)
    if type(ref) is not CID or type(mime) is not str or type(size) is not int:
        return None
    if "/" not in mime or not 0 <= size <= _MAX_BLOB_SIZE:
        return None
    return Blob(ref, mime, size)


def _validate_blob(value: object) -> Blob:
    if type(value) is Blob:
        return value
    try:
        if type(value) is dict:
            fast = _fast_blob(value)
            if fast is not None:
                return fast
        if isinstance(value, Blob):
            return value
        if not isinstance(value, Mapping):
            raise PydanticCustomError("lex_blob", "expected a blob object")
        if isinstance(value.get("ref"), Mapping):
            return Blob.from_json(value)
        return Blob.from_data(value)
    except DataModelError as exc:
        raise PydanticCustomError(
            "lex_blob", "invalid blob: {reason}", {"reason": str(exc)}
        ) from None


def _serialize_blob(value: Blob, info: core_schema.SerializationInfo) -> Any:
    return value.to_json() if _is_json(info) else value.to_data()


class _BlobSchema:
    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _validate_blob,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _serialize_blob, info_arg=True
            ),
        )


#: ``blob``: a ``lexforge.runtime.data.Blob`` (current or legacy form, kept as read).
BlobRef = Annotated[Blob, _BlobSchema()]


# --- DataValue -------------------------------------------------------------------------


def _validate_data(value: object) -> Any:
    try:
        return as_data(value)
    except DataModelError as exc:
        raise PydanticCustomError("lex_data", "{reason}", {"reason": str(exc)}) from None


def _serialize_data(value: object, info: core_schema.SerializationInfo) -> Any:
    return to_json(value) if _is_json(info) else value


class _DataValueSchema:
    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _validate_data,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _serialize_data, info_arg=True
            ),
        )


#: Any data-model value (used for extra fields); JSON forms are read as data.
DataValue = Annotated[Any, _DataValueSchema()]


# --- UnknownObject ---------------------------------------------------------------------


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
        if isinstance(value, BaseModel):
            # A generated model given where any object is allowed (a record passed to
            # createRecord): keep its data-model form, as it would be written.
            value = value.model_dump(mode="python", by_alias=True, exclude_unset=True)
        if not isinstance(value, Mapping):
            raise PydanticCustomError(
                "lex_unknown", "expected an object, not {kind}", {"kind": type(value).__name__}
            )
        if "$link" in value or "$bytes" in value:
            raise PydanticCustomError("lex_unknown", "expected an object, not a link or bytes")
        if value.get("$type") == "blob":
            raise PydanticCustomError("lex_unknown", "expected an object, not a blob")
        try:
            data = as_data(value)
        except DataModelError as exc:
            raise PydanticCustomError("lex_unknown", "{reason}", {"reason": str(exc)}) from None
        return cls(data)

    @staticmethod
    def _serialize(value: UnknownObject, info: core_schema.SerializationInfo) -> Any:
        return to_json(dict(value)) if _is_json(info) else dict(value)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                cls._serialize, info_arg=True
            ),
        )

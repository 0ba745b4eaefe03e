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

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

from lexforge.runtime.data.b64 import b64encode_unpadded
from lexforge.runtime.data.blob import Blob
from lexforge.runtime.data.cbor_limits import MAX_DEPTH
from lexforge.runtime.data.cid import CID, CODEC_RAW
from lexforge.runtime.data.errors import DataModelError
from lexforge.runtime.data.json import from_json, to_json
from lexforge.runtime.lex.fast import prefer_fast

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
    try:
        return from_json(value)  # plain JSON values: one pass
    except DataModelError:
        pass
    # Data-model values (CID, bytes) inside: their JSON form goes through the same rules.
    return from_json(_json_form(value, 0))


def _json_form(value: object, depth: int) -> Any:
    """``value`` with ``CID``/``bytes`` replaced by their JSON wrappers (maps copied as
    dicts; ``from_json`` checks everything else)."""
    if isinstance(value, CID):
        return {"$link": str(value)}
    if isinstance(value, bytes):
        return {"$bytes": b64encode_unpadded(value)}
    if depth > MAX_DEPTH:
        raise DataModelError(f"nesting deeper than {MAX_DEPTH} levels")
    if isinstance(value, Mapping):
        return {key: _json_form(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_form(item, depth + 1) for item in value]
    return value


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


# The CIDv1 text of a raw sha2-256 blob: "b" + base32 of 01 55 12 20 <32 bytes>.
_RAW_CID_PREFIX = "bafkrei"
_RAW_CID_LENGTH = 59


def _fast_blob_ref(value: object) -> CID:
    """A blob ``ref`` in its common forms (``{"$link": "bafkrei..."}``, a raw ``CID``);
    anything else is left to the full validator."""
    if type(value) is dict and len(value) == 1:
        link = value.get("$link")
        if type(link) is str and len(link) == _RAW_CID_LENGTH and link.startswith(_RAW_CID_PREFIX):
            return CID.parse(link)  # the prefix fixes version, codec (raw) and hash
    elif type(value) is CID and value.codec == CODEC_RAW:
        return value
    raise ValueError("not a common blob ref")


def _mime_pattern(accept: tuple[str, ...] | None) -> str:
    """A pydantic-core (Rust) pattern for MIME types ``accept`` matches (any type if
    None): ``type/`` prefixes for ``type/*``, exact lowercase types otherwise. Every
    match is accepted by ``mime_matches`` (it lowercases and drops parameters)."""
    if accept is None or "*/*" in accept:
        return "/"
    options = [
        re.escape(a.lower()[:-1]) if a.endswith("/*") else re.escape(a.lower()) + "$"
        for a in accept
    ]
    return f"^(?:{'|'.join(options)})"


def fast_blob_schema(
    accept: tuple[str, ...] | None, max_size: int | None
) -> core_schema.CoreSchema:
    """The fast form of a blob field: the current JSON or data-model form with a raw CID,
    checked by pydantic-core (keys, ``$type``, MIME type against ``accept``, size against
    ``max_size``) and built into a ``Blob`` without a Python call except for the CID."""
    limit = _MAX_BLOB_SIZE if max_size is None else min(max_size, _MAX_BLOB_SIZE)
    fields = [
        core_schema.dataclass_field(
            "ref", core_schema.no_info_plain_validator_function(_fast_blob_ref)
        ),
        core_schema.dataclass_field(
            "mime_type",
            core_schema.str_schema(pattern=_mime_pattern(accept), strict=True),
            validation_alias="mimeType",
        ),
        core_schema.dataclass_field("size", core_schema.int_schema(ge=0, le=limit, strict=True)),
        core_schema.dataclass_field(
            "legacy_cid",
            core_schema.with_default_schema(core_schema.none_schema(), default=None),
            init=False,
        ),
        # Checked, not stored: ``Blob`` has no such field.
        core_schema.dataclass_field(
            "type", core_schema.literal_schema(["blob"]), validation_alias="$type", init_only=True
        ),
    ]
    return core_schema.dataclass_schema(
        Blob,
        core_schema.dataclass_args_schema("Blob", fields, extra_behavior="forbid"),
        ["ref", "mime_type", "size", "legacy_cid"],
        slots=True,
        frozen=True,
        post_init=False,
        strict=False,  # an instance or a mapping; the fields themselves are strict
        config=core_schema.CoreConfig(validate_by_alias=True, validate_by_name=False),
    )


class _BlobSchema:
    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        schema = core_schema.no_info_plain_validator_function(
            _validate_blob,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _serialize_blob, info_arg=True
            ),
        )
        return prefer_fast(schema, fast_blob_schema(None, None))


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

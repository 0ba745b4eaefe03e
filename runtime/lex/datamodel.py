"""The half of ``lexforge.runtime.lex.values`` that needs ``lexforge.runtime.data``:
validators and serialisers of links, bytes, blobs, unknown objects and data values.

Imported when a schema that uses one of them is first built, not when a generated
module is imported: ``lexforge.runtime.data`` costs more to import than most model
modules (its codec, JSON reader and CID machinery), and a module full of strings and
integers never needs it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticCustomError, core_schema

from lexforge.runtime.data.b64 import b64decode_strict, b64encode_unpadded
from lexforge.runtime.data.blob import LEGACY_SIZE, Blob, blob_problem
from lexforge.runtime.data.cbor_limits import MAX_CONTAINER_LEN, MAX_DEPTH, MAX_KEY_LEN
from lexforge.runtime.data.cid import CID, CODEC_RAW
from lexforge.runtime.data.cid import _c_parse_b32 as _c_parse_cid
from lexforge.runtime.data.errors import DataModelError
from lexforge.runtime.data.json import MAX_SAFE_INTEGER, from_json, to_json
from lexforge.runtime.lex.accel import accelerator
from lexforge.runtime.lex.mime import is_valid_mime_pattern

__all__ = [
    "DATA_VALUE_REF",
    "LEGACY_SIZE",
    "Blob",
    "as_data",
    "data_value_definitions",
    "fast_blob_schema",
    "fast_unknown",
    "serialize_blob",
    "serialize_bytes",
    "serialize_data",
    "serialize_link",
    "serialize_unknown",
    "validate_blob",
    "validate_bytes",
    "validate_data",
    "validate_link",
    "validate_unknown",
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


def validate_link(value: object) -> CID:
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


def serialize_link(value: CID, info: core_schema.SerializationInfo) -> Any:
    return {"$link": str(value)} if _is_json(info) else value


# --- Bytes -----------------------------------------------------------------------------


def validate_bytes(value: object) -> bytes:
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


def serialize_bytes(value: bytes, info: core_schema.SerializationInfo) -> Any:
    return to_json(value) if _is_json(info) else value


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


def validate_blob(value: object) -> Blob:
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


def serialize_blob(value: Blob, info: core_schema.SerializationInfo) -> Any:
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
    None): ``type/`` prefixes for ``type/*``, exact lowercase types otherwise (see
    ``_fast_accept``; a pattern that matches nothing if none is left)."""
    fast = _fast_accept(accept)
    if fast is None:
        return "/"
    options = [re.escape(a) if a.endswith("/") else re.escape(a) + "$" for a in fast]
    return f"^(?:{'|'.join(options)})" if options else r"\b\B"


# The C accelerator's blob checker, if active (see ``lexforge.runtime.lex.accel``).
_values = accelerator("_values")
_BlobChecker: Callable[..., Callable[[object], Blob]] | None = (
    None if _values is None else _values.BlobChecker
)


def _fast_accept(accept: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """``accept`` for ``BlobChecker``: None for any MIME type, else lower-case ``type/``
    prefixes (for ``type/*``) and exact types. Like ``_mime_pattern``, every type this
    takes is one ``mime_matches`` takes; patterns that are not valid MIME patterns are
    left out (values they would match go to the full validator)."""
    if accept is None or "*/*" in accept:
        return None
    return tuple(
        a.lower()[:-1] if a.endswith("/*") else a.lower()
        for a in accept
        if is_valid_mime_pattern(a)
    )


def fast_blob_schema(
    accept: tuple[str, ...] | None, max_size: int | None
) -> core_schema.CoreSchema:
    """The fast form of a blob field: the current JSON or data-model form with a raw CID
    (keys, ``$type``, MIME type against ``accept``, size against ``max_size``) built into
    a ``Blob``. With the C accelerator one call checks and builds it all; without it,
    pydantic-core checks the fields and builds the ``Blob``, with a Python call for the
    CID."""
    limit = _MAX_BLOB_SIZE if max_size is None else max(-1, min(max_size, _MAX_BLOB_SIZE))
    if _BlobChecker is not None:
        parse = CID.parse if _c_parse_cid is None else _c_parse_cid
        checker = _BlobChecker(Blob, CID, parse, _fast_accept(accept), limit)
        return core_schema.no_info_plain_validator_function(checker)
    return _fast_blob_dataclass_schema(accept, limit)


def _fast_blob_dataclass_schema(
    accept: tuple[str, ...] | None, limit: int
) -> core_schema.CoreSchema:
    """``fast_blob_schema`` in pydantic-core terms (no C accelerator)."""
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
        # Instances are "revalidated" as mappings, which they are not, so they go to the
        # full form, which checks ``accept`` and ``max_size`` (and returns the instance).
        revalidate_instances="always",
        config=core_schema.CoreConfig(validate_by_alias=True, validate_by_name=False),
    )


# --- DataValue -------------------------------------------------------------------------


def validate_data(value: object) -> Any:
    try:
        return as_data(value)
    except DataModelError as exc:
        raise PydanticCustomError("lex_data", "{reason}", {"reason": str(exc)}) from None


def serialize_data(value: object, info: core_schema.SerializationInfo) -> Any:
    return to_json(value) if _is_json(info) else value


# --- UnknownObject ---------------------------------------------------------------------


def validate_unknown(value: object) -> dict[str, Any]:
    """The data-model map of an ``unknown`` value (``UnknownObject`` wraps it)."""
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
    return data  # type: ignore[no-any-return]


def serialize_unknown(value: dict[str, Any], info: core_schema.SerializationInfo) -> Any:
    return to_json(dict(value)) if _is_json(info) else dict(value)


# --- the fast form of JSON data values -------------------------------------------------
#
# ``as_data`` on a value pydantic-core parsed from JSON walks it in Python (``from_json``).
# For JSON input the fast validator checks the same rules in Rust instead: one schema per
# nesting level (so the depth limit is the schema's), scalars and plain containers in
# pydantic-core, and one short Python check per object (links, bytes, ``$type`` and
# blobs). Each level accepts a subset of what ``from_json`` accepts, with the same
# result: floats (even ``1.0``, which ``from_json`` reads as ``1``) and keys that might
# be too long are left to ``from_json``; JSON text cannot carry lone surrogates.

_DATA_VALUE_PREFIX = "lexforge.runtime.lex.datamodel:data-value:"
#: Reference of the fast JSON data-value schema (defined by ``data_value_definitions``).
DATA_VALUE_REF = f"{_DATA_VALUE_PREFIX}0"


def _special_object(value: dict[str, Any]) -> Any:
    """An object, its values already data-model values: what ``from_json`` makes of it
    (a link, bytes, or the object after its ``$type`` and blob checks). Raises
    ``DataModelError`` (a ``ValueError``) for anything else."""
    if "$link" in value or "$bytes" in value:
        key = "$link" if "$link" in value else "$bytes"
        text = value[key]
        if len(value) != 1 or type(text) is not str:
            raise DataModelError(f"a {key} object must have exactly one string value")
        return CID.parse(text) if key == "$link" else b64decode_strict(text)
    if "$type" in value:
        type_ = value["$type"]
        if type(type_) is not str or not type_:
            raise DataModelError("$type must be a non-empty string")
        if type_ == "blob" and blob_problem(value) is not None:
            raise DataModelError("invalid blob")
    return value


@functools.cache
def data_value_definitions() -> tuple[core_schema.CoreSchema, ...]:
    """The fast JSON data-value schemas, one per nesting level (see above)."""
    key = core_schema.str_schema(max_length=MAX_KEY_LEN // 4, strict=True)
    scalars: list[core_schema.CoreSchema] = [
        core_schema.str_schema(strict=True),
        core_schema.int_schema(ge=-MAX_SAFE_INTEGER, le=MAX_SAFE_INTEGER, strict=True),
        core_schema.bool_schema(strict=True),
        core_schema.none_schema(),
    ]
    levels = []
    for depth in range(MAX_DEPTH + 1):
        choices: list[core_schema.CoreSchema | tuple[core_schema.CoreSchema, str]] = []
        choices += scalars
        if depth < MAX_DEPTH:
            child = core_schema.definition_reference_schema(f"{_DATA_VALUE_PREFIX}{depth + 1}")
            # One branch per container type: a union never validates the same children
            # twice (two object branches would, at every level: exponential in depth).
            choices[1:1] = [
                core_schema.no_info_after_validator_function(
                    _special_object,
                    core_schema.dict_schema(key, child, max_length=MAX_CONTAINER_LEN, strict=True),
                ),
                core_schema.list_schema(child, max_length=MAX_CONTAINER_LEN, strict=True),
            ]
        levels.append(
            core_schema.union_schema(
                choices, mode="left_to_right", ref=f"{_DATA_VALUE_PREFIX}{depth}"
            )
        )
    return tuple(levels)


def fast_unknown(value: object) -> dict[str, Any]:
    """The fast form's last step for an ``unknown`` value already checked as a data
    value: it must have been an object, and not a blob (``validate_unknown``'s rules)."""
    if type(value) is not dict or value.get("$type") == "blob":
        raise ValueError("left to the full validator")
    return value

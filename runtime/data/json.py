"""The atproto JSON form of the data model, read strictly and written canonically.

atproto JSON is *not* DAG-JSON: a link is ``{"$link": "<cid>"}``, bytes are
``{"$bytes": "<standard base64>"}`` and a blob is ``{"$type": "blob", "ref": {"$link":
...}, "mimeType": ..., "size": ...}``. JSON is never hashed; to get a CID, convert to the
data model (:func:`from_json`) and encode as DAG-CBOR.

Values in the data model are ``None``, ``bool``, ``int``, ``str``, ``bytes``, ``list``,
``dict[str, ...]`` and :class:`~lexforge.runtime.data.cid.CID`. Blobs stay plain dicts
(``{"$type": "blob", "ref": CID, "mimeType": str, "size": int}``), exactly the map that
is encoded to CBOR; :class:`~lexforge.runtime.data.blob.Blob` is a typed view of one.

Reading refuses, with :class:`~lexforge.runtime.data.errors.InvalidJsonError` naming the
path of the offending value:

- ``$link`` / ``$bytes`` objects with extra keys, non-string values, unparsable CIDs or
  base64 that is padded or otherwise non-canonical (see :mod:`lexforge.runtime.data.b64`);
  any other object holding a ``$link`` or ``$bytes`` key;
- ``$type`` that is not a non-empty string; a ``$type: "blob"`` object that is not a
  valid blob (see :mod:`lexforge.runtime.data.blob`);
- integers outside +/-(2^53 - 1); non-integral numbers (``123.0`` is read as ``123``, as
  the interop vectors require); NaN and Infinity;
- strings and keys with lone surrogates;
- nesting deeper than :data:`MAX_JSON_DEPTH`, containers longer than the CBOR codec's
  ``MAX_CONTAINER_LEN`` and keys longer than its ``MAX_KEY_LEN``, so anything read here
  can be encoded.

:func:`loads_json` additionally refuses duplicate keys and measures nesting depth *before*
handing the text to the stdlib parser, whose recursion on deeply nested input would
otherwise raise ``RecursionError``. Legacy blobs (``{"cid": ..., "mimeType": ...}``) are
ordinary objects here: only a schema can say that such an object is a blob.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from lexforge.runtime.data.b64 import b64decode_strict, b64encode_unpadded
from lexforge.runtime.data.blob import blob_problem
from lexforge.runtime.data.cbor_limits import MAX_CONTAINER_LEN, MAX_DEPTH, MAX_KEY_LEN
from lexforge.runtime.data.cid import CID
from lexforge.runtime.data.errors import (
    EncodeError,
    InvalidBase64Error,
    InvalidCidError,
    InvalidJsonError,
)

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_SAFE_INTEGER",
    "dumps_json",
    "from_json",
    "loads_json",
    "to_json",
]

#: Largest integer JSON may carry without losing precision in JavaScript (2^53 - 1).
MAX_SAFE_INTEGER = 2**53 - 1
#: Deepest JSON nesting :func:`loads_json` parses: the codec's data-model depth plus one,
#: because a ``$link``/``$bytes`` wrapper object becomes a scalar in the data model.
MAX_JSON_DEPTH = MAX_DEPTH + 1

_Path = list[str | int]

# One token per string literal or bracket: strings are skipped whole, so brackets inside
# them are not counted. The closing quote is optional so that an unterminated string
# runs to the end of the text in one match: with it required, the failed match would be
# retried from every later quote, quadratic in the text (80 KB of \" took 30 s). Valid
# JSON tokenises the same either way; invalid JSON fails in the parser after the scan.
_DEPTH_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _fail(message: str, path: _Path) -> NoReturn:
    raise InvalidJsonError(message, tuple(path))


def _check_text(s: str, what: str, path: _Path) -> None:
    if not s.isascii() and _SURROGATE.search(s) is not None:
        _fail(f"{what} contains a lone surrogate (not valid Unicode)", path)


# ---------------------------------------------------------------------------------------
# JSON value -> data model


def from_json(obj: object, *, require_object: bool = False) -> Any:
    """Convert a parsed JSON value (``json.loads`` output) to a data-model value.

    ``require_object=True`` additionally demands a top-level object, as records and
    XRPC bodies must be. Raises :class:`InvalidJsonError` (a
    :class:`~lexforge.runtime.data.errors.DataModelError`) whose ``path`` locates the
    offending value.
    """
    if require_object and not isinstance(obj, dict):
        _fail(f"top-level value must be an object, not {_json_type(obj)}", [])
    return _from(obj, [], 0)


def _json_type(obj: object) -> str:
    if obj is None:
        return "null"
    if isinstance(obj, bool):
        return "boolean"
    if isinstance(obj, int | float):
        return "number"
    if isinstance(obj, str):
        return "string"
    if isinstance(obj, list):
        return "array"
    if isinstance(obj, dict):
        return "object"
    return type(obj).__name__


def _from(obj: object, path: _Path, depth: int) -> Any:
    if obj is None or obj is True or obj is False:
        return obj
    if isinstance(obj, str):
        _check_text(obj, "string", path)
        return obj
    if isinstance(obj, bool):  # pragma: no cover - True/False handled above
        return obj
    if isinstance(obj, int):
        if -MAX_SAFE_INTEGER <= obj <= MAX_SAFE_INTEGER:
            return int(obj)
        _fail("integer outside the safe range +/-(2^53 - 1)", path)
    if isinstance(obj, float):
        return _float_to_int(obj, path)
    if isinstance(obj, list):
        if depth >= MAX_DEPTH:
            _fail(f"nesting deeper than {MAX_DEPTH} levels", path)
        if len(obj) > MAX_CONTAINER_LEN:
            _fail(f"array of {len(obj)} elements exceeds the {MAX_CONTAINER_LEN} limit", path)
        out: list[Any] = []
        for i, item in enumerate(obj):
            path.append(i)
            out.append(_from(item, path, depth + 1))
            path.pop()
        return out
    if isinstance(obj, dict):
        return _from_object(obj, path, depth)
    _fail(f"{type(obj).__name__} is not a JSON value", path)


def _float_to_int(value: float, path: _Path) -> int:
    if not math.isfinite(value):
        _fail(f"{value} is not allowed (no NaN or Infinity in the data model)", path)
    if not value.is_integer():
        _fail(f"number {value!r} is not an integer (floats are not allowed)", path)
    if abs(value) > MAX_SAFE_INTEGER:
        _fail("integer outside the safe range +/-(2^53 - 1)", path)
    return int(value)


# The two wrapper objects: key -> (reader of its string value, what it is called).
_WRAPPERS: dict[str, tuple[Callable[[str], Any], str]] = {
    "$link": (CID.parse, "invalid CID in $link"),
    "$bytes": (b64decode_strict, "invalid $bytes"),
}


def _from_wrapper(obj: dict[Any, Any], key: str, path: _Path) -> Any:
    """A ``{"$link": ...}`` or ``{"$bytes": ...}`` object as a CID or bytes."""
    if len(obj) != 1:
        _fail(f"a {key} object must have exactly one key", path)
    text = obj[key]
    path.append(key)
    if not isinstance(text, str):
        _fail(f"{key} value must be a string, not {_json_type(text)}", path)
    read, what = _WRAPPERS[key]
    try:
        value = read(text)
    except (InvalidCidError, InvalidBase64Error) as exc:
        _fail(f"{what}: {exc}", path)
    path.pop()
    return value


def _from_object(obj: dict[Any, Any], path: _Path, depth: int) -> Any:
    for key in _WRAPPERS:
        if key in obj:
            return _from_wrapper(obj, key, path)
    if depth >= MAX_DEPTH:
        _fail(f"nesting deeper than {MAX_DEPTH} levels", path)
    if len(obj) > MAX_CONTAINER_LEN:
        _fail(f"object of {len(obj)} entries exceeds the {MAX_CONTAINER_LEN} limit", path)
    out: dict[str, Any] = {}
    for key, item in obj.items():
        if not isinstance(key, str):
            _fail(f"object key {key!r} is not a string", path)
        path.append(key)
        _check_text(key, "object key", path)
        if len(key) * 4 > MAX_KEY_LEN and len(key.encode("utf-8")) > MAX_KEY_LEN:
            _fail(f"object key longer than {MAX_KEY_LEN} UTF-8 bytes", path)
        out[str(key)] = _from(item, path, depth + 1)
        path.pop()
    if "$type" in out:
        type_ = out["$type"]
        if not isinstance(type_, str) or not type_:
            path.append("$type")
            _fail("$type must be a non-empty string", path)
        if type_ == "blob":
            problem = blob_problem(out)
            if problem is not None:
                _fail(f"invalid blob: {problem}", path)
    return out


# ---------------------------------------------------------------------------------------
# data model -> JSON value


def to_json(value: object) -> Any:
    """Convert a data-model value to its JSON value (ready for ``json.dumps``).

    Strict on write: refuses (``EncodeError`` with the path) floats, integers outside
    +/-(2^53 - 1), non-str keys, lone surrogates, bad ``$type`` values, malformed blobs and
    maps that hold a ``$link`` or ``$bytes`` key (their JSON would read back as a link or
    bytes, not as the map).
    """
    return _to(value, [], 0)


def _to(value: object, path: _Path, depth: int) -> Any:
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        if not value.isascii() and _SURROGATE.search(value) is not None:
            raise EncodeError("string contains a lone surrogate", tuple(path))
        return str(value)
    if isinstance(value, bool):  # pragma: no cover - handled above
        return value
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return int(value)
        raise EncodeError("integer outside the JSON-safe range +/-(2^53 - 1)", tuple(path))
    if isinstance(value, CID):
        return {"$link": str(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": b64encode_unpadded(value)}
    if isinstance(value, list | tuple):
        if depth >= MAX_DEPTH:
            raise EncodeError(f"nesting deeper than {MAX_DEPTH} levels", tuple(path))
        out: list[Any] = []
        for i, item in enumerate(value):
            path.append(i)
            out.append(_to(item, path, depth + 1))
            path.pop()
        return out
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            raise EncodeError(f"nesting deeper than {MAX_DEPTH} levels", tuple(path))
        if "$link" in value or "$bytes" in value:
            raise EncodeError(
                "a map with a $link or $bytes key has no unambiguous JSON form", tuple(path)
            )
        result: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise EncodeError(f"map key {key!r} is not a str", tuple(path))
            path.append(key)
            if not key.isascii() and _SURROGATE.search(key) is not None:
                raise EncodeError("map key contains a lone surrogate", tuple(path))
            result[str(key)] = _to(item, path, depth + 1)
            path.pop()
        if "$type" in value:
            type_ = value["$type"]
            if not isinstance(type_, str) or not type_:
                raise EncodeError("$type must be a non-empty string", (*path, "$type"))
            if type_ == "blob":
                problem = blob_problem(value)
                if problem is not None:
                    raise EncodeError(f"invalid blob: {problem}", tuple(path))
        return result
    if isinstance(value, float):
        raise EncodeError("floats are not part of the data model", tuple(path))
    raise EncodeError(f"{type(value).__qualname__} is not a data-model value", tuple(path))


# ---------------------------------------------------------------------------------------
# text


def _reject_constant(name: str) -> NoReturn:
    raise InvalidJsonError(f"{name} is not allowed (no NaN or Infinity in the data model)")


def _parse_int(text: str) -> int:
    # The safe range has at most 16 digits; refusing longer text up front also avoids
    # Python's quadratic int() on huge digit strings.
    if len(text.lstrip("-")) > 16:
        raise InvalidJsonError(f"integer {text[:24]}... outside the safe range +/-(2^53 - 1)")
    value = int(text)
    if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return value
    raise InvalidJsonError(f"integer {text} outside the safe range +/-(2^53 - 1)")


def _parse_float(text: str) -> int:
    # Exact decimal arithmetic: a float would read 1.00000000000000001 as 1.0 and accept
    # a non-integral number.
    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the JSON scanner only passes numbers
        raise InvalidJsonError(f"invalid number {text[:24]!r}") from None
    if not number.is_finite() or abs(number) > MAX_SAFE_INTEGER:
        raise InvalidJsonError(f"number {text[:24]} outside the safe range +/-(2^53 - 1)")
    if number != number.to_integral_value():
        raise InvalidJsonError(f"number {text[:24]} is not an integer (floats are not allowed)")
    return int(number)


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise InvalidJsonError(f"duplicate object key {key[:100]!r}")
            seen.add(key)
    return obj


def _check_depth(text: str, limit: int) -> None:
    """Refuse nesting deeper than ``limit`` without recursing (linear scan)."""
    if text.count("[") + text.count("{") <= limit:
        return
    depth = 0
    for match in _DEPTH_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                raise InvalidJsonError(f"JSON nesting deeper than {limit} levels")
        elif token in "]}":
            depth -= 1


def loads_json(text: str | bytes | bytearray, *, require_object: bool = False) -> Any:
    """Parse JSON text strictly and convert it to the data model (see :func:`from_json`).

    Bytes must be UTF-8. Besides the :func:`from_json` rules, refuses duplicate keys,
    NaN/Infinity literals and nesting deeper than :data:`MAX_JSON_DEPTH` (checked before
    parsing, so even 10^6 nested brackets fail fast with ``InvalidJsonError``).
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidJsonError(f"JSON text is not valid UTF-8 (byte {exc.start})") from None
    elif not isinstance(text, str):
        raise TypeError(f"JSON text must be str or bytes, not {type(text).__name__}")
    _check_depth(text, MAX_JSON_DEPTH)
    try:
        obj = json.loads(
            text,
            object_pairs_hook=_object_pairs,
            parse_constant=_reject_constant,
            parse_int=_parse_int,
            parse_float=_parse_float,
        )
    except InvalidJsonError:
        raise
    except json.JSONDecodeError as exc:
        raise InvalidJsonError(
            f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except (ValueError, RecursionError) as exc:  # pragma: no cover - defensive
        raise InvalidJsonError(f"invalid JSON: {exc}") from None
    return from_json(obj, require_object=require_object)


def dumps_json(value: object) -> str:
    """Serialise a data-model value as compact JSON text (no spaces, UTF-8 characters
    kept, key order as given)."""
    return json.dumps(to_json(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False)

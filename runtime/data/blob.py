"""Blob references: the typed view :class:`Blob` and :func:`find_blobs`.

In the decoded data model a blob is a plain map, exactly the one that is encoded to CBOR::

    {"$type": "blob", "ref": CID, "mimeType": "image/jpeg", "size": 10000}

Keeping it a dict means decoding and re-encoding never changes a record's bytes, and
generic code needs no special type. :class:`Blob` is an immutable, validated view of such
a map (:meth:`Blob.from_data` / :meth:`Blob.to_data`, and the JSON forms
:meth:`Blob.from_json` / :meth:`Blob.to_json`).

Rules for the current form (what we write): no other keys, ``ref`` a CID with the raw
codec (0x55), ``mimeType`` a non-empty string containing ``/``, ``size`` an integer
``>= 0`` (zero-byte blobs are valid; negative sizes never are).

The legacy form ``{"cid": "<cid string>", "mimeType": "..."}`` (no ``$type``, no size)
can only be recognised where a schema says ``blob``, so :func:`find_blobs` does not see
it; :meth:`Blob.from_data` / :meth:`Blob.from_json` read it when the caller knows it is a
blob. A legacy blob keeps its exact ``cid`` text, has ``size == LEGACY_SIZE`` (-1) and
``is_legacy`` true, and serialises back to the legacy shape: it is never upgraded,
because upgrading would change the record's CID.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lexforge.runtime.data.cid import CID, CODEC_RAW
from lexforge.runtime.data.errors import InvalidBlobError, InvalidCidError

__all__ = ["LEGACY_SIZE", "Blob", "blob_problem", "find_blobs"]

#: ``size`` of a legacy blob, whose size is unknown (the spec suggests a size <= 0 marker).
LEGACY_SIZE = -1

_MODERN_KEYS = frozenset({"$type", "ref", "mimeType", "size"})
_LEGACY_KEYS = frozenset({"cid", "mimeType"})
_MAX_SIZE = 2**53 - 1


def _mime_problem(mime_type: object) -> str | None:
    if not isinstance(mime_type, str):
        return f"blob mimeType must be a string, not {type(mime_type).__name__}"
    if "/" not in mime_type:
        return f"blob mimeType {mime_type[:100]!r} is not a MIME type (no '/')"
    return None


def _size_problem(size: object) -> str | None:
    if isinstance(size, bool) or not isinstance(size, int):
        return f"blob size must be an integer, not {type(size).__name__}"
    if not 0 <= size <= _MAX_SIZE:
        return f"blob size {size} out of range (0 .. 2^53 - 1)"
    return None


def _ref_problem(ref: object) -> str | None:
    if not isinstance(ref, CID):
        return f"blob ref must be a CID link, not {type(ref).__name__}"
    if ref.codec != CODEC_RAW:
        return f"blob ref {ref} must use the raw codec (0x55), not 0x{ref.codec:x}"
    return None


def _legacy_problem(ref: object, mime_type: object, size: object) -> str | None:
    if not isinstance(ref, CID) or not isinstance(mime_type, str):
        return "legacy blob needs a CID ref and a string mimeType"
    if size != LEGACY_SIZE:
        return f"legacy blob size must be LEGACY_SIZE ({LEGACY_SIZE})"
    return None


def blob_problem(value: Mapping[str, Any]) -> str | None:
    """Why the data-model map ``value`` (``$type == "blob"``) is not a valid blob, or None.

    The JSON reader and writer use this to refuse malformed blobs with their own error
    types; most callers want :meth:`Blob.from_data` instead.
    """
    if value.get("$type") != "blob":
        return "blob $type must be 'blob'"
    keys = set(value)
    if keys != _MODERN_KEYS:
        missing = sorted(_MODERN_KEYS - keys)
        extra = sorted(str(k) for k in keys - _MODERN_KEYS)
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected {', '.join(extra)}")
        return f"blob object has the wrong keys ({'; '.join(parts)})"
    return (
        _ref_problem(value["ref"])
        or _mime_problem(value["mimeType"])
        or _size_problem(value["size"])
    )


@dataclass(frozen=True, slots=True)
class Blob:
    """A validated reference to a blob: content CID, MIME type and size in bytes.

    ``legacy_cid`` is set only for a blob read in the legacy form: it is the exact ``cid``
    string that was read, written back unchanged. Build current-form blobs with
    ``Blob(ref, mime_type, size)``.
    """

    ref: CID
    mime_type: str
    size: int
    legacy_cid: str | None = None

    def __post_init__(self) -> None:
        if self.legacy_cid is None:
            problem = (
                _ref_problem(self.ref) or _mime_problem(self.mime_type) or _size_problem(self.size)
            )
        else:
            problem = _legacy_problem(self.ref, self.mime_type, self.size)
        if problem is not None:
            raise InvalidBlobError(problem)

    @property
    def is_legacy(self) -> bool:
        """True for a blob read in the legacy ``{"cid", "mimeType"}`` form."""
        return self.legacy_cid is not None

    # -- reading ------------------------------------------------------------------------

    @classmethod
    def from_data(cls, value: object) -> Blob:
        """View a data-model map (current form, ``ref`` a CID; or legacy form) as a Blob."""
        if not isinstance(value, Mapping):
            raise InvalidBlobError(f"a blob must be a map, not {type(value).__name__}")
        if "$type" in value:
            problem = blob_problem(value)
            if problem is not None:
                raise InvalidBlobError(problem)
            return cls(value["ref"], value["mimeType"], value["size"])
        return cls._from_legacy(value)

    @classmethod
    def from_json(cls, value: object) -> Blob:
        """Read a blob's JSON form (``ref`` as ``{"$link": ...}``; or legacy form)."""
        if not isinstance(value, Mapping):
            raise InvalidBlobError(f"a blob must be an object, not {type(value).__name__}")
        if "$type" not in value:
            return cls._from_legacy(value)
        ref = value.get("ref")
        if not (isinstance(ref, Mapping) and set(ref) == {"$link"}):
            raise InvalidBlobError('blob ref must be a {"$link": "<cid>"} object')
        link = ref["$link"]
        if not isinstance(link, str):
            raise InvalidBlobError("blob ref $link must be a string")
        try:
            cid = CID.parse(link)
        except InvalidCidError as exc:
            raise InvalidBlobError(f"blob ref is not a valid CID: {exc}") from None
        return cls.from_data({**value, "ref": cid})

    @classmethod
    def _from_legacy(cls, value: Mapping[Any, Any]) -> Blob:
        if set(value) != _LEGACY_KEYS:
            raise InvalidBlobError(
                "not a blob: expected $type 'blob', or exactly the legacy keys cid, mimeType"
            )
        text, mime_type = value["cid"], value["mimeType"]
        if not isinstance(text, str):
            raise InvalidBlobError("legacy blob cid must be a string")
        if not isinstance(mime_type, str):
            raise InvalidBlobError("legacy blob mimeType must be a string")
        try:
            cid = CID.parse(text, allow_v0=True)
        except InvalidCidError as exc:
            raise InvalidBlobError(f"legacy blob cid is not a valid CID: {exc}") from None
        return cls(cid, mime_type, LEGACY_SIZE, legacy_cid=text)

    # -- writing ------------------------------------------------------------------------

    def to_data(self) -> dict[str, Any]:
        """The data-model map to encode: the current form, or the legacy form unchanged."""
        if self.legacy_cid is not None:
            return {"cid": self.legacy_cid, "mimeType": self.mime_type}
        return {"$type": "blob", "ref": self.ref, "mimeType": self.mime_type, "size": self.size}

    def to_json(self) -> dict[str, Any]:
        """The JSON form: ``ref`` as ``{"$link": ...}``; a legacy blob stays legacy."""
        if self.legacy_cid is not None:
            return {"cid": self.legacy_cid, "mimeType": self.mime_type}
        return {
            "$type": "blob",
            "ref": {"$link": str(self.ref)},
            "mimeType": self.mime_type,
            "size": self.size,
        }


def find_blobs(value: object) -> list[Blob]:
    """Every current-form blob (a map with ``$type == "blob"``) inside a data-model value,
    in document order (map entries in iteration order, depth first).

    Works without a schema, as the spec requires of generic code (e.g. a PDS tracking
    which blobs a record references). A ``$type: "blob"`` map of the wrong shape raises
    :class:`InvalidBlobError`. Legacy blobs are not found: only a schema identifies them.
    Iterative, so depth is limited only by the value itself.
    """
    found: list[Blob] = []
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("$type") == "blob":
                found.append(Blob.from_data(item))
                continue
            stack.extend(reversed(item.values()))
        elif isinstance(item, list | tuple):
            stack.extend(reversed(item))
    return found

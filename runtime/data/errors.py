"""Errors raised by the data-model layer (CIDs, DAG-CBOR, JSON form, blobs).

Every error is a ``ValueError`` through :class:`DataModelError`, so callers that only
want "bad input" can catch ``ValueError``; callers that want to tell the data layer
apart from other validation catch :class:`DataModelError`.
"""

from __future__ import annotations

__all__ = [
    "DataModelError",
    "DecodeError",
    "EncodeError",
    "InvalidBase64Error",
    "InvalidBlobError",
    "InvalidCidError",
    "InvalidJsonError",
]

Path = tuple[str | int, ...]


def _with_path(reason: str, path: Path) -> str:
    if not path:
        return reason
    where = "".join(f"[{p}]" if isinstance(p, int) else f"[{p!r}]" for p in path)
    return f"{reason} (at value{where})"


class DataModelError(ValueError):
    """Base class of every error in ``lexforge.runtime.data``."""


class DecodeError(DataModelError):
    """Input that is not a valid, canonical encoding of a data-model value.

    ``reason`` is the bare explanation; ``offset`` is the byte offset into the input where
    the problem was found, when the decoder knows it (it is also part of the message).
    """

    def __init__(self, reason: str, offset: int | None = None) -> None:
        super().__init__(reason if offset is None else f"{reason} (at offset {offset})")
        self.reason = reason
        self.offset = offset


class EncodeError(DataModelError):
    """A Python value that has no data-model encoding (float, bad key, wrong type...).

    ``path`` locates the offending value inside the top-level value, e.g.
    ``("embed", "images", 0, "alt")``; it is also part of the message.
    """

    def __init__(self, reason: str, path: Path = ()) -> None:
        super().__init__(_with_path(reason, path))
        self.reason = reason
        self.path = path


class InvalidCidError(DataModelError):
    """A CID (binary or text) that is malformed, too large, or of a refused kind."""


class InvalidBase64Error(DecodeError):
    """Text that is not canonical unpadded base64: the standard alphabet for ``$bytes`` in
    the JSON form, the URL-safe one for base64url (see :mod:`lexforge.runtime.data.b64`)."""


class InvalidJsonError(DecodeError):
    """JSON text or a JSON value that is not a valid data-model value.

    ``path`` locates the problem inside the JSON value, like :attr:`EncodeError.path`.
    """

    def __init__(self, reason: str, path: Path = ()) -> None:
        DataModelError.__init__(self, _with_path(reason, path))
        self.reason = reason
        self.offset = None
        self.path = path


class InvalidBlobError(DataModelError):
    """A blob reference object of the wrong shape (``$type: blob`` map or legacy form)."""

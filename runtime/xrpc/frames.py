"""Event-stream frames: one binary WebSocket message = two DAG-CBOR items.

``header ++ body`` with no length prefix (spec/xrpc.md §8): the header is
``{"op": 1, "t": "#commit"}`` for a message (``t`` is ``#name`` for a def of the same
Lexicon, ``nsid#name`` otherwise) or ``{"op": -1}`` for an error, whose body is
``{"error": "<Name>", "message"?: "<text>"}``. Message bodies carry no ``$type``.
Unknown ``op`` values are skipped by readers; anything that is not exactly two canonical
items with a valid header is an :class:`~.errors.InvalidFrameError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lexforge.runtime.data import DataModelError, decode_prefix, encode
from lexforge.runtime.xrpc.errors import InvalidFrameError, is_valid_error_name

__all__ = [
    "OP_ERROR",
    "OP_MESSAGE",
    "Frame",
    "decode_frame",
    "encode_error_frame",
    "encode_message_frame",
]

OP_MESSAGE = 1
OP_ERROR = -1


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded frame: ``op``, message type ``t`` (``None`` for errors) and the body."""

    op: int
    t: str | None
    body: dict[str, Any]


def decode_frame(data: bytes) -> Frame:
    """Split and check one binary message; raises :class:`InvalidFrameError`."""
    try:
        header, offset = decode_prefix(data)
        if offset == len(data):
            raise InvalidFrameError("frame has a header but no body")
        body, end = decode_prefix(data, offset)
    except DataModelError as exc:
        raise InvalidFrameError(f"frame is not canonical DAG-CBOR: {exc}") from None
    if end != len(data):
        raise InvalidFrameError(f"{len(data) - end} bytes after the frame body")
    if not isinstance(header, dict):
        raise InvalidFrameError("frame header is not a map")
    op = header.get("op")
    if not isinstance(op, int) or isinstance(op, bool):
        raise InvalidFrameError("frame header has no integer 'op'")
    if not isinstance(body, dict):
        raise InvalidFrameError("frame body is not a map")
    t = header.get("t")
    if op == OP_MESSAGE and (not isinstance(t, str) or not t):
        raise InvalidFrameError("message frame header has no 't'")
    if op == OP_ERROR and not isinstance(body.get("error"), str):
        raise InvalidFrameError("error frame body has no 'error' string")
    return Frame(op=op, t=t if isinstance(t, str) else None, body=body)


def encode_message_frame(t: str, body: Mapping[str, Any]) -> bytes:
    """A message frame; ``body`` is data-model values without ``$type``."""
    if not t or "#" not in t:
        raise ValueError(f"frame type must be '#name' or 'nsid#name', got {t!r}")
    return encode({"op": OP_MESSAGE, "t": t}) + encode(dict(body))


def encode_error_frame(error: str, message: str | None = None) -> bytes:
    """An error frame (the connection closes after it)."""
    if not is_valid_error_name(error):
        raise ValueError(f"invalid error name {error!r}")
    body: dict[str, str] = {"error": error}
    if message:
        body["message"] = message
    return encode({"op": OP_ERROR}) + encode(body)

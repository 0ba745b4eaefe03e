"""Firehose frames: bytes on the WebSocket <-> typed :mod:`.events`.

The generic framing (two concatenated DAG-CBOR items, ``{op, t}`` header, error frames)
is the XRPC package's codec, :mod:`lexforge.runtime.xrpc.frames`; this module adds what
is specific to ``subscribeRepos``: the 5 MB frame cap, typed events with strict shape
checks, typed error-frame exceptions, and the skip rules (unknown ``op`` or ``t`` is
not an error, spec/xrpc.md §8).
"""

from __future__ import annotations

from lexforge.runtime.sync.errors import (
    EventError,
    FrameLimitError,
    error_frame_exception,
)
from lexforge.runtime.sync.events import Event, event_from_body, event_to_body
from lexforge.runtime.xrpc.errors import InvalidFrameError
from lexforge.runtime.xrpc.frames import (
    OP_ERROR,
    OP_MESSAGE,
    decode_frame,
    encode_error_frame,
    encode_message_frame,
)

__all__ = [
    "MAX_FRAME_BYTES",
    "MAX_MESSAGE_BYTES",
    "decode_event",
    "encode_error_frame",
    "encode_frame",
]

#: The protocol's cap on one frame (spec/sync.md: "any frame <= 5 MB").
MAX_FRAME_BYTES = 5_000_000
#: The WebSocket message cap a client sets: the frame cap plus room for the header
#: (``{op, t}`` with a long ``nsid#name`` ``t`` is well under 1 KiB). The websockets
#: default (1 MiB) would refuse legal 2 MB commit slices.
MAX_MESSAGE_BYTES = MAX_FRAME_BYTES + 1024


def decode_event(data: bytes | bytearray | memoryview | str) -> Event | None:
    """The typed event in one WebSocket message; ``None`` for a frame to skip.

    Raises :class:`~.errors.StreamErrorFrame` (typed per name: ``FutureCursor``,
    ``ConsumerTooSlow``) for an error frame, :class:`~.errors.FrameLimitError` over
    the caps, and :class:`~.errors.EventError` (incl. ``EventShapeError``) for anything
    malformed: not exactly two canonical CBOR items, header/body of the wrong type, a body
    that does not have the shape its ``t`` requires.
    """
    if isinstance(data, str):
        raise EventError("text message on an event stream (frames are binary)")
    if len(data) > MAX_MESSAGE_BYTES:
        raise FrameLimitError(f"frame is {len(data)} bytes, over the {MAX_FRAME_BYTES} cap")
    try:
        frame = decode_frame(bytes(data))
    except InvalidFrameError as exc:
        raise EventError(str(exc)) from None
    if frame.op == OP_ERROR:
        error = frame.body["error"]
        message = frame.body.get("message")
        raise error_frame_exception(error, message if isinstance(message, str) else None)
    if frame.op != OP_MESSAGE or frame.t is None:
        return None
    return event_from_body(frame.t, frame.body)


def encode_frame(event: Event) -> bytes:
    """The canonical frame (header ++ body) for ``event``, checked like a decode would.

    Raises :class:`~.errors.EventShapeError` / :class:`FrameLimitError` if the event
    would not be accepted by a strict consumer, so a producer never emits one.
    """
    body = event_to_body(event)
    t = event.TYPE
    event_from_body(t, body)  # same rules as the decoder: never emit what we would refuse
    frame = encode_message_frame(t, body)
    if len(frame) > MAX_FRAME_BYTES:
        raise FrameLimitError(f"frame is {len(frame)} bytes, over the {MAX_FRAME_BYTES} cap")
    return frame

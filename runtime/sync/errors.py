"""Typed errors of the sync layer (event frames, commit verification, the consumer).

All derive from :class:`SyncError` (a ``ValueError``). Three families, because callers
react differently to each:

* :class:`EventError`: the bytes on the wire are not a valid frame or event (bad CBOR,
  framing, or a body without the shape its ``t`` requires: :class:`EventShapeError`;
  over a size cap: :class:`FrameLimitError`). The spec's answer is to drop the
  connection and reconnect.
* :class:`HandshakeRefusedError`: the server answered the WebSocket handshake with an
  HTTP status instead of upgrading. 501 (streams not supported) and 4xx other than 429
  are final; 429 and 5xx are worth another try later (``retryable``).
* :class:`StreamErrorFrame`: the server sent a well-formed error frame
  (``{op: -1}{error, message?}``) and is closing; :class:`FutureCursorError` means "do
  not retry with this cursor", :class:`ConsumerTooSlowError` "reconnect, read faster".
* verification and consumer failures: :class:`VerificationError` subclasses (so a relay
  can count rejections by kind; the consumer drops a rejected event and moves on),
  :class:`HandlerError` (the handler raised; the consumer stops without moving its cursor
  past that event), :class:`CursorStoreError`, :class:`VerifierUnavailableError`.

Ownership: the verification errors are the repo engineer's (``verify.py``), the rest the
firehose engineer's.
"""

from __future__ import annotations

from lexforge.runtime.xrpc.retry import retryable_status

__all__ = [
    "ConsumerTooSlowError",
    "CursorStoreError",
    "EventError",
    "EventShapeError",
    "FrameLimitError",
    "FutureCursorError",
    "FutureRevError",
    "HandlerError",
    "HandshakeRefusedError",
    "StaleRevError",
    "StreamErrorFrame",
    "SyncError",
    "VerificationError",
    "VerifierUnavailableError",
    "error_frame_exception",
]


class SyncError(ValueError):
    """Base class of every sync error."""


class EventError(SyncError):
    """A frame or event body is malformed (bad CBOR, missing or mistyped fields)."""


class EventShapeError(EventError):
    """A frame decoded, but its body does not have the shape its ``t`` requires.

    ``t`` is the frame type and ``field`` the offending body field (if one is to blame).
    """

    def __init__(self, message: str, *, t: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.t = t
        self.field = field


class FrameLimitError(EventError):
    """A frame, CAR slice or op list exceeds the protocol's size caps."""


class HandshakeRefusedError(SyncError):
    """The server refused the WebSocket handshake with HTTP ``status``.

    ``error`` is the XRPC error name from the JSON body, or the generic name for the
    status when the body had none (proxies send HTML); ``message`` the body's message,
    if any; ``retry_after`` the server's ``Retry-After`` in seconds (``None`` without a
    usable one). ``retryable`` follows the event-stream spec: 429 and 5xx other than 501
    may succeed later; 501 (streams not supported), every other 4xx (bad request, auth)
    and any other status (the server does not speak XRPC streams there) will not.
    """

    def __init__(
        self,
        status: int,
        error: str,
        message: str | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.error = error
        self.message = message
        self.retry_after = retry_after
        text = f"handshake refused: HTTP {status} {error}"
        super().__init__(f"{text}: {message}" if message else text)

    @property
    def retryable(self) -> bool:
        """Whether connecting again later may succeed (429, 5xx except 501)."""
        return retryable_status(self.status)


class StreamErrorFrame(SyncError):
    """The server sent an error frame (``op: -1``): ``error`` name, optional ``message``."""

    #: The error name a subclass stands for (``None``: any name).
    error_name: str | None = None

    def __init__(self, error: str, message: str | None = None) -> None:
        self.error = error
        self.message = message
        super().__init__(f"{error}: {message}" if message else error)


class FutureCursorError(StreamErrorFrame):
    """``FutureCursor``: the requested cursor is ahead of the server (do not reconnect)."""

    error_name = "FutureCursor"


class ConsumerTooSlowError(StreamErrorFrame):
    """``ConsumerTooSlow``: the server's buffer for us overflowed and it cut us off."""

    error_name = "ConsumerTooSlow"


_ERROR_FRAME_CLASSES: dict[str, type[StreamErrorFrame]] = {
    "FutureCursor": FutureCursorError,
    "ConsumerTooSlow": ConsumerTooSlowError,
}


def error_frame_exception(error: str, message: str | None = None) -> StreamErrorFrame:
    """The typed exception for an error frame named ``error``."""
    return _ERROR_FRAME_CLASSES.get(error, StreamErrorFrame)(error, message)


class VerificationError(SyncError):
    """A commit or sync event failed verification (signature, DID, rev, hashes, ops).

    Verify hooks raise this (or a subclass) to reject an event; the consumer then drops
    it and reports it. Any other exception from a hook is a consumer failure.
    """


class StaleRevError(VerificationError):
    """The event's rev is not after the last rev processed for the repo."""


class FutureRevError(VerificationError):
    """The event's rev lies too far in the future."""


class VerifierUnavailableError(SyncError):
    """Verification was requested but no verifier is available in this installation."""


class HandlerError(SyncError):
    """The event handler (or verify hook) raised; ``seq`` is the event it failed on.

    The original exception is ``__cause__``. The consumer's cursor never passes ``seq``.
    """

    def __init__(self, seq: int, message: str) -> None:
        super().__init__(message)
        self.seq = seq


class CursorStoreError(SyncError):
    """A cursor store could not load or save the cursor."""

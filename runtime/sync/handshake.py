"""What a refused WebSocket handshake means for a stream consumer.

An event-stream server that will not upgrade answers with an HTTP status and (SHOULD)
an XRPC error body (spec/xrpc.md §8): 501 "streams not supported", 4xx for bad requests
and auth, 429 rate limited with ``Retry-After``, 5xx for failures worth retrying.
:func:`handshake_refusal` turns such a reply into a
:class:`~.errors.HandshakeRefusedError`; :func:`retry_after_seconds` reads
``Retry-After`` in both of its HTTP forms (delay seconds, or an HTTP date).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime

from lexforge.runtime.sync.errors import HandshakeRefusedError
from lexforge.runtime.xrpc.errors import error_from_payload

__all__ = ["MAX_MESSAGE_CHARS", "handshake_refusal", "retry_after_seconds"]

#: A refusal's ``message`` is cut to this length: it ends up in logs on every retry, and
#: the body may be up to websockets' 1 MiB cap.
MAX_MESSAGE_CHARS = 500


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, or ``None`` if it has no usable one.

    ``value`` is a non-negative integer of seconds or an HTTP date in any of the three
    forms recipients must read (RFC 9110 §5.6.7; all GMT, so a date without a zone is
    read as GMT); a date in the past means 0. ``now`` is the current POSIX time (tests
    pin it). Anything else (negative, fractional, garbage) is ignored.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)  # a huge value becomes inf; callers cap the wait
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def handshake_refusal(
    status: int,
    headers: Mapping[str, str],
    body: bytes | bytearray | None,
    *,
    now: float | None = None,
) -> HandshakeRefusedError:
    """The typed error for a handshake answered with ``status`` (not 101).

    ``headers`` must look names up case-insensitively (``websockets``' ``Headers`` does);
    ``body`` is parsed as an XRPC error when it is JSON and ignored otherwise.
    """
    try:
        payload: object = json.loads(body) if body else None
    except (ValueError, RecursionError):
        payload = None  # an HTML page from a proxy, nothing, or a hostile nesting
    xrpc_error = error_from_payload(status, payload)
    message = xrpc_error.message
    if message is not None and len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + "..."
    return HandshakeRefusedError(
        status,
        xrpc_error.error,
        message,
        retry_after=retry_after_seconds(headers.get("Retry-After"), now=now),
    )

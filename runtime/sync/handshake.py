"""What a refused WebSocket handshake means for a stream consumer.

An event-stream server that will not upgrade answers with an HTTP status and (SHOULD)
an XRPC error body (spec/xrpc.md §8): 501 "streams not supported", 4xx for bad requests
and auth, 429 rate limited with ``Retry-After``, 5xx for failures worth retrying.
:func:`handshake_refusal` turns such a reply into a
:class:`~.errors.HandshakeRefusedError`; :func:`retry_after_seconds` (from
``lexforge.runtime.xrpc.retry``) reads ``Retry-After`` in both of its HTTP forms.
"""

from __future__ import annotations

from collections.abc import Mapping

from lexforge.runtime.sync.errors import HandshakeRefusedError
from lexforge.runtime.xrpc.errors import error_from_payload, parse_error_body
from lexforge.runtime.xrpc.retry import retry_after_seconds

__all__ = ["MAX_MESSAGE_CHARS", "handshake_refusal"]

#: A refusal's ``message`` is cut to this length: it ends up in logs on every retry, and
#: the body may be up to websockets' 1 MiB cap.
MAX_MESSAGE_CHARS = 500


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
    xrpc_error = error_from_payload(status, parse_error_body(body))
    message = xrpc_error.message
    if message is not None and len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + "..."
    return HandshakeRefusedError(
        status,
        xrpc_error.error,
        message,
        retry_after=retry_after_seconds(headers.get("Retry-After"), now=now),
    )

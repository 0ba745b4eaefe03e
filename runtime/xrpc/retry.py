"""When to try an XRPC call or an event-stream connection again, and how long to wait.

One rule for which statuses are worth retrying (spec/xrpc.md: 429 and 5xx except 501,
which means "not supported") and one reader of ``Retry-After`` in both of its forms,
delay seconds or an HTTP date (RFC 9110 §10.2.3): a client that only read the number
would ignore the date form and retry too early. Shared by the XRPC client's retry
policy, ``XrpcRateLimited.retry_after`` and the event-stream consumer.
"""

from __future__ import annotations

import math
import time
from datetime import UTC

__all__ = ["retry_after_seconds", "retryable_status"]


def retryable_status(status: int) -> bool:
    """Whether a reply with ``status`` may succeed if tried again later."""
    return status == 429 or (500 <= status < 600 and status != 501)


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
    # Imported here: email.utils pulls in socket and more, and most replies have no date.
    from email.utils import parsedate_to_datetime  # noqa: PLC0415

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds) if math.isfinite(seconds) else None

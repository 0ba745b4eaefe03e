"""Reading a request body under a byte cap, decompressing as it streams.

Starlette's ``Request.body()`` reads without limit (a 50 MB chunked body was accepted
in full, reliability.md §5.7). Here the body is streamed through a counter: a declared
``Content-Length`` over the cap is refused before reading, and the decoded (decompressed)
size is checked after every chunk, so a lying length, a missing length or a gzip bomb all
stop at the cap with 413 ``PayloadTooLarge``.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterable
from typing import Protocol

from lexforge.runtime.xrpc.errors import (
    XrpcBadRequest,
    XrpcPayloadTooLarge,
    XrpcUnsupportedMediaType,
)

__all__ = ["has_body", "read_body"]

#: The raw (still compressed) stream may exceed the decoded cap by this much (framing).
_RAW_SLACK = 64 * 1024


class _Decoder(Protocol):
    def decompress(self, data: bytes, max_length: int = ...) -> bytes: ...
    def flush(self) -> bytes: ...
    @property
    def unconsumed_tail(self) -> bytes: ...
    @property
    def eof(self) -> bool: ...


def _decoder(content_encoding: str | None) -> _Decoder | None:
    if content_encoding is None:
        return None
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return None
    if len(codings) > 1:
        raise XrpcUnsupportedMediaType("Only one Content-Encoding is supported")
    coding = codings[0]
    if coding in ("gzip", "x-gzip"):
        return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    if coding == "deflate":
        return zlib.decompressobj(wbits=zlib.MAX_WBITS)
    raise XrpcUnsupportedMediaType(f"Unsupported Content-Encoding: {coding}")


def _too_large(limit: int) -> XrpcPayloadTooLarge:
    return XrpcPayloadTooLarge(
        f"Request body exceeds the limit of {limit} bytes", headers={"connection": "close"}
    )


def has_body(content_length: str | None, transfer_encoding: str | None) -> bool:
    """Whether the headers announce a body (non-zero length or a transfer coding)."""
    if transfer_encoding:
        return True
    return content_length is not None and content_length.strip() not in ("", "0")


async def read_body(
    stream: AsyncIterable[bytes],
    *,
    limit: int,
    content_length: str | None = None,
    content_encoding: str | None = None,
) -> bytes:
    """Read ``stream`` fully, decoded, refusing more than ``limit`` decoded bytes.

    Raises 413 over the cap, 400 for a malformed ``Content-Length`` or a corrupt or
    truncated compressed body, 415 for an unknown ``Content-Encoding``.
    """
    decoder = _decoder(content_encoding)
    if content_length is not None:
        text = content_length.strip()
        if not text.isdigit() or len(text) > 19:
            raise XrpcBadRequest("Invalid Content-Length")
        if decoder is None and int(text) > limit:
            raise _too_large(limit)
        if decoder is not None and int(text) > limit + _RAW_SLACK:
            raise _too_large(limit)
    out = bytearray()
    raw = 0
    async for chunk in stream:
        if not chunk:
            continue
        raw += len(chunk)
        if decoder is None:
            out += chunk
            if len(out) > limit:
                raise _too_large(limit)
            continue
        if raw > limit + _RAW_SLACK:
            raise _too_large(limit)
        try:
            out += decoder.decompress(chunk, limit - len(out) + 1)
        except zlib.error:
            raise XrpcBadRequest("Corrupt compressed request body") from None
        if len(out) > limit or decoder.unconsumed_tail:
            raise _too_large(limit)
    if decoder is not None:
        try:
            out += decoder.flush()
        except zlib.error:
            raise XrpcBadRequest("Corrupt compressed request body") from None
        if len(out) > limit:
            raise _too_large(limit)
        if raw and not decoder.eof:
            raise XrpcBadRequest("Truncated compressed request body")
    return bytes(out)

"""Capped body reading (reliability.md H1): limits count decoded bytes, before parsing."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator, Iterable

import pytest

from lexforge.runtime.xrpc import XrpcBadRequest, XrpcPayloadTooLarge, XrpcUnsupportedMediaType
from lexforge.runtime.xrpc.body import has_body, read_body
from lexforge.runtime.xrpc.content import encoding_matches, parse_content_type, request_content_type
from lexforge.runtime.xrpc.limits import DEFAULT_METHOD_LIMITS, Limits

pytestmark = pytest.mark.anyio


async def stream(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def test_exact_limit_passes_one_more_byte_fails() -> None:
    assert await read_body(stream([b"a" * 5, b"b" * 5]), limit=10) == b"a" * 5 + b"b" * 5
    with pytest.raises(XrpcPayloadTooLarge) as info:
        await read_body(stream([b"a" * 5, b"b" * 6]), limit=10)
    assert info.value.headers["connection"] == "close"


async def test_declared_length_over_the_cap_is_refused_before_reading() -> None:
    async def never() -> AsyncIterator[bytes]:
        raise AssertionError("the body must not be read")
        yield b""  # pragma: no cover

    with pytest.raises(XrpcPayloadTooLarge):
        await read_body(never(), limit=10, content_length="11")
    for bad in ("abc", "-1", "1" * 30, "1.5"):
        with pytest.raises(XrpcBadRequest):
            await read_body(stream([]), limit=10, content_length=bad)


async def test_lying_length_is_still_counted() -> None:
    with pytest.raises(XrpcPayloadTooLarge):
        await read_body(stream([b"x" * 100]), limit=50, content_length="3")


@pytest.mark.parametrize("coding", ["gzip", "x-gzip", "deflate", "identity, gzip", "GZIP"])
async def test_decompression(coding: str) -> None:
    data = b"hello world " * 100
    packed = zlib.compress(data) if coding == "deflate" else gzip.compress(data)
    chunks = [packed[i : i + 7] for i in range(0, len(packed), 7)]
    got = await read_body(stream(chunks), limit=len(data), content_encoding=coding)
    assert got == data
    with pytest.raises(XrpcPayloadTooLarge):
        await read_body(stream(chunks), limit=len(data) - 1, content_encoding=coding)


async def test_bombs_stop_at_the_cap() -> None:
    bomb = gzip.compress(b"\0" * 50_000_000)  # ~50 KB compressed
    with pytest.raises(XrpcPayloadTooLarge):
        await read_body(stream([bomb]), limit=1_000_000, content_encoding="gzip")


async def test_corrupt_and_unsupported_codings() -> None:
    with pytest.raises(XrpcBadRequest):
        await read_body(stream([b"not gzip at all"]), limit=100, content_encoding="gzip")
    with pytest.raises(XrpcBadRequest):
        await read_body(
            stream([gzip.compress(b"abc" * 50)[:-10]]), limit=1000, content_encoding="gzip"
        )
    for coding in ("br", "compress", "gzip, deflate"):
        with pytest.raises(XrpcUnsupportedMediaType):
            await read_body(stream([b"x"]), limit=100, content_encoding=coding)


def test_has_body() -> None:
    assert not has_body(None, None)
    assert not has_body("0", None)
    assert has_body("12", None)
    assert has_body(None, "chunked")


@pytest.mark.parametrize(
    ("content_type", "encoding", "ok"),
    [
        ("application/json", "application/json", True),
        ("Application/JSON; charset=utf-8", "application/json", True),
        ("text/plain", "application/json", False),
        ("image/png", "*/*", True),
        ("image/png", "image/*", True),
        ("video/mp4", "image/*", False),
        ("video/mp4", "image/png, video/mp4", True),
        ("application/vnd.ipld.car", "application/vnd.ipld.car", True),
        (None, "*/*", False),
        ("garbage", "*/*", False),
        ("", "*/*", False),
    ],
)
def test_encoding_matches(content_type: str | None, encoding: str, ok: bool) -> None:
    assert encoding_matches(content_type, encoding) is ok


def test_content_type_helpers() -> None:
    assert parse_content_type(" Text/HTML ; q=1") == "text/html"
    assert parse_content_type("nope") is None
    assert request_content_type("application/json") == "application/json"
    assert request_content_type("*/*") == "application/octet-stream"
    assert request_content_type("image/*", "image/png") == "image/png"
    with pytest.raises(ValueError, match="does not match"):
        request_content_type("image/*", "video/mp4")


def test_limits() -> None:
    limits = Limits()
    assert limits.for_method("com.example.x", "application/json") == 150 * 1024
    assert limits.for_method("com.example.x", "text/plain") == 100 * 1024
    assert limits.for_method("com.example.x", "*/*") == 5 * 1024 * 1024
    assert limits.for_method("com.atproto.repo.createRecord", "application/json") == 1_000_000
    custom = Limits(json=10, methods={**DEFAULT_METHOD_LIMITS, "com.example.big": 99})
    assert custom.for_method("com.example.big", "application/json") == 99
    assert custom.for_method("com.example.x", "application/json") == 10
    with pytest.raises(ValueError, match="limit"):
        Limits(json=-1)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"

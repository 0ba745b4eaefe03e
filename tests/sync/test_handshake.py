"""The firehose consumer acting on refused handshakes (HTTP statuses instead of 101).

A real uvicorn on 127.0.0.1 answers each handshake from a script (``tests/xrpc/
refusing.py``); after the script it upgrades and sends one event. Spec (xrpc.md §8):
501 and 4xx other than 429 are final; 429 waits for ``Retry-After``; 5xx retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from click.testing import CliRunner

from lexforge.runtime.cli import main
from lexforge.runtime.sync import HandshakeRefusedError, RepoEvent, encode_frame
from lexforge.runtime.sync.consumer import Backoff, FirehoseConsumer
from lexforge.runtime.sync.handshake import MAX_MESSAGE_CHARS, handshake_refusal
from lexforge.runtime.xrpc import MethodNotImplemented, XrpcContext
from lexforge.runtime.xrpc.retry import retry_after_seconds
from tests.sync.firehose_fixtures import interleave, make_histories
from tests.xrpc.live import serve
from tests.xrpc.refusing import Refusal, RefusingServer, refusing_server, xrpc_body

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

EVENT = interleave(make_histories(1, 1))[0]
FAST = Backoff(initial=0.01, maximum=0.05)


@pytest.fixture(scope="module")
def module_server() -> Iterator[RefusingServer]:
    with refusing_server() as server:
        yield server


@pytest.fixture
def server(module_server: RefusingServer) -> RefusingServer:
    module_server.reset([], [encode_frame(EVENT)])
    return module_server


class Recorder:
    def __init__(self) -> None:
        self.events: list[RepoEvent] = []
        self.errors: list[BaseException] = []
        self.got_event = asyncio.Event()

    async def handler(self, event: RepoEvent) -> None:
        self.events.append(event)
        self.got_event.set()

    def consumer(self, server: RefusingServer, max_retry_after: float = 300.0) -> FirehoseConsumer:
        return FirehoseConsumer(
            server.ws_url,
            self.handler,
            on_error=self.errors.append,
            backoff=FAST,
            max_retry_after=max_retry_after,
        )

    @property
    def refusals(self) -> list[HandshakeRefusedError]:
        assert all(isinstance(e, HandshakeRefusedError) for e in self.errors)
        return [e for e in self.errors if isinstance(e, HandshakeRefusedError)]


async def refused_for_good(server: RefusingServer, refusal: Refusal) -> HandshakeRefusedError:
    server.reset([refusal, refusal, refusal], [encode_frame(EVENT)])
    recorder = Recorder()
    with pytest.raises(HandshakeRefusedError) as info:
        await asyncio.wait_for(recorder.consumer(server).run(), 5)
    assert len(server.attempts) == 1  # never asked again
    assert recorder.errors == [info.value]  # reported once, then raised
    assert not info.value.retryable
    assert recorder.events == []
    return info.value


async def served_after(
    server: RefusingServer, refusals: list[Refusal], max_retry_after: float = 300.0
) -> Recorder:
    server.reset(refusals, [encode_frame(EVENT)])
    recorder = Recorder()
    async with recorder.consumer(server, max_retry_after):
        await asyncio.wait_for(recorder.got_event.wait(), 5)
    assert recorder.events == [EVENT]
    assert len(server.attempts) == len(refusals) + 1
    return recorder


# -- final refusals -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (501, "MethodNotImplemented"),
        (400, "InvalidRequest"),
        (401, "AuthMissing"),
        (403, "Forbidden"),
        (404, "XRPCNotSupported"),
        (426, "InvalidRequest"),
    ],
)
async def test_final_statuses_stop_the_consumer(
    server: RefusingServer, status: int, error: str
) -> None:
    refusal = Refusal(status, xrpc_body(error, "not here"))
    exc = await refused_for_good(server, refusal)
    assert (exc.status, exc.error, exc.message) == (status, error, "not here")
    assert f"HTTP {status} {error}: not here" in str(exc)


async def test_non_json_body_gets_the_generic_name(server: RefusingServer) -> None:
    refusal = Refusal(403, b"<html>nope</html>", content_type="text/html")
    exc = await refused_for_good(server, refusal)
    assert (exc.status, exc.error, exc.message) == (403, "Forbidden", None)


async def test_a_plain_http_answer_is_final(server: RefusingServer) -> None:
    """200 without an upgrade: not an event-stream endpoint (spec: XRPCNotSupported)."""
    exc = await refused_for_good(server, Refusal(200, b"hello", content_type="text/plain"))
    assert (exc.status, exc.error) == (200, "XRPCNotSupported")


async def test_a_lexforge_server_with_a_scaffolded_stub_is_final() -> None:
    """End to end with this project's server: a subscribeRepos handler written by
    ``lexforge scaffold`` is refused with 501, and the consumer stops."""
    from lexforge.generated.server import create_app

    async def handle(ctx: XrpcContext, params: object) -> AsyncIterator[object]:
        raise MethodNotImplemented()
        yield

    app = create_app({"com.atproto.sync.subscribeRepos": handle})
    recorder = Recorder()
    with serve(app) as url:
        consumer = FirehoseConsumer(url, recorder.handler, on_error=recorder.errors.append)
        with pytest.raises(HandshakeRefusedError) as info:
            await asyncio.wait_for(consumer.run(), 5)
    assert (info.value.status, info.value.error) == (501, "MethodNotImplemented")
    assert consumer.connections == 0


# -- retried refusals ---------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_are_retried(server: RefusingServer, status: int) -> None:
    recorder = await served_after(server, [Refusal(status, xrpc_body("Busy")), Refusal(status)])
    assert [(e.status, e.retryable) for e in recorder.refusals] == [(status, True)] * 2
    assert max(server.gaps()) < 1  # the fast backoff, no Retry-After


async def test_rate_limit_without_retry_after_backs_off(server: RefusingServer) -> None:
    recorder = await served_after(server, [Refusal(429, xrpc_body("RateLimitExceeded"))])
    (error,) = recorder.refusals
    assert (error.status, error.error, error.retry_after) == (429, "RateLimitExceeded", None)
    assert server.gaps()[0] < 1


async def test_rate_limit_honours_retry_after_seconds(server: RefusingServer) -> None:
    refusal = Refusal(429, xrpc_body("RateLimitExceeded"), headers={"Retry-After": "1"})
    recorder = await served_after(server, [refusal])
    assert [e.retry_after for e in recorder.refusals] == [1.0]
    assert server.gaps()[0] >= 0.95  # the backoff alone would be <= 0.05 s


@pytest.mark.parametrize(
    "retry_after",
    ["3600", format_datetime(datetime(2999, 1, 1, tzinfo=UTC), usegmt=True)],
)
async def test_retry_after_is_capped(server: RefusingServer, retry_after: str) -> None:
    refusal = Refusal(429, headers={"Retry-After": retry_after})
    await served_after(server, [refusal], max_retry_after=0.2)
    assert 0.15 <= server.gaps()[0] < 1


async def test_retry_after_on_503_is_honoured_too(server: RefusingServer) -> None:
    refusal = Refusal(503, headers={"Retry-After": "3600"})
    await served_after(server, [refusal], max_retry_after=0.2)
    assert 0.15 <= server.gaps()[0] < 1


async def test_stop_during_a_retry_after_wait(server: RefusingServer) -> None:
    server.reset([Refusal(429, headers={"Retry-After": "3600"})])
    recorder = Recorder()
    consumer = recorder.consumer(server)
    async with consumer:
        while not recorder.errors:
            await asyncio.sleep(0.01)
        started = asyncio.get_running_loop().time()
        consumer.stop()
        await asyncio.wait_for(consumer.wait(), 2)
    assert asyncio.get_running_loop().time() - started < 1
    assert len(server.attempts) == 1


def test_max_retry_after_must_be_a_non_negative_number() -> None:
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="max_retry_after"):
            FirehoseConsumer("ws://127.0.0.1:9", Recorder().handler, max_retry_after=bad)


# -- lexforge firehose ----------------------------------------------------------------


def test_cli_reports_a_final_refusal(module_server: RefusingServer) -> None:
    module_server.reset([Refusal(501, xrpc_body("MethodNotImplemented", "streams are off"))])
    result = CliRunner().invoke(main, ["firehose", module_server.ws_url])
    assert result.exit_code == 1
    assert "the server refused the subscription" in result.output
    assert "HTTP 501 MethodNotImplemented: streams are off" in result.output
    assert len(module_server.attempts) == 1


# -- units --------------------------------------------------------------------------

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        (" 120 ", 120.0),
        ("9" * 400, float("inf")),  # the caller caps it
        ("Wed, 01 May 2024 12:00:30 GMT", 30.0),
        ("Wed, 01 May 2024 11:00:00 GMT", 0.0),  # in the past: now
        ("Wednesday, 01-May-24 12:01:00 GMT", 60.0),  # obsolete RFC 850 form
        ("Wed May  1 12:02:00 2024", 120.0),  # obsolete asctime form (GMT, no zone)
        ("Wed, 01 May 2024 12:00:30 +0100", 0.0),  # a zone is honoured
        ("Wed, 32 May 2024 12:00:30 GMT", None),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
        ("\u0661\u0662", None),  # non-ASCII digits
        (None, None),
    ],
)
def test_retry_after_seconds(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value, now=NOW) == seconds


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        (b'{"error": "AuthMissing", "message": "log in"}', "AuthMissing", "log in"),
        (b'{"error": "has space"}', "Forbidden", None),  # not a valid error name
        (b'{"message": 5}', "Forbidden", None),
        (b'["error"]', "Forbidden", None),
        (b"[" * 100_000, "Forbidden", None),  # hostile nesting does not crash
        (b"\xff\xfe garbage", "Forbidden", None),
        (b"", "Forbidden", None),
        (None, "Forbidden", None),
    ],
)
def test_handshake_refusal_body(body: bytes | None, error: str, message: str | None) -> None:
    exc = handshake_refusal(403, {}, body)
    assert (exc.status, exc.error, exc.message, exc.retryable) == (403, error, message, False)


def test_handshake_refusal_cuts_long_messages() -> None:
    exc = handshake_refusal(500, {}, xrpc_body("Oops", "x" * 10_000))
    assert exc.message == "x" * MAX_MESSAGE_CHARS + "..."
    assert exc.retryable


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        *[(status, True) for status in (429, 500, 502, 503, 504, 599)],
        *[(status, False) for status in (501, 400, 401, 408, 426, 499, 200, 302, 101)],
    ],
)
def test_retryable_statuses(status: int, retryable: bool) -> None:
    assert HandshakeRefusedError(status, "X").retryable is retryable


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"

"""Handle resolution matrix (reliability N2): a real DNS stub for TXT records and a real
HTTPS server for ``/.well-known/atproto-did``."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from lexforge.runtime.identity import (
    FetchPolicy,
    HandleNotFoundError,
    HandleReservedTldError,
    HandleResolutionError,
    HandleResolver,
    MalformedIdentifierError,
    SafeHttpClient,
    SafeTransport,
    StaticHostResolver,
)
from lexforge.runtime.identity.handle_resolver import (
    DnsTxtResolver,
    did_from_txt_records,
    did_from_well_known_body,
)
from lexforge.runtime.syntax import Did
from tests.identity.dns_stub import NXDOMAIN, SERVFAIL, TIMEOUT, Records, dns_stub
from tests.identity.world import Answer, PortForward, WebHosts, client_for

DID_A = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
DID_B = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb"
HANDLE = "alice.test"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebHosts]:
    names = [HANDLE, "bob.test", "metadata.test"]
    with WebHosts(tmp_path_factory.mktemp("tls"), names) as hosts:
        yield hosts


@pytest.fixture(autouse=True)
def _clean(web: WebHosts) -> None:
    web.atproto_did.clear()
    web.hits.clear()


def resolve(
    web: WebHosts,
    records: Records,
    handle: str = HANDLE,
    *,
    client: SafeHttpClient | None = None,
    dns_lifetime: float = 1.0,
) -> Did:
    async def go() -> Did:
        async with dns_stub(records) as (port, _):
            txt = DnsTxtResolver(nameservers=["127.0.0.1"], port=port, lifetime=dns_lifetime)
            async with client or client_for(web) as http:
                return await HandleResolver(http, txt=txt).resolve(handle)

    return asyncio.run(go())


def well_known(did: str) -> Answer:
    return Answer(body=did.encode(), headers={"content-type": "text/plain"})


# -- pure parsing -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ([f"did={DID_A}"], DID_A),
        ([f"did={DID_A}", "v=spf1 -all"], DID_A),
        ([f"did={DID_A}", f"did={DID_A}"], DID_A),  # one distinct value
        ([f"did={DID_A}", f"did={DID_B}"], None),  # ambiguous
        ([], None),
        (["v=spf1"], None),
        ([f"DID={DID_A}"], None),
        ([f" did={DID_A}"], None),
        ([f"did= {DID_A}"], None),
        (["did=not-a-did"], None),
        (["did="], None),
        ([f"did={DID_A} "], None),
    ],
)
def test_txt_record_selection(records: list[str], expected: str | None) -> None:
    assert did_from_txt_records(records) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (DID_A.encode(), DID_A),
        (f"  {DID_A}\n".encode(), DID_A),
        (f"{DID_A}\r\nsecond line".encode(), DID_A),
        (f"\n{DID_A}".encode(), None),  # first line only
        (b"", None),
        (b"hello", None),
        (b"did:", None),
        (f"{DID_A} trailing".encode(), None),
        (b"\xff\xfe", None),
        (b"<html>did:plc:aaaaaaaaaaaaaaaaaaaaaaaa</html>", None),
        (f"{DID_A}\u2028junk".encode(), None),  # only "\n" ends the first line
        (f"{DID_A}\x0bjunk".encode(), None),
        (f"{DID_A}\r".encode(), DID_A),
    ],
)
def test_well_known_body(body: bytes, expected: str | None) -> None:
    assert did_from_well_known_body(body) == expected


# -- DNS ------------------------------------------------------------------------------------


def test_dns_single_record(web: WebHosts) -> None:
    web.atproto_did[HANDLE] = well_known(DID_B)  # would disagree: DNS must win
    assert resolve(web, {f"_atproto.{HANDLE}": [[f"did={DID_A}".encode()]]}) == DID_A


def test_dns_multi_string_record_is_joined(web: WebHosts) -> None:
    records: Records = {f"_atproto.{HANDLE}": [[b"did=did:plc:aaaaaaaaaa", b"aaaaaaaaaaaaaa"]]}
    assert resolve(web, records) == DID_A


def test_dns_ignores_other_txt_records(web: WebHosts) -> None:
    records: Records = {f"_atproto.{HANDLE}": [[b"v=spf1 -all"], [f"did={DID_A}".encode()]]}
    assert resolve(web, records) == DID_A


def test_dns_handle_is_case_insensitive(web: WebHosts) -> None:
    records: Records = {f"_atproto.{HANDLE}": [[f"did={DID_A}".encode()]]}
    assert resolve(web, records, handle="Alice.TEST") == DID_A


@pytest.mark.parametrize(
    "records",
    [
        [[f"did={DID_A}".encode()], [f"did={DID_B}".encode()]],  # duplicated did=
        [[b"did=did:not valid"]],  # malformed
        [[b"no prefix here"]],
        [[b"did=\xff\xfe"]],
    ],
)
def test_dns_without_single_valid_answer_falls_back_to_https(
    web: WebHosts, records: list[list[bytes]]
) -> None:
    web.atproto_did[HANDLE] = well_known(DID_B)
    assert resolve(web, {f"_atproto.{HANDLE}": records}) == DID_B
    web.atproto_did.clear()
    with pytest.raises(HandleNotFoundError):
        resolve(web, {f"_atproto.{HANDLE}": records})


def test_nxdomain_then_https(web: WebHosts) -> None:
    web.atproto_did[HANDLE] = well_known(DID_A)
    assert resolve(web, {f"_atproto.{HANDLE}": NXDOMAIN}) == DID_A
    assert (HANDLE, "/.well-known/atproto-did") in web.hits


def test_dns_failure_with_https_answer(web: WebHosts) -> None:
    web.atproto_did[HANDLE] = well_known(DID_A)
    assert resolve(web, {f"_atproto.{HANDLE}": SERVFAIL}) == DID_A
    assert resolve(web, {f"_atproto.{HANDLE}": TIMEOUT}, dns_lifetime=0.3) == DID_A


@pytest.mark.parametrize("mode", [SERVFAIL, TIMEOUT])
def test_dns_failure_without_https_is_a_resolution_error(web: WebHosts, mode: str) -> None:
    with pytest.raises(HandleResolutionError):
        resolve(web, {f"_atproto.{HANDLE}": mode}, dns_lifetime=0.3)


def test_nothing_anywhere_is_not_found(web: WebHosts) -> None:
    with pytest.raises(HandleNotFoundError):
        resolve(web, {})


def test_handle_too_long_for_dns_is_no_record_not_a_failure() -> None:
    """A valid 253-character handle cannot have an ``_atproto.`` record (the DNS name
    would exceed 255 octets): that is a definite "no", not a failure worth retrying."""
    long_handle = ".".join(["a" * 63] * 3 + ["a" * 56 + ".test"])
    assert len(long_handle) == 253

    async def go() -> Did | None:
        async with dns_stub({}) as (port, protocol):
            txt = DnsTxtResolver(nameservers=["127.0.0.1"], port=port, lifetime=1.0)
            async with SafeHttpClient(FetchPolicy()) as http:
                found = await HandleResolver(http, txt=txt).resolve_dns(long_handle)
            assert protocol.queries == []
            return found

    assert asyncio.run(go()) is None


@pytest.mark.parametrize("method", ["resolve_dns", "resolve_well_known"])
def test_single_method_lookups_validate_the_handle(method: str) -> None:
    class NoTxt:
        async def txt(self, name: str) -> list[str]:
            raise AssertionError(f"queried {name!r}")

    async def go() -> None:
        async with SafeHttpClient(FetchPolicy()) as http:
            await getattr(HandleResolver(http, txt=NoTxt()), method)("bad..handle")

    with pytest.raises(MalformedIdentifierError):
        asyncio.run(go())


# -- HTTPS well-known ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        Answer(status=404),
        Answer(status=403, body=DID_A.encode()),
        Answer(body=b"x" * 3000),  # over the 2 KiB cap
        Answer(body=(DID_A + "\n" + " " * 3000).encode()),  # cap applies to the whole body
        Answer(body=b"<html>hello</html>"),
        Answer(body=b"did:plc:"),
        Answer(status=302, redirect="https://metadata.test/.well-known/atproto-did"),
        Answer(status=302, redirect="http://bob.test/.well-known/atproto-did"),  # downgrade
        Answer(status=302, redirect=f"https://{HANDLE}/.well-known/atproto-did"),  # loop
    ],
)
def test_https_answers_that_are_not_a_did(web: WebHosts, answer: Answer) -> None:
    web.atproto_did[HANDLE] = answer
    web.atproto_did["metadata.test"] = well_known(DID_B)
    client = client_for(web, extra_names={"metadata.test": ["169.254.169.254"]})
    with pytest.raises(HandleNotFoundError):
        resolve(web, {}, client=client)


def test_https_redirect_within_limit_is_followed(web: WebHosts) -> None:
    web.atproto_did[HANDLE] = Answer(
        status=307, redirect="https://bob.test/.well-known/atproto-did"
    )
    web.atproto_did["bob.test"] = well_known(DID_B)
    assert resolve(web, {}) == DID_B


def test_https_server_error_is_transient(web: WebHosts) -> None:
    web.atproto_did[HANDLE] = Answer(status=503)
    with pytest.raises(HandleResolutionError):
        resolve(web, {})


def test_https_timeout_is_transient(web: WebHosts) -> None:
    # A listening socket that never answers: the TLS handshake stalls.
    with socket.socket() as blackhole:
        blackhole.bind(("127.0.0.1", 0))
        blackhole.listen(8)
        policy = FetchPolicy(allow_loopback=True, timeout=0.3, deadline=1.0)
        transport = SafeTransport(
            policy,
            resolver=StaticHostResolver({HANDLE: ["127.0.0.1"]}),
            ssl_context=web.tls.client_context(),
            inner_backend=PortForward(blackhole.getsockname()[1]),
        )
        client = SafeHttpClient(policy, transport=transport)
        with pytest.raises(HandleResolutionError):
            resolve(web, {}, client=client)


def test_https_to_loopback_refused_outside_development(web: WebHosts) -> None:
    web.atproto_did[HANDLE] = well_known(DID_A)
    with pytest.raises(HandleNotFoundError):
        resolve(web, {}, client=client_for(web, allow_loopback=False))


# -- inputs that never reach the network ----------------------------------------------------


@pytest.mark.parametrize(
    "handle", ["alice.local", "x.onion", "handle.invalid", "a.localhost", "b.arpa", "c.example"]
)
def test_reserved_tlds_never_resolve(web: WebHosts, handle: str) -> None:
    with pytest.raises(HandleReservedTldError):
        resolve(web, {f"_atproto.{handle}": [[f"did={DID_A}".encode()]]}, handle=handle)
    assert web.hits == []


@pytest.mark.parametrize("handle", ["", "nodot", "-bad.test", "did:plc:aaaa", "a..b", "é.test"])
def test_malformed_handles(web: WebHosts, handle: str) -> None:
    with pytest.raises(MalformedIdentifierError):
        resolve(web, {}, handle=handle)


def test_plain_http_well_known_only_for_development() -> None:
    async def make(allow: bool) -> Any:
        async with SafeHttpClient(FetchPolicy(allow_loopback=allow)) as http:
            return HandleResolver(
                http,
                txt=DnsTxtResolver(nameservers=["127.0.0.1"]),
                well_known_scheme="http",
                well_known_port=8080,
            )

    resolver = asyncio.run(make(True))
    assert resolver.well_known_url("alice.test") == "http://alice.test:8080/.well-known/atproto-did"
    with pytest.raises(ValueError, match="local development"):
        asyncio.run(make(False))

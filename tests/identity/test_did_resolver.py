"""DID resolution: did:web rules (N3), did:plc status handling, size/shape limits (N4)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lexforge.runtime.crypto import K256Keypair
from lexforge.runtime.identity import (
    DidDeactivatedError,
    DidDocument,
    DidNotFoundError,
    DidResolutionError,
    DidResolver,
    FetchPolicy,
    InvalidDidDocumentError,
    MalformedIdentifierError,
    RedirectError,
    SafeHttpClient,
    StaticHostResolver,
    UnsafeAddressError,
    UnsupportedDidMethodError,
    did_web_url,
)
from tests.identity.servers import ServerThread
from tests.identity.world import Answer, WebHosts, client_for

KEY = K256Keypair.from_private_bytes(bytes(range(1, 33)))
PLC_DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"


def doc_for(did: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": did,
        "alsoKnownAs": ["at://web.test"],
        "verificationMethod": [
            {
                "id": f"{did}#atproto",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": KEY.public_key.multikey(),
            }
        ],
        "service": [
            {
                "id": "#atproto_pds",
                "type": "AtprotoPersonalDataServer",
                "serviceEndpoint": "https://pds.test",
            }
        ],
        **extra,
    }


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebHosts]:
    with WebHosts(tmp_path_factory.mktemp("tls"), ["web.test", "other.test"]) as hosts:
        yield hosts


def resolve_web(web: WebHosts, did: str, **client_args: Any) -> DidDocument:
    async def go() -> DidDocument:
        async with client_for(web, **client_args) as http:
            return await DidResolver(http).resolve(did)

    return asyncio.run(go())


# -- did:web URL rules --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("did", "url"),
    [
        ("did:web:example.com", "https://example.com/.well-known/did.json"),
        ("did:web:Sub.Example.COM", "https://sub.example.com/.well-known/did.json"),
        ("did:web:xn--bcher-kva.example", None),  # .example is reserved
        ("did:web:xn--bcher-kva.com", "https://xn--bcher-kva.com/.well-known/did.json"),
    ],
)
def test_did_web_url(did: str, url: str | None) -> None:
    if url is None:
        with pytest.raises(UnsupportedDidMethodError):
            did_web_url(did)
    else:
        assert did_web_url(did) == url


@pytest.mark.parametrize(
    "did",
    [
        "did:web:example.com:user:alice",  # path-based
        "did:web:example.com%3A8443",  # port on a non-localhost host
        "did:web:example.com%2Fpath",
        "did:web:127.0.0.1",  # IP literal: not a hostname
        "did:web:localhost",  # only in development
        "did:web:localhost%3A2583",
        "did:web:foo.local",
        "did:web:foo.onion",
        "did:web:nodot",
        "did:web:-bad-.com",
    ],
)
def test_did_web_refused_forms(did: str) -> None:
    with pytest.raises(UnsupportedDidMethodError):
        did_web_url(did)


def test_did_web_localhost_in_development() -> None:
    assert did_web_url("did:web:localhost", allow_localhost=True) == (
        "http://localhost/.well-known/did.json"
    )
    assert did_web_url("did:web:localhost%3A2583", allow_localhost=True) == (
        "http://localhost:2583/.well-known/did.json"
    )
    for bad in ("did:web:localhost%3A0", "did:web:localhost%3A99999", "did:web:localhost%3Ax"):
        with pytest.raises(UnsupportedDidMethodError):
            did_web_url(bad, allow_localhost=True)


# -- did:web fetches -----------------------------------------------------------------------


def test_did_web_resolves(web: WebHosts) -> None:
    web.did_json["web.test"] = Answer(json=doc_for("did:web:web.test"))
    doc = resolve_web(web, "did:web:web.test")
    assert doc.signing_key() == KEY.public_key
    assert doc.pds_endpoint() == "https://pds.test"
    assert ("web.test", "/.well-known/did.json") in web.hits


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (Answer(status=404), DidNotFoundError),
        (Answer(status=410), DidNotFoundError),
        (Answer(status=500), DidResolutionError),
        (
            Answer(status=302, redirect="https://other.test/.well-known/did.json"),
            DidResolutionError,
        ),
        (Answer(json=doc_for("did:web:other.test")), InvalidDidDocumentError),
        (Answer(body=b"{not json"), InvalidDidDocumentError),
        (
            Answer(body=b'{"id": "did:web:web.test", "id": "did:web:web.test"}'),
            InvalidDidDocumentError,
        ),
        (Answer(body=b'{"id": "did:web:web.test", "x": NaN}'), InvalidDidDocumentError),
        (Answer(body=b"[" * 5000 + b"]" * 5000), InvalidDidDocumentError),
        (Answer(body=b"\xff\xfe"), InvalidDidDocumentError),
        (Answer(json=doc_for("did:web:web.test", pad="x" * 70_000)), InvalidDidDocumentError),
        (Answer(json=["not", "an", "object"]), InvalidDidDocumentError),
    ],
)
def test_did_web_failures(web: WebHosts, answer: Answer, error: type[Exception]) -> None:
    web.did_json["web.test"] = answer
    with pytest.raises(error):
        resolve_web(web, "did:web:web.test")


def test_did_web_redirect_is_not_followed(web: WebHosts) -> None:
    web.did_json["web.test"] = Answer(
        status=301, redirect="https://other.test/.well-known/did.json"
    )
    web.did_json["other.test"] = Answer(json=doc_for("did:web:web.test"))
    with pytest.raises(DidResolutionError) as info:
        resolve_web(web, "did:web:web.test")
    assert isinstance(info.value.__cause__, RedirectError)


def test_did_web_oversized_document_is_rejected_as_invalid(web: WebHosts) -> None:
    web.did_json["web.test"] = Answer(json=doc_for("did:web:web.test", pad="x" * 70_000))
    with pytest.raises(InvalidDidDocumentError, match="65536"):
        resolve_web(web, "did:web:web.test")


def test_did_web_to_loopback_refused_outside_development(web: WebHosts) -> None:
    web.did_json["web.test"] = Answer(json=doc_for("did:web:web.test"))
    with pytest.raises(DidResolutionError) as info:
        resolve_web(web, "did:web:web.test", allow_loopback=False)
    assert isinstance(info.value.__cause__, UnsafeAddressError)


def test_did_web_to_private_address_refused(web: WebHosts) -> None:
    with pytest.raises(DidResolutionError) as info:
        resolve_web(
            web, "did:web:internal.test", extra_names={"internal.test": ["169.254.169.254"]}
        )
    assert isinstance(info.value.__cause__, UnsafeAddressError)


def test_did_web_localhost_with_port_over_http() -> None:
    did_holder: dict[str, str] = {}

    async def did_json(request: Request) -> Response:
        return JSONResponse(doc_for(did_holder["did"]))

    app = Starlette(routes=[Route("/.well-known/did.json", did_json)])
    with ServerThread(app) as server:
        did = f"did:web:localhost%3A{server.port}"
        did_holder["did"] = did

        async def go(allow: bool) -> DidDocument:
            policy = FetchPolicy(allow_loopback=allow)
            resolver = StaticHostResolver({"localhost": ["127.0.0.1"]})
            async with SafeHttpClient(policy, resolver=resolver) as http:
                return await DidResolver(http).resolve(did)

        assert asyncio.run(go(True)).id == did
        with pytest.raises(UnsupportedDidMethodError):
            asyncio.run(go(False))


# -- did:plc through a configurable directory ------------------------------------------------


class FakePlc:
    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}

    async def endpoint(self, request: Request) -> Response:
        did = request.path_params["did"]
        answer = self.answers.get(did)
        if answer is None:
            return JSONResponse({"message": f"DID not registered: {did}"}, status_code=404)
        return answer.response()


@pytest.fixture(scope="module")
def plc() -> Iterator[tuple[FakePlc, str]]:
    fake = FakePlc()
    app = Starlette(routes=[Route("/{did}", fake.endpoint)])
    with ServerThread(app) as server:
        yield fake, server.base_url


def resolve_plc(base_url: str, did: str) -> DidDocument:
    async def go() -> DidDocument:
        async with SafeHttpClient(FetchPolicy(allow_loopback=True)) as http:
            return await DidResolver(http, plc_url=base_url + "/").resolve(did)

    return asyncio.run(go())


def test_plc_resolves(plc: tuple[FakePlc, str]) -> None:
    fake, url = plc
    fake.answers[PLC_DID] = Answer(json=doc_for(PLC_DID))
    doc = resolve_plc(url, PLC_DID)
    assert doc.id == PLC_DID
    assert doc.handle() == "web.test"


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (None, DidNotFoundError),
        (Answer(status=410, json={"message": "DID not available"}), DidDeactivatedError),
        (Answer(status=503), DidResolutionError),
        (Answer(status=302, redirect="http://127.0.0.1/"), DidResolutionError),
        (Answer(json=doc_for("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")), InvalidDidDocumentError),
        (
            Answer(body=json.dumps(doc_for(PLC_DID, pad="y" * 66_000)).encode()),
            InvalidDidDocumentError,
        ),
    ],
)
def test_plc_failures(
    plc: tuple[FakePlc, str], answer: Answer | None, error: type[Exception]
) -> None:
    fake, url = plc
    fake.answers.pop(PLC_DID, None)
    if answer is not None:
        fake.answers[PLC_DID] = answer
    with pytest.raises(error):
        resolve_plc(url, PLC_DID)


@pytest.mark.parametrize(
    "did", ["did:plc:short", "did:plc:EWVI7NXZYOUN6ZHXRHS64OIZ", "did:plc:ewvi7nxzyoun6zhxrhs64oi1"]
)
def test_plc_identifier_syntax(plc: tuple[FakePlc, str], did: str) -> None:
    with pytest.raises(MalformedIdentifierError):
        resolve_plc(plc[1], did)


def test_plc_directory_unreachable() -> None:
    with pytest.raises(DidResolutionError):
        resolve_plc("http://127.0.0.1:1", PLC_DID)


# -- other methods ------------------------------------------------------------------------


def test_did_key_resolves_locally() -> None:
    async def go() -> DidDocument:
        async with SafeHttpClient() as http:
            return await DidResolver(http).resolve(KEY.did_key())

    assert asyncio.run(go()).signing_key() == KEY.public_key


@pytest.mark.parametrize(
    ("did", "error"),
    [
        ("did:example:123", UnsupportedDidMethodError),
        ("did:ion:abc", UnsupportedDidMethodError),
        ("not-a-did", MalformedIdentifierError),
        ("did:plc:", MalformedIdentifierError),
        ("DID:plc:ewvi7nxzyoun6zhxrhs64oiz", MalformedIdentifierError),
    ],
)
def test_unsupported_and_malformed(did: str, error: type[Exception]) -> None:
    async def go() -> DidDocument:
        async with SafeHttpClient() as http:
            return await DidResolver(http).resolve(did)

    with pytest.raises(error):
        asyncio.run(go())

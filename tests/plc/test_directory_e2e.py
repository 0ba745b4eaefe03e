"""End to end: the identity Directory resolving did:plc through our real PLC server, with
the handle verified through a local HTTPS well-known server and a DNS stub."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from lexforge.runtime.identity import (
    BaseDirectory,
    CachingDirectory,
    DidDeactivatedError,
    DidResolutionError,
    DidResolver,
    FetchPolicy,
    HandleMismatchError,
    HandleResolver,
    Identity,
    StaticHostResolver,
    UnsafeAddressError,
)
from lexforge.runtime.identity.handle_resolver import DnsTxtResolver
from lexforge.runtime.plc import build_tombstone, build_update, create_genesis
from lexforge.runtime.plc.client import PlcClient
from lexforge.runtime.plc.server import create_app
from tests.identity.dns_stub import Records, dns_stub
from tests.identity.servers import ServerThread
from tests.identity.world import Answer, WebHosts, client_for
from tests.plc.helpers import k256

ROTATION, SIGNING = k256(5), k256(6)


@pytest.fixture(scope="module")
def plc_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    app = create_app(tmp_path_factory.mktemp("plc") / "plc.sqlite3")
    with ServerThread(app) as server:
        yield server.base_url
    app.state.store.close()


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebHosts]:
    names = ["alice.test", "bob.test", "carol.test"]
    with WebHosts(tmp_path_factory.mktemp("tls"), names) as hosts:
        yield hosts


def register(plc_url: str, web: WebHosts, handle: str) -> str:
    did, op = create_genesis(
        rotation_keys=[ROTATION.did_key()],
        signing_key=SIGNING.did_key(),
        handle=handle,
        pds_endpoint="https://pds.test",
        signer=ROTATION,
    )

    async def go() -> None:
        async with client_for(web) as http, PlcClient(plc_url, http=http) as client:
            await client.submit(did, op)

    asyncio.run(go())
    return did


def lookup(plc_url: str, web: WebHosts, identifier: str, records: Records) -> Identity:
    async def go() -> Identity:
        async with dns_stub(records) as (port, _):
            txt = DnsTxtResolver(nameservers=["127.0.0.1"], port=port, lifetime=1.0)
            async with client_for(web) as http:
                base = BaseDirectory(
                    DidResolver(http, plc_url=plc_url), HandleResolver(http, txt=txt)
                )
                directory = CachingDirectory(base)
                first = await directory.lookup(identifier)
                again = await directory.lookup(identifier)
                assert again is first
                return first

    return asyncio.run(go())


def test_handle_via_well_known_and_did_plc(plc_url: str, web: WebHosts) -> None:
    did = register(plc_url, web, "alice.test")
    web.atproto_did["alice.test"] = Answer(body=did.encode())
    ident = lookup(plc_url, web, "alice.test", {})
    assert ident.did == did
    assert ident.handle == "alice.test"
    assert ident.signing_key == SIGNING.public_key
    assert ident.pds_endpoint == "https://pds.test"
    by_did = lookup(plc_url, web, did, {})
    assert by_did.handle == "alice.test"


def test_handle_via_dns_and_did_plc(plc_url: str, web: WebHosts) -> None:
    did = register(plc_url, web, "bob.test")
    ident = lookup(plc_url, web, "bob.test", {"_atproto.bob.test": [[f"did={did}".encode()]]})
    assert ident.did == did
    assert ident.handle == "bob.test"


def test_handle_claimed_by_someone_else(plc_url: str, web: WebHosts) -> None:
    did = register(plc_url, web, "carol.test")
    # alice.test's well-known now points at carol's DID, whose document says carol.test.
    web.atproto_did["alice.test"] = Answer(body=did.encode())
    with pytest.raises(HandleMismatchError):
        lookup(plc_url, web, "alice.test", {})
    ident = lookup(plc_url, web, did, {})
    assert ident.handle is None  # carol.test has no DNS record or well-known answer
    assert ident.declared_handle == "carol.test"


def test_tombstoned_did(plc_url: str, web: WebHosts, tmp_path: Path) -> None:
    did, op = create_genesis(
        rotation_keys=[ROTATION.did_key()],
        signing_key=SIGNING.did_key(),
        handle="gone.test",
        pds_endpoint="https://pds.test",
        signer=ROTATION,
    )
    upd = build_update(op, signer=ROTATION, handle="gone2.test")
    tomb = build_tombstone(upd, signer=ROTATION)

    async def go() -> None:
        async with client_for(web) as http, PlcClient(plc_url, http=http) as client:
            for each in (op, upd, tomb):
                await client.submit(did, each)

    asyncio.run(go())
    with pytest.raises(DidDeactivatedError):
        lookup(plc_url, web, did, {})


def test_local_plc_url_is_trusted_but_loopback_stays_closed_to_did_web(
    plc_url: str, web: WebHosts
) -> None:
    """The operator's PLC directory on 127.0.0.1 works without the development switch;
    that does not open loopback to untrusted did:web hosts."""
    did = register(plc_url, web, "erin.test")
    web.did_json["web.test"] = Answer(json={"id": "did:web:web.test"})

    async def go() -> tuple[Identity, BaseException | None]:
        async with BaseDirectory.create(
            plc_url=plc_url,
            policy=FetchPolicy(),
            host_resolver=StaticHostResolver({"web.test": ["127.0.0.1"]}),
            txt_resolver=NoTxt(),
        ) as directory:
            ident = await directory.lookup_did(did)
            try:
                await directory.lookup_did("did:web:web.test")
            except DidResolutionError as exc:
                return ident, exc.__cause__
            return ident, None

    ident, refused = asyncio.run(go())
    assert ident.did == did
    assert ident.signing_key == SIGNING.public_key
    assert isinstance(refused, UnsafeAddressError)


class NoTxt:
    async def txt(self, name: str) -> list[str]:
        return []

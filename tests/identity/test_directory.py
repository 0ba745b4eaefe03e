"""Directories: bidirectional verification (BaseDirectory), the cache (TTLs, negative
entries, coalescing, purge) and the mock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from lexforge.runtime.crypto import K256Keypair
from lexforge.runtime.identity import (
    BaseDirectory,
    CachingDirectory,
    DidNotFoundError,
    DidResolver,
    Directory,
    HandleMismatchError,
    HandleNotFoundError,
    HandleResolver,
    Identity,
    IdentityError,
    KeyNotDeclaredError,
    MalformedIdentifierError,
    MockDirectory,
    ServiceNotDeclaredError,
    signing_key_lookup,
)
from lexforge.runtime.identity.handle_resolver import DnsTxtResolver
from tests.identity.dns_stub import Records, dns_stub
from tests.identity.world import Answer, WebHosts, client_for

KEY = K256Keypair.from_private_bytes(bytes(range(2, 34)))
WEB_DID = "did:web:web.test"


def web_doc(*aka: str) -> dict[str, Any]:
    return {
        "id": WEB_DID,
        "alsoKnownAs": list(aka),
        "verificationMethod": [
            {
                "id": "#atproto",
                "type": "Multikey",
                "controller": WEB_DID,
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
    }


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebHosts]:
    names = ["web.test", "alice.test", "mallory.test"]
    with WebHosts(tmp_path_factory.mktemp("tls"), names) as hosts:
        yield hosts


@pytest.fixture(autouse=True)
def _clean(web: WebHosts) -> None:
    web.atproto_did.clear()
    web.did_json.clear()


def run_base(web: WebHosts, records: Records, op: str, arg: str) -> Identity:
    async def go() -> Identity:
        async with dns_stub(records) as (port, _):
            txt = DnsTxtResolver(nameservers=["127.0.0.1"], port=port, lifetime=1.0)
            async with client_for(web) as http:
                directory = BaseDirectory(DidResolver(http), HandleResolver(http, txt=txt))
                assert isinstance(directory, Directory)
                result: Identity = await getattr(directory, op)(arg)
                return result

    return asyncio.run(go())


def test_lookup_handle_verified_both_ways(web: WebHosts) -> None:
    web.did_json["web.test"] = Answer(json=web_doc("at://alice.test"))
    ident = run_base(
        web, {"_atproto.alice.test": [[f"did={WEB_DID}".encode()]]}, "lookup_handle", "Alice.Test"
    )
    assert ident.did == WEB_DID
    assert ident.handle == "alice.test"
    assert ident.display_handle == "alice.test"
    assert ident.signing_key == KEY.public_key
    assert ident.pds_endpoint == "https://pds.test"


def test_lookup_handle_mismatch(web: WebHosts) -> None:
    # mallory.test points at the DID, but the DID document claims alice.test.
    web.did_json["web.test"] = Answer(json=web_doc("at://alice.test"))
    web.atproto_did["mallory.test"] = Answer(body=WEB_DID.encode())
    with pytest.raises(HandleMismatchError):
        run_base(web, {}, "lookup_handle", "mallory.test")


def test_lookup_handle_document_without_handle(web: WebHosts) -> None:
    web.did_json["web.test"] = Answer(json=web_doc())
    web.atproto_did["alice.test"] = Answer(body=WEB_DID.encode())
    with pytest.raises(HandleMismatchError):
        run_base(web, {}, "lookup_handle", "alice.test")


def test_lookup_did_verifies_declared_handle(web: WebHosts) -> None:
    web.did_json["web.test"] = Answer(json=web_doc("at://alice.test"))
    web.atproto_did["alice.test"] = Answer(body=WEB_DID.encode())
    ident = run_base(web, {}, "lookup", WEB_DID)
    assert ident.handle == "alice.test"


@pytest.mark.parametrize(
    "handle_answer",
    [
        None,  # handle does not resolve at all
        Answer(body=b"did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"),  # resolves to someone else
        Answer(status=500),  # transient failure
    ],
)
def test_lookup_did_with_unverified_handle(web: WebHosts, handle_answer: Answer | None) -> None:
    web.did_json["web.test"] = Answer(json=web_doc("at://alice.test"))
    if handle_answer is not None:
        web.atproto_did["alice.test"] = handle_answer
    ident = run_base(web, {}, "lookup_did", WEB_DID)
    assert ident.handle is None
    assert ident.display_handle == "handle.invalid"
    assert ident.declared_handle == "alice.test"
    assert ident.signing_key == KEY.public_key


def test_lookup_did_with_reserved_tld_handle(web: WebHosts) -> None:
    web.did_json["web.test"] = Answer(json=web_doc("at://alice.local"))
    ident = run_base(web, {}, "lookup_did", WEB_DID)
    assert ident.handle is None
    assert ident.declared_handle == "alice.local"


def test_lookup_handle_not_found(web: WebHosts) -> None:
    with pytest.raises(HandleNotFoundError):
        run_base(web, {}, "lookup", "alice.test")


def test_lookup_rejects_wrong_kind(web: WebHosts) -> None:
    with pytest.raises(MalformedIdentifierError):
        run_base(web, {}, "lookup_handle", WEB_DID)
    with pytest.raises(MalformedIdentifierError):
        run_base(web, {}, "lookup_did", "alice.test")
    with pytest.raises(MalformedIdentifierError):
        run_base(web, {}, "lookup", "at://alice.test")


def test_create_owns_its_client() -> None:
    async def go() -> None:
        async with BaseDirectory.create(plc_url="https://plc.example.com") as directory:
            assert directory.did_resolver.plc_url == "https://plc.example.com"
            await directory.purge("alice.test")

    asyncio.run(go())


# -- identity helpers ----------------------------------------------------------------------


def test_identity_without_key_or_pds() -> None:
    ident = MockDirectory.make_identity("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "a.test")
    assert ident.signing_key is None
    assert ident.pds_endpoint is None
    with pytest.raises(KeyNotDeclaredError):
        ident.require_signing_key()
    with pytest.raises(ServiceNotDeclaredError):
        ident.require_pds_endpoint()


# -- mock directory ------------------------------------------------------------------------


def alice() -> Identity:
    return MockDirectory.make_identity(
        "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "alice.test", KEY.public_key, "https://pds.test"
    )


def test_mock_directory() -> None:
    mock = MockDirectory([alice()])

    async def go() -> None:
        assert (await mock.lookup("alice.test")).did == "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
        assert (await mock.lookup("ALICE.test")).handle == "alice.test"
        ident = await mock.lookup_did("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")
        assert ident.require_signing_key() == KEY.public_key
        assert ident.require_pds_endpoint() == "https://pds.test"
        with pytest.raises(DidNotFoundError):
            await mock.lookup("did:plc:bbbbbbbbbbbbbbbbbbbbbbbb")
        with pytest.raises(HandleNotFoundError):
            await mock.lookup("bob.test")
        mock.remove("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")
        with pytest.raises(HandleNotFoundError):
            await mock.lookup("alice.test")

    asyncio.run(go())
    assert isinstance(mock, Directory)


def test_mock_unverified_handle_not_found_by_handle() -> None:
    ident = MockDirectory.make_identity(
        "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "alice.test", handle_verified=False
    )
    mock = MockDirectory([ident])

    async def go() -> None:
        assert (await mock.lookup_did(ident.did)).display_handle == "handle.invalid"
        with pytest.raises(HandleNotFoundError):
            await mock.lookup_handle("alice.test")

    asyncio.run(go())


# -- caching -------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cache_positive_ttl_and_cross_population() -> None:
    mock = MockDirectory([alice()])
    clock = Clock()
    cache = CachingDirectory(mock, hit_ttl=60, clock=clock)

    async def go() -> None:
        await cache.lookup("alice.test")
        await cache.lookup("alice.test")
        await cache.lookup("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")  # filled by the handle lookup
        assert mock.calls == {"lookup_handle": 1}
        clock.now += 61
        await cache.lookup("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")
        assert mock.calls["lookup_did"] == 1

    asyncio.run(go())


def test_cache_negative_entries_expire() -> None:
    mock = MockDirectory()
    clock = Clock()
    cache = CachingDirectory(mock, error_ttl=120, clock=clock)

    async def go() -> None:
        for _ in range(3):
            with pytest.raises(HandleNotFoundError):
                await cache.lookup("alice.test")
        assert mock.calls["lookup_handle"] == 1
        mock.add(alice())
        clock.now += 119
        with pytest.raises(HandleNotFoundError):
            await cache.lookup("alice.test")
        clock.now += 2  # negative entries live well under 5 minutes
        assert (await cache.lookup("alice.test")).handle == "alice.test"
        assert mock.calls["lookup_handle"] == 2

    asyncio.run(go())


def test_cached_errors_are_fresh_objects() -> None:
    cache = CachingDirectory(MockDirectory())

    async def go() -> list[BaseException]:
        errors: list[BaseException] = []
        for _ in range(2):
            try:
                await cache.lookup("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")
            except IdentityError as exc:
                errors.append(exc)
        return errors

    first, second = asyncio.run(go())
    assert type(first) is type(second) is DidNotFoundError
    assert first is not second
    assert str(first) == str(second)


def test_cache_invalid_handle_shorter_ttl() -> None:
    ident = MockDirectory.make_identity(
        "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "alice.test", handle_verified=False
    )
    mock = MockDirectory([ident])
    clock = Clock()
    cache = CachingDirectory(mock, hit_ttl=3600, invalid_handle_ttl=300, clock=clock)

    async def go() -> None:
        await cache.lookup_did(ident.did)
        clock.now += 299
        await cache.lookup_did(ident.did)
        assert mock.calls["lookup_did"] == 1
        clock.now += 2
        await cache.lookup_did(ident.did)
        assert mock.calls["lookup_did"] == 2

    asyncio.run(go())


def test_cache_purge() -> None:
    mock = MockDirectory([alice()])
    cache = CachingDirectory(mock)

    async def go() -> None:
        await cache.lookup("alice.test")
        await cache.purge("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")  # drops the handle too
        await cache.lookup("alice.test")
        assert mock.calls["lookup_handle"] == 2
        await cache.purge("alice.test")  # drops the DID too
        await cache.lookup("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")
        assert mock.calls["lookup_did"] == 1
        assert mock.calls["purge"] == 2

    asyncio.run(go())


def test_cache_is_bounded() -> None:
    idents = [
        MockDirectory.make_identity(f"did:plc:{chr(97 + i) * 24}", f"u{i}.test") for i in range(10)
    ]
    cache = CachingDirectory(MockDirectory(idents), max_entries=3)

    async def go() -> None:
        for ident in idents:
            await cache.lookup_did(ident.did)

    asyncio.run(go())
    assert len(cache._by_did) <= 3
    assert len(cache._by_handle) <= 3


class SlowDirectory(MockDirectory):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.gate = asyncio.Event()

    async def lookup_did(self, did: str) -> Identity:
        self.calls["started"] += 1
        await self.gate.wait()
        return await super().lookup_did(did)


def test_concurrent_lookups_are_coalesced() -> None:
    async def go() -> None:
        slow = SlowDirectory([alice()])
        cache = CachingDirectory(slow)
        tasks = [
            asyncio.create_task(cache.lookup_did("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"))
            for _ in range(20)
        ]
        await asyncio.sleep(0.01)
        # A cancelled waiter must not cancel the shared resolution for the others.
        tasks[0].cancel()
        slow.gate.set()
        results = await asyncio.gather(*tasks[1:])
        assert slow.calls["started"] == 1
        assert all(r is results[0] for r in results)
        assert tasks[0].cancelled()
        assert cache._inflight == {}

    asyncio.run(go())


def test_concurrent_failures_are_coalesced_and_cached() -> None:
    async def go() -> None:
        slow = SlowDirectory()
        cache = CachingDirectory(slow)
        tasks = [
            asyncio.create_task(cache.lookup_did("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"))
            for _ in range(5)
        ]
        await asyncio.sleep(0.01)
        slow.gate.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, DidNotFoundError) for r in results)
        with pytest.raises(DidNotFoundError):
            await cache.lookup_did("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")
        assert slow.calls["started"] == 1

    asyncio.run(go())


def test_non_identity_errors_are_not_cached() -> None:
    class Broken(MockDirectory):
        async def lookup_did(self, did: str) -> Identity:
            self.calls["lookup_did"] += 1
            raise RuntimeError("bug")

    broken = Broken()
    cache = CachingDirectory(broken)

    async def go() -> None:
        for _ in range(2):
            with pytest.raises(RuntimeError):
                await cache.lookup_did("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")

    asyncio.run(go())
    assert broken.calls["lookup_did"] == 2


# -- refresh: "retried once with a refreshed key" ------------------------------------------


ALICE_DID = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
NEW_KEY = K256Keypair.from_private_bytes(bytes(range(3, 35)))


def alice_with(key: K256Keypair) -> Identity:
    return MockDirectory.make_identity(ALICE_DID, "alice.test", key.public_key, "https://pds.test")


def test_refresh_bypasses_and_updates_the_cache() -> None:
    mock = MockDirectory([alice_with(KEY)])
    cache = CachingDirectory(mock)

    async def go() -> None:
        assert (await cache.lookup_did(ALICE_DID)).signing_key == KEY.public_key
        mock.add(alice_with(NEW_KEY))  # the account rotated its key
        assert (await cache.lookup_did(ALICE_DID)).signing_key == KEY.public_key  # cached
        fresh = await cache.refresh(ALICE_DID)
        assert fresh.signing_key == NEW_KEY.public_key
        assert (await cache.lookup("alice.test")).signing_key == NEW_KEY.public_key
        assert (await cache.lookup_did(ALICE_DID)) is fresh
        assert mock.calls["lookup_did"] == 2
        assert mock.calls["lookup_handle"] == 0  # the refresh re-filled the handle entry

    asyncio.run(go())


def test_refresh_by_handle_forgets_a_negative_entry() -> None:
    mock = MockDirectory()
    cache = CachingDirectory(mock)

    async def go() -> None:
        with pytest.raises(HandleNotFoundError):
            await cache.lookup("alice.test")
        mock.add(alice_with(KEY))
        with pytest.raises(HandleNotFoundError):
            await cache.lookup("alice.test")  # negative entry still fresh
        assert (await cache.refresh("alice.test")).did == ALICE_DID

    asyncio.run(go())


class SnapshotDirectory(MockDirectory):
    """Each lookup reads the table when it starts, then waits for its own gate: like a
    network fetch that has the old document before the account rotated its key."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.gates: list[asyncio.Event] = []

    async def lookup_did(self, did: str) -> Identity:
        snapshot = self._by_did[did]
        gate = asyncio.Event()
        self.gates.append(gate)
        await gate.wait()
        return snapshot


def test_purge_detaches_a_lookup_already_in_flight() -> None:
    """A resolution that started before a purge may carry the old key: the refresh must
    not join it, and its answer must not overwrite the fresh one even if it lands last."""

    async def go() -> None:
        net = SnapshotDirectory([alice_with(KEY)])
        cache = CachingDirectory(net)
        stale_task = asyncio.create_task(cache.lookup_did(ALICE_DID))
        await asyncio.sleep(0.01)
        net.add(alice_with(NEW_KEY))  # the account rotates its key
        refresh_task = asyncio.create_task(cache.refresh(ALICE_DID))
        await asyncio.sleep(0.01)
        assert len(net.gates) == 2  # not coalesced onto the stale lookup
        net.gates[1].set()
        assert (await refresh_task).signing_key == NEW_KEY.public_key
        net.gates[0].set()  # the stale answer arrives last
        assert (await stale_task).signing_key == KEY.public_key
        assert (await cache.lookup_did(ALICE_DID)).signing_key == NEW_KEY.public_key
        assert len(net.gates) == 2

    asyncio.run(go())


def test_stale_in_flight_answer_is_not_cached_after_purge() -> None:
    async def go() -> None:
        slow = SlowDirectory([alice_with(KEY)])
        cache = CachingDirectory(slow)
        task = asyncio.create_task(cache.lookup_did(ALICE_DID))
        await asyncio.sleep(0.01)
        await cache.purge(ALICE_DID)
        slow.gate.set()
        assert (await task).did == ALICE_DID  # its own waiters still get an answer
        assert ALICE_DID not in cache._by_did
        assert cache._inflight == {}
        await cache.lookup_did(ALICE_DID)
        assert slow.calls["started"] == 2

    asyncio.run(go())


def test_signing_key_lookup_retries_with_a_refreshed_key() -> None:
    mock = MockDirectory([alice_with(KEY)])
    lookup = signing_key_lookup(CachingDirectory(mock))

    async def go() -> None:
        assert await lookup(ALICE_DID, False) == KEY.public_key
        mock.add(alice_with(NEW_KEY))
        assert await lookup(ALICE_DID, False) == KEY.public_key  # cached: signature fails
        assert await lookup(ALICE_DID, True) == NEW_KEY.public_key  # the one retry
        assert await lookup(ALICE_DID, False) == NEW_KEY.public_key
        with pytest.raises(DidNotFoundError):
            await lookup("did:plc:bbbbbbbbbbbbbbbbbbbbbbbb", True)

    asyncio.run(go())
    keyless = MockDirectory([MockDirectory.make_identity(ALICE_DID, "alice.test")])
    assert asyncio.run(signing_key_lookup(keyless)(ALICE_DID, False)) is None


def test_cache_refuses_the_wrong_kind_without_asking_the_inner_directory() -> None:
    mock = MockDirectory([alice()])
    cache = CachingDirectory(mock)

    async def go() -> None:
        with pytest.raises(MalformedIdentifierError):
            await cache.lookup_did("alice.test")
        with pytest.raises(MalformedIdentifierError):
            await cache.lookup_handle(ALICE_DID)

    asyncio.run(go())
    assert sum(mock.calls.values()) == 0
    assert cache._by_did == cache._by_handle == {}


@pytest.mark.parametrize(
    "make", [lambda: MockDirectory([alice()]), lambda: CachingDirectory(MockDirectory([alice()]))]
)
def test_every_directory_has_refresh(make: Any) -> None:
    directory = make()
    assert isinstance(directory, Directory)
    assert asyncio.run(directory.refresh("alice.test")).did == ALICE_DID

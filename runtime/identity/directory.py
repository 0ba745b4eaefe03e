"""The :class:`Directory` interface and the resolving :class:`BaseDirectory`.

Verification policy (the same as indigo's ``identity.Directory``): a handle is only ever
reported on an :class:`~lexforge.runtime.identity.model.Identity` when it was verified in
both directions:

- ``lookup_handle(h)`` resolves ``h`` to a DID, resolves that DID's document, and fails
  with :class:`HandleMismatchError` unless the document's first valid ``at://`` alias is
  ``h``;
- ``lookup_did(d)`` resolves the document, then resolves the handle it declares forward;
  if that does not give back ``d`` (or fails for any reason) the identity is still
  returned, with ``handle=None`` (shown as ``handle.invalid``).

Directories nest like HTTP middleware: :class:`~lexforge.runtime.identity.cache.CachingDirectory`
wraps any directory, :class:`~lexforge.runtime.identity.mock.MockDirectory` replaces the
network in tests.

**Stale keys.** A signature that does not verify with the cached ``#atproto`` key may
mean the key was rotated. Call :meth:`Directory.refresh` once and verify again with the
fresh key (atproto: "retried once with a refreshed key"); :func:`signing_key_lookup`
packages exactly that as ``await lookup(did, refresh)`` for verifiers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Protocol, runtime_checkable

from lexforge.runtime.crypto import PublicKey
from lexforge.runtime.identity.did_resolver import DEFAULT_PLC_URL, DidResolver
from lexforge.runtime.identity.errors import (
    HandleError,
    HandleMismatchError,
    MalformedIdentifierError,
)
from lexforge.runtime.identity.handle_resolver import DnsTxtResolver, HandleResolver, TxtResolver
from lexforge.runtime.identity.model import Identity
from lexforge.runtime.identity.safe_http import (
    FetchPolicy,
    HostResolver,
    SafeHttpClient,
    is_loopback_url,
)
from lexforge.runtime.syntax import (
    AtIdentifier,
    Did,
    Handle,
    InvalidAtIdentifierError,
    InvalidDidError,
    InvalidHandleError,
)

__all__ = [
    "BaseDirectory",
    "Directory",
    "SigningKeyLookup",
    "lookup_identifier",
    "parse_at_identifier",
    "signing_key_lookup",
]


@runtime_checkable
class Directory(Protocol):
    """Look up account identities by handle, DID, or either."""

    async def lookup_handle(self, handle: str) -> Identity:
        """The identity whose verified handle is ``handle``."""
        ...

    async def lookup_did(self, did: str) -> Identity:
        """The identity of ``did`` (its handle verified, or None)."""
        ...

    async def lookup(self, identifier: str) -> Identity:
        """Look up an at-identifier: a DID or a handle."""
        ...

    async def purge(self, identifier: str) -> None:
        """Forget anything cached about ``identifier`` (DID or handle)."""
        ...

    async def refresh(self, identifier: str) -> Identity:
        """Resolve ``identifier`` again, bypassing and then updating any cache (also
        ignoring a lookup already in flight). For a signature that failed with the
        cached key, an ``#identity`` event, or a user asking to re-check a handle."""
        ...


#: ``await lookup(did, refresh)`` -> the ``#atproto`` key, or None if the DID document
#: declares no usable one. ``refresh=True`` re-resolves (bypassing caches).
SigningKeyLookup = Callable[[str, bool], Awaitable[PublicKey | None]]


def signing_key_lookup(directory: Directory) -> SigningKeyLookup:
    """A signing-key lookup over ``directory`` for verifiers that retry once.

    The verifier checks a signature with ``await lookup(did, False)``; if that fails it
    calls ``await lookup(did, True)``, which goes through :meth:`Directory.refresh`, and
    checks once more. Resolution failures raise :class:`IdentityError` subclasses.
    """

    async def lookup(did: str, refresh: bool) -> PublicKey | None:
        ident = await (directory.refresh(did) if refresh else directory.lookup_did(did))
        return ident.signing_key

    return lookup


async def lookup_identifier(directory: Directory, identifier: str) -> Identity:
    """``directory.lookup_did`` or ``directory.lookup_handle``, by what ``identifier`` is
    (the shared implementation of :meth:`Directory.lookup`)."""
    parsed = parse_at_identifier(identifier)
    if isinstance(parsed, Did):
        return await directory.lookup_did(parsed)
    return await directory.lookup_handle(parsed)


def parse_at_identifier(identifier: str) -> Did | Handle:
    """Parse a DID or handle (handles lowercased); raises :class:`MalformedIdentifierError`."""
    try:
        AtIdentifier.parse(identifier)
        if identifier.startswith("did:"):
            return Did.parse(identifier)
        return Handle.parse(identifier)
    except (InvalidAtIdentifierError, InvalidDidError, InvalidHandleError) as exc:
        raise MalformedIdentifierError(str(exc)) from None


class BaseDirectory:
    """A :class:`Directory` that resolves over the network on every call (no cache).

    Build it from resolvers, or with :meth:`create`, which also owns (and closes) the
    SSRF-safe HTTP client.
    """

    def __init__(
        self,
        did_resolver: DidResolver,
        handle_resolver: HandleResolver,
        *,
        http: SafeHttpClient | None = None,
        owned: Sequence[SafeHttpClient] = (),
    ) -> None:
        self.did_resolver = did_resolver
        self.handle_resolver = handle_resolver
        self._owned_http = [*([http] if http is not None else []), *owned]

    @classmethod
    def create(
        cls,
        *,
        plc_url: str = DEFAULT_PLC_URL,
        policy: FetchPolicy | None = None,
        host_resolver: HostResolver | None = None,
        txt_resolver: TxtResolver | None = None,
        nameservers: Sequence[str] | None = None,
        dns_port: int = 53,
        well_known_scheme: str = "https",
        well_known_port: int | None = None,
    ) -> BaseDirectory:
        """A directory with its own :class:`SafeHttpClient` (close with :meth:`aclose`).

        A ``plc_url`` on ``localhost`` or a loopback address (a local ``lexforge plc
        serve``) is trusted as configuration: the PLC directory gets a client of its own
        with loopback allowed, while did:web and handle fetches keep ``policy``.
        """
        policy = policy or FetchPolicy()
        http = SafeHttpClient(policy, resolver=host_resolver)
        owned = [http]
        plc_http = None
        if is_loopback_url(plc_url) and not policy.allow_loopback:
            plc_http = SafeHttpClient(replace(policy, allow_loopback=True), resolver=host_resolver)
            owned.append(plc_http)
        txt = txt_resolver or DnsTxtResolver(
            nameservers=nameservers, port=dns_port, lifetime=policy.timeout
        )
        return cls(
            DidResolver(http, plc_url=plc_url, plc_http=plc_http),
            HandleResolver(
                http,
                txt=txt,
                well_known_scheme=well_known_scheme,
                well_known_port=well_known_port,
            ),
            owned=owned,
        )

    async def aclose(self) -> None:
        """Close the HTTP clients this directory created."""
        for http in self._owned_http:
            await http.aclose()

    async def __aenter__(self) -> BaseDirectory:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def lookup_handle(self, handle: str) -> Identity:
        parsed = parse_at_identifier(handle)
        if not isinstance(parsed, Handle):
            raise MalformedIdentifierError(f"expected a handle, got a DID: {handle[:100]!r}")
        did = await self.handle_resolver.resolve(parsed)
        doc = await self.did_resolver.resolve(did)
        identity = Identity.from_document(doc, handle_verified=True)
        if identity.declared_handle != parsed:
            raise HandleMismatchError(
                f"{parsed} resolves to {did}, but its DID document claims "
                f"{identity.declared_handle or 'no handle'}"
            )
        return identity

    async def lookup_did(self, did: str) -> Identity:
        parsed = parse_at_identifier(did)
        if not isinstance(parsed, Did):
            raise MalformedIdentifierError(f"expected a DID, got {did[:100]!r}")
        doc = await self.did_resolver.resolve(parsed)
        declared = doc.handle()
        verified = False
        if declared is not None:
            try:
                verified = await self.handle_resolver.resolve(declared) == parsed
            except HandleError:
                verified = False
        return Identity.from_document(doc, handle_verified=verified)

    async def lookup(self, identifier: str) -> Identity:
        return await lookup_identifier(self, identifier)

    async def purge(self, identifier: str) -> None:
        """Nothing is cached here."""
        parse_at_identifier(identifier)

    async def refresh(self, identifier: str) -> Identity:
        """Nothing is cached here: the same as :meth:`lookup`."""
        return await lookup_identifier(self, identifier)

"""An in-memory :class:`~lexforge.runtime.identity.directory.Directory` for tests.

Other packages (PDS, relay, XRPC auth) test against this instead of the network::

    directory = MockDirectory()
    key = K256Keypair.generate()
    directory.add(MockDirectory.make_identity("did:plc:...", "alice.test", key.public_key,
                                              "https://pds.test"))

It follows the same verification policy as the real directory: only identities added
with a handle answer :meth:`lookup_handle`, and lookups of unknown DIDs / handles raise
:class:`DidNotFoundError` / :class:`HandleNotFoundError`. ``calls`` counts lookups so
caching tests can see what reached the "network".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from lexforge.runtime.crypto import MULTIKEY_TYPE, PublicKey
from lexforge.runtime.identity.did_doc import (
    ATPROTO_KEY_ID,
    PDS_SERVICE_ID,
    PDS_SERVICE_TYPE,
    DidDocument,
)
from lexforge.runtime.identity.directory import lookup_identifier, parse_at_identifier
from lexforge.runtime.identity.errors import (
    DidNotFoundError,
    HandleNotFoundError,
    MalformedIdentifierError,
)
from lexforge.runtime.identity.model import Identity
from lexforge.runtime.syntax import Did, Handle

__all__ = ["MockDirectory"]


class MockDirectory:
    """A dictionary-backed directory; see the module docstring."""

    def __init__(self, identities: Iterable[Identity] = ()) -> None:
        self._by_did: dict[str, Identity] = {}
        self._by_handle: dict[str, Identity] = {}
        self.calls: Counter[str] = Counter()
        for ident in identities:
            self.add(ident)

    @staticmethod
    def make_identity(
        did: str,
        handle: str | None = None,
        signing_key: PublicKey | None = None,
        pds_endpoint: str | None = None,
        *,
        handle_verified: bool = True,
    ) -> Identity:
        """Build an :class:`Identity` with a matching (PLC-style) DID document."""
        doc: dict[str, Any] = {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": did,
            "alsoKnownAs": [f"at://{Handle.parse(handle)}"] if handle else [],
            "verificationMethod": [],
            "service": [],
        }
        if signing_key is not None:
            doc["verificationMethod"].append(
                {
                    "id": f"{did}#{ATPROTO_KEY_ID}",
                    "type": MULTIKEY_TYPE,
                    "controller": did,
                    "publicKeyMultibase": signing_key.multikey(),
                }
            )
        if pds_endpoint is not None:
            doc["service"].append(
                {
                    "id": f"#{PDS_SERVICE_ID}",
                    "type": PDS_SERVICE_TYPE,
                    "serviceEndpoint": pds_endpoint,
                }
            )
        return Identity.from_document(
            DidDocument.parse(doc, did), handle_verified=handle_verified and handle is not None
        )

    def add(self, identity: Identity) -> None:
        """Register (or replace) an identity."""
        old = self._by_did.pop(identity.did, None)
        if old is not None and old.handle is not None:
            self._by_handle.pop(old.handle, None)
        self._by_did[identity.did] = identity
        if identity.handle is not None:
            self._by_handle[identity.handle] = identity

    def remove(self, did: str) -> None:
        """Forget an identity (later lookups raise not-found)."""
        old = self._by_did.pop(did, None)
        if old is not None and old.handle is not None:
            self._by_handle.pop(old.handle, None)

    async def lookup_did(self, did: str) -> Identity:
        self.calls["lookup_did"] += 1
        parsed = parse_at_identifier(did)
        if not isinstance(parsed, Did):
            raise MalformedIdentifierError(f"expected a DID, got {did[:100]!r}")
        try:
            return self._by_did[parsed]
        except KeyError:
            raise DidNotFoundError(f"{parsed} is not in the mock directory") from None

    async def lookup_handle(self, handle: str) -> Identity:
        self.calls["lookup_handle"] += 1
        parsed = parse_at_identifier(handle)
        if not isinstance(parsed, Handle):
            raise MalformedIdentifierError(f"expected a handle, got {handle[:100]!r}")
        try:
            return self._by_handle[parsed]
        except KeyError:
            raise HandleNotFoundError(f"{parsed} is not in the mock directory") from None

    async def lookup(self, identifier: str) -> Identity:
        return await lookup_identifier(self, identifier)

    async def purge(self, identifier: str) -> None:
        self.calls["purge"] += 1
        parse_at_identifier(identifier)

    async def refresh(self, identifier: str) -> Identity:
        self.calls["refresh"] += 1
        return await lookup_identifier(self, identifier)

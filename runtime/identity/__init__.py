"""atproto identity: DID documents, DID and handle resolution, and directories.

- :mod:`.did_doc`: :class:`DidDocument` parsing and extraction (``#atproto`` key, PDS and
  labeler services, the declared handle), ``id == did`` enforced.
- :mod:`.did_resolver`: did:plc (configurable directory), did:web (hostname only),
  did:key.
- :mod:`.handle_resolver`: DNS TXT ``_atproto.<handle>`` and HTTPS well-known.
- :mod:`.directory` / :mod:`.cache` / :mod:`.mock`: the :class:`Directory` interface
  with bidirectional handle verification, a TTL cache with coalesced lookups, and an
  in-memory directory for tests.
- :mod:`.safe_http` / :mod:`.netguard`: the SSRF-safe HTTP client every fetch goes
  through (address checked at connect time, timeouts, size caps, no blind redirects).

Typical use::

    async with BaseDirectory.create() as base:
        directory = CachingDirectory(base)
        ident = await directory.lookup("alice.bsky.social")
        ident.did, ident.handle, ident.signing_key, ident.pds_endpoint
        # a signature failed with ident.signing_key? the key may have rotated:
        ident = await directory.refresh(ident.did)
"""

from __future__ import annotations

from lexforge.runtime.identity.cache import CachingDirectory
from lexforge.runtime.identity.did_doc import (
    ATPROTO_KEY_ID,
    ATPROTO_LABEL_KEY_ID,
    LABELER_SERVICE_ID,
    LABELER_SERVICE_TYPE,
    PDS_SERVICE_ID,
    PDS_SERVICE_TYPE,
    DidDocument,
    Service,
    VerificationMethod,
    did_key_document,
    normalize_service_endpoint,
)
from lexforge.runtime.identity.did_resolver import (
    DEFAULT_PLC_URL,
    MAX_DID_DOCUMENT_BYTES,
    DidResolver,
    did_web_url,
    is_valid_plc_did,
)
from lexforge.runtime.identity.directory import (
    BaseDirectory,
    Directory,
    SigningKeyLookup,
    lookup_identifier,
    parse_at_identifier,
    signing_key_lookup,
)
from lexforge.runtime.identity.errors import (
    DidDeactivatedError,
    DidError,
    DidNotFoundError,
    DidResolutionError,
    FetchConnectError,
    FetchError,
    FetchTimeoutError,
    HandleError,
    HandleMismatchError,
    HandleNotFoundError,
    HandleReservedTldError,
    HandleResolutionError,
    IdentityError,
    InvalidDidDocumentError,
    KeyNotDeclaredError,
    MalformedIdentifierError,
    RedirectError,
    ResponseTooLargeError,
    ServiceNotDeclaredError,
    StrictJsonError,
    UnsafeAddressError,
    UnsafeUrlError,
    UnsupportedDidMethodError,
)
from lexforge.runtime.identity.handle_resolver import (
    MAX_WELL_KNOWN_BYTES,
    DnsTxtResolver,
    HandleResolver,
    TxtResolver,
)
from lexforge.runtime.identity.mock import MockDirectory
from lexforge.runtime.identity.model import Identity
from lexforge.runtime.identity.netguard import AddressClass, AddressVerdict, classify_address
from lexforge.runtime.identity.safe_http import (
    FetchPolicy,
    FetchResponse,
    SafeHttpClient,
    SafeNetworkBackend,
    SafeTransport,
    StaticHostResolver,
)

__all__ = [
    "ATPROTO_KEY_ID",
    "ATPROTO_LABEL_KEY_ID",
    "DEFAULT_PLC_URL",
    "LABELER_SERVICE_ID",
    "LABELER_SERVICE_TYPE",
    "MAX_DID_DOCUMENT_BYTES",
    "MAX_WELL_KNOWN_BYTES",
    "PDS_SERVICE_ID",
    "PDS_SERVICE_TYPE",
    "AddressClass",
    "AddressVerdict",
    "BaseDirectory",
    "CachingDirectory",
    "DidDeactivatedError",
    "DidDocument",
    "DidError",
    "DidNotFoundError",
    "DidResolutionError",
    "DidResolver",
    "Directory",
    "DnsTxtResolver",
    "FetchConnectError",
    "FetchError",
    "FetchPolicy",
    "FetchResponse",
    "FetchTimeoutError",
    "HandleError",
    "HandleMismatchError",
    "HandleNotFoundError",
    "HandleReservedTldError",
    "HandleResolutionError",
    "HandleResolver",
    "Identity",
    "IdentityError",
    "InvalidDidDocumentError",
    "KeyNotDeclaredError",
    "MalformedIdentifierError",
    "MockDirectory",
    "RedirectError",
    "ResponseTooLargeError",
    "SafeHttpClient",
    "SafeNetworkBackend",
    "SafeTransport",
    "Service",
    "ServiceNotDeclaredError",
    "SigningKeyLookup",
    "StaticHostResolver",
    "StrictJsonError",
    "TxtResolver",
    "UnsafeAddressError",
    "UnsafeUrlError",
    "UnsupportedDidMethodError",
    "VerificationMethod",
    "classify_address",
    "did_key_document",
    "did_web_url",
    "is_valid_plc_did",
    "lookup_identifier",
    "normalize_service_endpoint",
    "parse_at_identifier",
    "signing_key_lookup",
]

"""Resolve DIDs to DID documents: did:plc, did:web and did:key.

- **did:plc**: ``GET <directory>/<did>`` on a configurable directory (default
  ``https://plc.directory``). 404 means not found, 410 deactivated (the reference answers
  404 for both; the OpenAPI description says 410 for tombstones).
- **did:web**: hostname form only (``did:web:example.com``), fetched from
  ``https://<host>/.well-known/did.json`` without following redirects, as the reference
  resolver does. ``did:web:localhost%3A<port>`` (plain ``http``) is accepted only when the
  fetch policy allows loopback, i.e. in local development. Path-based did:web, ports on
  other hosts, IP literals and reserved TLDs are refused.
- **did:key**: built locally, no network.

Every fetched document is capped at 64 KiB while streaming, decoded as strict JSON, and
must have ``id`` equal to the DID (reliability N4). Network failures become
:class:`DidResolutionError`; authoritative "no such DID" answers
:class:`DidNotFoundError`.
"""

from __future__ import annotations

import re

from lexforge.runtime.identity.did_doc import DidDocument, did_key_document
from lexforge.runtime.identity.errors import (
    DidDeactivatedError,
    DidNotFoundError,
    DidResolutionError,
    FetchError,
    InvalidDidDocumentError,
    MalformedIdentifierError,
    ResponseTooLargeError,
    UnsupportedDidMethodError,
)
from lexforge.runtime.identity.safe_http import FetchResponse, SafeHttpClient
from lexforge.runtime.identity.strict_json import StrictJsonError, loads_strict
from lexforge.runtime.syntax import DISALLOWED_TLDS, Did, InvalidDidError, is_valid_handle

__all__ = [
    "DEFAULT_PLC_URL",
    "MAX_DID_DOCUMENT_BYTES",
    "DidResolver",
    "did_web_url",
    "is_valid_plc_did",
]

DEFAULT_PLC_URL = "https://plc.directory"
#: Cap on a fetched DID document (neither reference caps it; we do).
MAX_DID_DOCUMENT_BYTES = 64 * 1024

_PLC_RE = re.compile(r"did:plc:[a-z2-7]{24}")
_DOC_ACCEPT = "application/did+ld+json,application/json"


def is_valid_plc_did(did: str) -> bool:
    """True for ``did:plc:`` followed by exactly 24 lowercase base32 characters."""
    return _PLC_RE.fullmatch(did) is not None


def did_web_url(did: str, *, allow_localhost: bool = False) -> str:
    """The ``did.json`` URL of a hostname-only did:web DID.

    Raises :class:`UnsupportedDidMethodError` for forms atproto does not support (paths,
    ports except on localhost in development, reserved TLDs, IP literals).
    """
    ident = did.removeprefix("did:web:")
    if ident == did or not ident:
        raise MalformedIdentifierError(f"not a did:web DID: {did[:100]!r}")
    if ":" in ident:
        raise UnsupportedDidMethodError(f"path-based did:web is not supported: {did[:100]!r}")
    host, sep, port = ident.partition("%3A")
    if not sep:
        host, sep, port = ident.partition("%3a")
    if host == "localhost":
        if not allow_localhost:
            raise UnsupportedDidMethodError(
                "did:web:localhost is only allowed in local development (allow loopback)"
            )
        if sep and not (port.isdigit() and 0 < int(port) < 65536 and port[0] != "0"):
            raise UnsupportedDidMethodError(f"invalid port in {did[:100]!r}")
        return f"http://localhost{':' + port if sep else ''}/.well-known/did.json"
    if sep or "%" in ident:
        raise UnsupportedDidMethodError(
            f"did:web ports and percent-encoding are only allowed for localhost: {did[:100]!r}"
        )
    if not is_valid_handle(host):
        raise UnsupportedDidMethodError(f"did:web host is not a valid hostname: {did[:100]!r}")
    host = host.lower()
    if host.rpartition(".")[2] in DISALLOWED_TLDS:
        raise UnsupportedDidMethodError(f"did:web host uses a reserved TLD: {did[:100]!r}")
    return f"https://{host}/.well-known/did.json"


class DidResolver:
    """Resolves did:plc, did:web and did:key DIDs to validated :class:`DidDocument` s.

    ``http`` is the SSRF-safe client used for did:web (untrusted hosts) and, unless
    ``plc_http`` is given, for the PLC directory. The directory URL is operator
    configuration, not untrusted input, so a local directory (``lexforge plc serve`` on
    127.0.0.1) may get its own client with loopback allowed (``plc_http``) without
    opening loopback to did:web hosts; :meth:`BaseDirectory.create
    <lexforge.runtime.identity.directory.BaseDirectory.create>` does that by itself.
    The PLC fetch never follows redirects and its path is a validated did:plc, so that
    client only ever reaches the configured directory.
    """

    def __init__(
        self,
        http: SafeHttpClient,
        *,
        plc_url: str = DEFAULT_PLC_URL,
        plc_http: SafeHttpClient | None = None,
    ) -> None:
        self._http = http
        self._plc_http = plc_http or http
        self.plc_url = plc_url.rstrip("/")

    async def resolve(self, did: str) -> DidDocument:
        """Resolve ``did`` (any supported method) to its validated document."""
        try:
            parsed = Did.parse(did)
        except InvalidDidError as exc:
            raise MalformedIdentifierError(str(exc)) from None
        if parsed.method == "plc":
            return await self.resolve_plc(parsed)
        if parsed.method == "web":
            return await self.resolve_web(parsed)
        if parsed.method == "key":
            return did_key_document(parsed)
        raise UnsupportedDidMethodError(f"unsupported DID method {parsed.method!r} ({did[:100]})")

    async def resolve_plc(self, did: str) -> DidDocument:
        """Fetch a did:plc document from the configured directory."""
        if not is_valid_plc_did(did):
            raise MalformedIdentifierError(f"not a valid did:plc identifier: {did[:100]!r}")
        url = f"{self.plc_url}/{did}"
        response = await self._fetch(self._plc_http, did, url, allowed_schemes=("https", "http"))
        if response.status == 410:
            raise DidDeactivatedError(f"{did} is deactivated (PLC directory answered 410)")
        if response.status == 404:
            raise DidNotFoundError(f"{did} is not registered with {self.plc_url}")
        return self._document(did, response)

    async def resolve_web(self, did: str) -> DidDocument:
        """Fetch a hostname-only did:web document from ``/.well-known/did.json``."""
        url = did_web_url(did, allow_localhost=self._http.policy.allow_loopback)
        schemes = ("http",) if url.startswith("http://") else ("https",)
        response = await self._fetch(self._http, did, url, allowed_schemes=schemes)
        if 400 <= response.status < 500:
            raise DidNotFoundError(f"{did}: {url} answered {response.status}")
        return self._document(did, response)

    @staticmethod
    async def _fetch(
        http: SafeHttpClient, did: str, url: str, *, allowed_schemes: tuple[str, ...]
    ) -> FetchResponse:
        try:
            return await http.get(
                url,
                max_bytes=MAX_DID_DOCUMENT_BYTES,
                headers={"Accept": _DOC_ACCEPT},
                max_redirects=0,
                allowed_schemes=allowed_schemes,
            )
        except ResponseTooLargeError as exc:
            raise InvalidDidDocumentError(f"{did}: {exc}") from exc
        except FetchError as exc:
            raise DidResolutionError(f"resolving {did} failed: {exc}") from exc

    @staticmethod
    def _document(did: str, response: FetchResponse) -> DidDocument:
        if not response.ok:
            raise DidResolutionError(f"resolving {did}: {response.url} answered {response.status}")
        try:
            data = loads_strict(response.body)
        except StrictJsonError as exc:
            raise InvalidDidDocumentError(f"{did}: DID document is not valid JSON: {exc}") from None
        return DidDocument.parse(data, did)

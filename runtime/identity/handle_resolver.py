"""Resolve handles to DIDs: DNS TXT ``_atproto.<handle>`` and HTTPS well-known.

Rules (atproto handle spec, reliability N2):

- **DNS**: TXT records at ``_atproto.<handle>``; multi-string records are joined; only
  values starting with ``did=`` count, and there must be exactly one distinct such value
  (zero or two or more -> no answer from DNS), holding a syntactically valid DID.
- **HTTPS**: ``GET https://<handle>/.well-known/atproto-did``; a 2xx body of at most
  2 KiB whose first line, trimmed, is a valid DID starting with ``did:``. A couple of
  redirects are followed, each re-checked by the SSRF-safe client.
- Both start concurrently; a DNS answer wins (the HTTPS fetch is cancelled), else the
  HTTPS answer is used.
- Reserved TLDs (``.local``, ``.onion``, ``.invalid``, ...) never resolve.

The result is only the *forward* direction. A handle is valid only after the DID's
document claims it back; :mod:`lexforge.runtime.identity.directory` does that check.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

import dns.asyncresolver
import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

from lexforge.runtime.identity.errors import (
    FetchConnectError,
    FetchError,
    FetchTimeoutError,
    HandleNotFoundError,
    HandleReservedTldError,
    HandleResolutionError,
    MalformedIdentifierError,
)
from lexforge.runtime.identity.safe_http import SafeHttpClient
from lexforge.runtime.syntax import Did, Handle, InvalidHandleError, is_valid_did

__all__ = [
    "MAX_WELL_KNOWN_BYTES",
    "DnsTxtResolver",
    "HandleResolver",
    "TxtResolver",
    "did_from_txt_records",
    "did_from_well_known_body",
]

#: Cap on the ``/.well-known/atproto-did`` body (indigo uses the same).
MAX_WELL_KNOWN_BYTES = 2048
_TXT_PREFIX = "did="


class TxtResolver(Protocol):
    """Looks up TXT records. Returns the record strings (chunks joined); an empty list
    for NXDOMAIN / no TXT data; raises :class:`HandleResolutionError` for failures that
    may be transient (timeouts, SERVFAIL)."""

    async def txt(self, name: str) -> list[str]: ...


class DnsTxtResolver:
    """:class:`TxtResolver` over dnspython's asyncio resolver.

    ``nameservers``/``port`` override the system configuration (tests point them at a
    local stub server); ``lifetime`` bounds the whole query including retries.
    """

    def __init__(
        self,
        *,
        nameservers: Sequence[str] | None = None,
        port: int = 53,
        lifetime: float = 3.0,
    ) -> None:
        self._config_error: str | None = None
        if nameservers is None:
            try:
                self._resolver = dns.asyncresolver.Resolver()
            except dns.exception.DNSException as exc:
                # No usable system configuration: fail each lookup (transiently) instead
                # of failing to build the resolver, so HTTPS well-known still works.
                self._resolver = dns.asyncresolver.Resolver(configure=False)
                self._config_error = f"no DNS resolver configuration: {exc}"
        else:
            self._resolver = dns.asyncresolver.Resolver(configure=False)
            self._resolver.nameservers = list(nameservers)
        self._resolver.port = port
        self._lifetime = lifetime

    async def txt(self, name: str) -> list[str]:
        if self._config_error is not None:
            raise HandleResolutionError(self._config_error)
        try:
            answer = await self._resolver.resolve(
                name, dns.rdatatype.TXT, lifetime=self._lifetime, search=False
            )
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.name.NameTooLong):
            # NameTooLong: ``_atproto.`` plus a valid handle over 244 characters cannot
            # exist in DNS, which is a definite "no record", not a transient failure.
            return []
        except dns.exception.Timeout as exc:
            raise HandleResolutionError(f"DNS lookup of {name} timed out") from exc
        except dns.exception.DNSException as exc:
            raise HandleResolutionError(f"DNS lookup of {name} failed: {exc}") from exc
        out: list[str] = []
        for rdata in answer:
            chunks: Sequence[bytes] = getattr(rdata, "strings", ())
            try:
                out.append(b"".join(chunks).decode("utf-8"))
            except UnicodeDecodeError:
                continue  # not a did= value anyone could have meant
        return out


def did_from_txt_records(records: Sequence[str]) -> Did | None:
    """The DID if exactly one distinct ``did=`` value exists and is a valid DID."""
    values = {r[len(_TXT_PREFIX) :] for r in records if r.startswith(_TXT_PREFIX)}
    if len(values) != 1:
        return None
    (value,) = values
    return Did.parse(value) if is_valid_did(value) else None


def did_from_well_known_body(body: bytes) -> Did | None:
    """The DID on the first line of a well-known body (trimmed), if valid."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    # The first line as the reference cuts it (at "\n" only; str.splitlines would also
    # cut at \u2028, \x0b, ... and accept bodies the reference rejects), trimmed.
    first = text.split("\n", 1)[0].strip()
    if not first.startswith("did:") or not is_valid_did(first):
        return None
    return Did.parse(first)


class HandleResolver:
    """Forward handle resolution (handle -> DID) by DNS and HTTPS well-known.

    ``well_known_scheme``/``well_known_port`` exist for local development and tests
    (a plain-HTTP well-known server on loopback); ``http`` is only allowed when the fetch
    policy allows loopback. Production uses the defaults (HTTPS, port 443).
    """

    def __init__(
        self,
        http: SafeHttpClient,
        *,
        txt: TxtResolver | None = None,
        well_known_scheme: str = "https",
        well_known_port: int | None = None,
        max_redirects: int = 2,
    ) -> None:
        if well_known_scheme not in ("https", "http"):
            raise ValueError("well_known_scheme must be 'https' or 'http'")
        if well_known_scheme == "http" and not http.policy.allow_loopback:
            raise ValueError("plain-HTTP well-known lookups are only for local development")
        self._http = http
        self._txt: TxtResolver = txt if txt is not None else DnsTxtResolver()
        self._scheme = well_known_scheme
        self._port = well_known_port
        self._max_redirects = max_redirects

    @staticmethod
    def _parse(handle: str) -> Handle:
        try:
            parsed = Handle.parse(handle)
        except InvalidHandleError as exc:
            raise MalformedIdentifierError(str(exc)) from None
        if parsed.has_disallowed_tld():
            raise HandleReservedTldError(f"handle {parsed} uses a reserved TLD (.{parsed.tld})")
        return parsed

    async def resolve(self, handle: str) -> Did:
        """Resolve ``handle`` to a DID (forward direction only).

        Raises :class:`HandleNotFoundError` when neither method declares a DID,
        :class:`HandleResolutionError` when that may be due to a transient failure,
        :class:`HandleReservedTldError` and :class:`MalformedIdentifierError`.
        """
        parsed = self._parse(handle)
        web_task = asyncio.create_task(self._well_known(parsed))
        try:
            dns_error: HandleResolutionError | None = None
            try:
                did = await self.resolve_dns(parsed)
            except HandleResolutionError as exc:
                did, dns_error = None, exc
            if did is not None:
                return did
            web_did, web_transient = await web_task
        finally:
            if not web_task.done():
                web_task.cancel()
                await asyncio.gather(web_task, return_exceptions=True)
        if web_did is not None:
            return web_did
        if dns_error is not None or web_transient is not None:
            reason = dns_error or web_transient
            raise HandleResolutionError(f"could not resolve {parsed}: {reason}") from reason
        raise HandleNotFoundError(f"{parsed} declares no DID (DNS TXT or well-known)")

    async def resolve_dns(self, handle: str) -> Did | None:
        """The DID from ``_atproto.<handle>`` TXT records, or None (absent/ambiguous).
        Raises :class:`HandleResolutionError` for transient failures."""
        records = await self._txt.txt(f"_atproto.{self._parse(handle)}")
        return did_from_txt_records(records)

    async def resolve_well_known(self, handle: str) -> Did | None:
        """The DID from ``/.well-known/atproto-did``, or None. Raises
        :class:`HandleResolutionError` for transient failures."""
        did, transient = await self._well_known(self._parse(handle))
        if transient is not None:
            raise transient
        return did

    def well_known_url(self, handle: str) -> str:
        """The well-known URL this resolver fetches for ``handle``."""
        port = f":{self._port}" if self._port is not None else ""
        return f"{self._scheme}://{handle}{port}/.well-known/atproto-did"

    async def _well_known(self, handle: Handle) -> tuple[Did | None, HandleResolutionError | None]:
        url = self.well_known_url(handle)
        try:
            response = await self._http.get(
                url,
                max_bytes=MAX_WELL_KNOWN_BYTES,
                headers={"Accept": "text/plain"},
                max_redirects=self._max_redirects,
                allowed_schemes=(self._scheme,),
            )
        except (FetchTimeoutError, FetchConnectError) as exc:
            return None, HandleResolutionError(f"{url}: {exc}")
        except FetchError:
            # Refused (unsafe address, too large, bad redirect): a definite "no".
            return None, None
        if response.status >= 500:
            return None, HandleResolutionError(f"{url} answered {response.status}")
        if not response.ok:
            return None, None
        return did_from_well_known_body(response.body), None

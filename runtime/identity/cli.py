"""``lexforge did`` and ``lexforge handle``: resolve identities from the command line.

- ``lexforge did resolve DID`` prints the validated DID document as JSON.
- ``lexforge handle resolve HANDLE`` prints the DID the handle resolves to, after
  checking that the DID document claims the handle back (``--no-verify`` skips that);
  ``--json`` prints ``{"handle", "did", "verified", "pds", "signing_key"}`` instead.

Both fetch through the SSRF-safe client. ``--plc-url`` selects the PLC directory; one on
localhost / 127.0.0.1 / [::1] (``lexforge plc serve``) is trusted as configuration.
``--allow-loopback`` is the local-development switch for everything else (did:web on
localhost, handles served from this machine).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from typing import Any

import click

from lexforge.runtime.identity.did_resolver import DEFAULT_PLC_URL
from lexforge.runtime.identity.directory import BaseDirectory
from lexforge.runtime.identity.errors import IdentityError, UnsafeAddressError
from lexforge.runtime.identity.safe_http import FetchPolicy, StaticHostResolver, system_resolver

__all__ = ["did", "handle"]

_PLC_URL = click.option(
    "--plc-url",
    default=DEFAULT_PLC_URL,
    show_default=True,
    envvar="LEXFORGE_PLC_URL",
    help="PLC directory used for did:plc (env LEXFORGE_PLC_URL); one on localhost "
    "(lexforge plc serve) needs no --allow-loopback.",
)
_ALLOW_LOOPBACK = click.option(
    "--allow-loopback",
    is_flag=True,
    help="Local development: allow did:web and handle fetches to 127.0.0.1 / ::1 "
    "(and did:web:localhost%3APORT over http).",
)
_RESOLVE = click.option(
    "--resolve",
    "pins",
    multiple=True,
    metavar="HOST=IP",
    help="Pin HOST to IP for HTTP fetches, like curl --resolve (repeatable; still SSRF-checked).",
)
_TIMEOUT = click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=60),
    default=3.0,
    show_default=True,
    help="Per-request timeout in seconds.",
)


def _pinned(pins: tuple[str, ...]) -> StaticHostResolver | None:
    if not pins:
        return None
    table: dict[str, list[str]] = {}
    for pin in pins:
        host, sep, ip = pin.partition("=")
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise click.BadParameter(
                f"expected HOST=IP, got {pin!r}", param_hint="--resolve"
            ) from None
        if not sep or not host:
            raise click.BadParameter(f"expected HOST=IP, got {pin!r}", param_hint="--resolve")
        table.setdefault(host.lower(), []).append(ip)
    return StaticHostResolver(table, fallback=system_resolver)


def _directory(
    plc_url: str, allow_loopback: bool, timeout: float, pins: tuple[str, ...], **kwargs: Any
) -> BaseDirectory:
    policy = FetchPolicy(allow_loopback=allow_loopback, timeout=timeout, deadline=timeout * 2)
    return BaseDirectory.create(
        plc_url=plc_url, policy=policy, host_resolver=_pinned(pins), **kwargs
    )


def _fail(exc: IdentityError, allow_loopback: bool) -> click.ClickException:
    """The error as a one-line CLI failure, with a hint where a flag would help."""
    message = f"{type(exc).__name__}: {exc}"
    causes = [exc, exc.__cause__]
    refused_loopback = any(
        isinstance(e, UnsafeAddressError) and "loopback" in str(e) for e in causes
    )
    if refused_loopback and not allow_loopback:
        message += " (for local development, add --allow-loopback)"
    return click.ClickException(message)


@click.group()
def did() -> None:
    """Resolve DIDs (did:plc, did:web, did:key)."""


@did.command("resolve")
@click.argument("did_text", metavar="DID")
@_PLC_URL
@_ALLOW_LOOPBACK
@_RESOLVE
@_TIMEOUT
def resolve_did(
    *, did_text: str, plc_url: str, allow_loopback: bool, pins: tuple[str, ...], timeout: float
) -> None:
    """Print the validated DID document of DID as JSON.

    did:plc is fetched from the PLC directory (--plc-url), did:web (hostname form only)
    from https://HOST/.well-known/did.json, did:key is built locally. The document must
    be at most 64 KiB and its id must be DID.
    """

    async def go() -> dict[str, Any]:
        async with _directory(plc_url, allow_loopback, timeout, pins) as directory:
            doc = await directory.did_resolver.resolve(did_text)
            return doc.to_json()

    try:
        document = asyncio.run(go())
    except IdentityError as exc:
        raise _fail(exc, allow_loopback) from None
    click.echo(json.dumps(document, indent=2, sort_keys=True))


@click.group()
def handle() -> None:
    """Resolve handles (DNS TXT _atproto and HTTPS well-known)."""


@handle.command("resolve")
@click.argument("handle_text", metavar="HANDLE")
@_PLC_URL
@_ALLOW_LOOPBACK
@_RESOLVE
@_TIMEOUT
@click.option(
    "--nameserver",
    "nameservers",
    multiple=True,
    help="DNS server IP for the TXT lookup (repeatable; default: system resolvers).",
)
@click.option(
    "--dns-port",
    type=click.IntRange(1, 65535),
    default=53,
    show_default=True,
    help="Port of the --nameserver servers.",
)
@click.option("--no-verify", is_flag=True, help="Only resolve handle -> DID; skip the DID doc.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object with details.")
def resolve_handle(
    *,
    handle_text: str,
    plc_url: str,
    allow_loopback: bool,
    pins: tuple[str, ...],
    timeout: float,
    nameservers: tuple[str, ...],
    dns_port: int,
    no_verify: bool,
    as_json: bool,
) -> None:
    """Print the DID that HANDLE resolves to (verified in both directions).

    The DID comes from exactly one did= TXT record at _atproto.HANDLE, else from
    https://HANDLE/.well-known/atproto-did; then the DID document must claim HANDLE
    back (its first at:// alias), otherwise the handle is invalid and this fails.
    """

    async def go() -> dict[str, Any]:
        async with _directory(
            plc_url,
            allow_loopback,
            timeout,
            pins,
            nameservers=list(nameservers) or None,
            dns_port=dns_port,
        ) as directory:
            if no_verify:
                resolved = await directory.handle_resolver.resolve(handle_text)
                return {"handle": handle_text.lower(), "did": resolved, "verified": False}
            ident = await directory.lookup_handle(handle_text)
            return {
                "handle": ident.handle,
                "did": ident.did,
                "verified": True,
                "pds": ident.pds_endpoint,
                "signing_key": ident.signing_key.did_key() if ident.signing_key else None,
            }

    try:
        result = asyncio.run(go())
    except IdentityError as exc:
        raise _fail(exc, allow_loopback) from None
    if as_json:
        click.echo(json.dumps(result, sort_keys=True))
    else:
        click.echo(result["did"])

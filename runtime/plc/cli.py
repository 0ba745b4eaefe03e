"""``lexforge plc``: run a local PLC directory, create and update did:plc identities.

- ``lexforge plc serve [--db PATH] [--host H] [--port N]``: the directory HTTP API over a
  SQLite file (default ``plc.sqlite3``, 127.0.0.1:2582).
- ``lexforge plc create --rotation-key KEY ... [--signing-key KEY] [--handle H]
  [--pds URL] [--sign-with KEY]``: build and sign a genesis operation, submit it, print
  the DID on the first line and the operation JSON after it.
- ``lexforge plc update DID --sign-with KEY [--rotation-key KEY ...] [--signing-key KEY]
  [--handle H] [--pds URL] [--prev CID] [--tombstone]``: build on the newest valid
  operation (or on ``--prev`` to fork for recovery), sign, submit, print the op JSON.

Keys: a public key is a ``did:key``; a private key is 64 hex digits (K-256), or
``k256:HEX`` / ``p256:HEX``. Wherever a private key is read, ``@PATH`` reads it from a
file and ``-`` from standard input, so secrets need not appear in shell history.
``--no-submit`` prints the signed operation without sending it. A ``--plc-url`` on
localhost/127.0.0.1/[::1] implies the loopback development switch.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import sys
from pathlib import Path
from typing import Any

import click
import httpx
import uvicorn

from lexforge.runtime.crypto import (
    CryptoError,
    K256Keypair,
    Keypair,
    P256Keypair,
    parse_did_key,
)
from lexforge.runtime.data import CID, DataModelError
from lexforge.runtime.identity.did_resolver import DEFAULT_PLC_URL
from lexforge.runtime.identity.errors import IdentityError
from lexforge.runtime.identity.safe_http import FetchPolicy
from lexforge.runtime.plc.builders import build_tombstone, build_update, create_genesis
from lexforge.runtime.plc.client import PlcClient
from lexforge.runtime.plc.errors import PlcError
from lexforge.runtime.plc.operations import Operation, PlcTombstone
from lexforge.runtime.plc.server import create_app

__all__ = ["plc"]

_PLC_URL = click.option(
    "--plc-url",
    default=DEFAULT_PLC_URL,
    show_default=True,
    envvar="LEXFORGE_PLC_URL",
    help="PLC directory to submit to (env LEXFORGE_PLC_URL).",
)
_NO_SUBMIT = click.option(
    "--no-submit", is_flag=True, help="Print the signed operation without submitting it."
)


def _read_secret(spec: str) -> str:
    if spec == "-":
        return sys.stdin.read(1024).strip()
    if spec.startswith("@"):
        try:
            return Path(spec[1:]).read_text(encoding="utf-8")[:1024].strip()
        except OSError as exc:
            raise click.BadParameter(f"cannot read key file: {exc}") from None
    return spec.strip()


def parse_private_key(spec: str) -> Keypair:
    """``HEX`` (K-256), ``k256:HEX``, ``p256:HEX``, ``@PATH`` or ``-``."""
    text = _read_secret(spec)
    curve, sep, hex_text = text.partition(":")
    if not sep:
        curve, hex_text = "k256", text
    keypair_class: type[Keypair]
    if curve == "k256":
        keypair_class = K256Keypair
    elif curve == "p256":
        keypair_class = P256Keypair
    else:
        raise click.BadParameter(f"unknown key curve {curve!r} (use k256: or p256:)")
    try:
        return keypair_class.from_private_hex(hex_text)
    except CryptoError as exc:
        raise click.BadParameter(f"invalid private key: {exc}") from None


def parse_public_key(spec: str) -> str:
    """A did:key as given, or the did:key of a private key spec."""
    if spec.startswith("did:key:"):
        try:
            return parse_did_key(spec).did_key()
        except CryptoError as exc:
            raise click.BadParameter(f"invalid did:key: {exc}") from None
    return parse_private_key(spec).did_key()


def _is_loopback_url(url: str) -> bool:
    try:
        host = httpx.URL(url).host
    except (httpx.InvalidURL, TypeError):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _client(plc_url: str) -> PlcClient:
    policy = FetchPolicy(allow_loopback=_is_loopback_url(plc_url), timeout=10.0, deadline=30.0)
    return PlcClient(plc_url, policy=policy)


def _emit(op: Operation, did: str | None = None) -> None:
    if did is not None:
        click.echo(did)
    click.echo(json.dumps(op.to_json(), indent=2))


def _run(coro: Any) -> Any:
    try:
        return asyncio.run(coro)
    except (PlcError, IdentityError) as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from None


@click.group()
def plc() -> None:
    """did:plc: a local PLC directory and signed operations."""


@plc.command()
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("plc.sqlite3"),
    show_default=True,
    help="SQLite database file (created if missing).",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=2582, show_default=True)
@click.option("--log-level", default="info", show_default=True)
def serve(db_path: Path, host: str, port: int, log_level: str) -> None:
    """Run a PLC directory server (HTTP API of plc.directory) over SQLite."""
    uvicorn.run(create_app(db_path), host=host, port=port, log_level=log_level)


@plc.command()
@click.option(
    "--rotation-key",
    "rotation_keys",
    multiple=True,
    required=True,
    help="Rotation key, highest priority first (did:key or private key; repeatable, 1-5).",
)
@click.option("--signing-key", help="The atproto signing key (did:key or private key).")
@click.option("--handle", help="Handle, published as at://HANDLE.")
@click.option("--pds", help="PDS endpoint URL (atproto_pds service).")
@click.option(
    "--sign-with",
    help="Private rotation key to sign with (default: the first private --rotation-key).",
)
@_PLC_URL
@_NO_SUBMIT
def create(
    *,
    rotation_keys: tuple[str, ...],
    signing_key: str | None,
    handle: str | None,
    pds: str | None,
    sign_with: str | None,
    plc_url: str,
    no_submit: bool,
) -> None:
    """Create a did:plc identity: print the DID, then the signed genesis operation."""
    public = [parse_public_key(k) for k in rotation_keys]
    if sign_with is not None:
        signer = parse_private_key(sign_with)
    else:
        private = [k for k in rotation_keys if not k.startswith("did:key:")]
        if not private:
            raise click.UsageError("give --sign-with, or a rotation key as a private key")
        signer = parse_private_key(private[0])
    try:
        did, op = create_genesis(
            rotation_keys=public,
            signing_key=parse_public_key(signing_key) if signing_key else None,
            handle=handle,
            pds_endpoint=pds,
            signer=signer,
        )
    except PlcError as exc:
        raise click.ClickException(str(exc)) from None
    if not no_submit:

        async def submit() -> None:
            async with _client(plc_url) as client:
                await client.submit(did, op)

        _run(submit())
    _emit(op, did)


@plc.command()
@click.argument("did")
@click.option("--sign-with", required=True, help="Private rotation key to sign with.")
@click.option(
    "--rotation-key",
    "rotation_keys",
    multiple=True,
    help="Replace the rotation keys (repeatable, highest priority first).",
)
@click.option("--signing-key", help="New atproto signing key (did:key or private key).")
@click.option("--handle", help="New handle.")
@click.option("--pds", help="New PDS endpoint URL.")
@click.option("--prev", "prev_cid", help="Build on this operation CID (fork for recovery).")
@click.option("--tombstone", is_flag=True, help="Deactivate the DID instead of updating it.")
@_PLC_URL
@_NO_SUBMIT
def update(
    *,
    did: str,
    sign_with: str,
    rotation_keys: tuple[str, ...],
    signing_key: str | None,
    handle: str | None,
    pds: str | None,
    prev_cid: str | None,
    tombstone: bool,
    plc_url: str,
    no_submit: bool,
) -> None:
    """Update (or tombstone) DID: print the signed operation."""
    signer = parse_private_key(sign_with)
    if tombstone and (rotation_keys or signing_key or handle or pds):
        raise click.UsageError("--tombstone takes no other changes")
    target: CID | None = None
    if prev_cid is not None:
        try:
            target = CID.parse(prev_cid)
        except DataModelError as exc:
            raise click.BadParameter(f"--prev: {exc}") from None

    async def go() -> Operation:
        async with _client(plc_url) as client:
            chain = [e for e in await client.get_audit_log(did) if not e.nullified]
            if not chain:
                raise click.ClickException(f"{did} has no valid operations")
            base = chain[-1]
            if target is not None:
                found = [e for e in chain if e.cid == target]
                if not found:
                    raise click.ClickException(f"{prev_cid} is not a valid operation of {did}")
                base = found[0]
            if isinstance(base.operation, PlcTombstone):
                raise click.ClickException(f"{did} is tombstoned; pass --prev to recover")
            op: Operation
            if tombstone:
                op = build_tombstone(base.operation, signer=signer)
            else:
                op = build_update(
                    base.operation,
                    signer=signer,
                    rotation_keys=[parse_public_key(k) for k in rotation_keys] or None,
                    signing_key=parse_public_key(signing_key) if signing_key else None,
                    handle=handle,
                    pds_endpoint=pds,
                )
            if not no_submit:
                await client.submit(did, op)
            return op

    _emit(_run(go()))

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
``k256:HEX`` / ``p256:HEX``, or the output of ``lexforge key generate`` (text or
``--json``, which names its curve). Wherever a private key is read, ``@PATH`` reads it
from a file and ``-`` from standard input, so secrets need not appear in shell history.
``--no-submit`` prints the signed operation without sending it. A ``--plc-url`` on
localhost/127.0.0.1/[::1] is trusted as configuration (no loopback switch needed).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import uvicorn

from lexforge.runtime.crypto import (
    CryptoError,
    K256Keypair,
    Keypair,
    P256Keypair,
    parse_did_key,
)
from lexforge.runtime.data import CID, DataModelError
from lexforge.runtime.identity.did_resolver import DEFAULT_PLC_URL, is_valid_plc_did
from lexforge.runtime.identity.errors import IdentityError
from lexforge.runtime.identity.safe_http import FetchPolicy
from lexforge.runtime.plc.builders import build_tombstone, build_update, create_genesis
from lexforge.runtime.plc.client import PlcClient
from lexforge.runtime.plc.errors import PlcError
from lexforge.runtime.plc.operations import Operation, PlcTombstone, normalize
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


_STDIN_KEY = "lexforge.plc.stdin_key"
_KEY_FORMATS = (
    "Private keys: HEX (64 hex digits, K-256), k256:HEX, p256:HEX, or the output of "
    "'lexforge key generate' (text or --json); @PATH reads a file, - reads stdin."
)


def _read_secret(spec: str) -> str:
    if spec == "-":
        # Standard input can be read once; a key given as "-" to two options is the
        # same key, so remember it for this invocation.
        meta = click.get_current_context().meta
        if _STDIN_KEY not in meta:
            meta[_STDIN_KEY] = sys.stdin.read(1024).strip()
        text: str = meta[_STDIN_KEY]
        return text
    if spec.startswith("@"):
        try:
            return Path(spec[1:]).read_text(encoding="utf-8")[:1024].strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise click.BadParameter(f"cannot read key file: {exc}") from None
    return spec.strip()


def _generated_key_fields(text: str) -> dict[str, str] | None:
    """The fields of ``lexforge key generate`` output (JSON or ``name: value`` lines)."""
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise click.BadParameter("key file is not valid JSON") from None
        if not isinstance(data, dict):
            return None
        return {str(k): str(v) for k, v in data.items()}
    if "private_key_hex:" in text:
        pairs = (line.partition(":") for line in text.splitlines())
        return {name.strip(): value.strip() for name, _, value in pairs}
    return None


def _curve_and_hex(text: str) -> tuple[str, str, bool]:
    """``(curve, hex, curve_was_given)`` from a private key text."""
    fields = _generated_key_fields(text)
    if fields is not None:
        if "private_key_hex" not in fields or fields.get("curve") not in ("k256", "p256"):
            raise click.BadParameter("key file needs 'curve' (k256/p256) and 'private_key_hex'")
        return fields["curve"], fields["private_key_hex"], True
    curve, sep, hex_text = text.partition(":")
    if not sep:
        return "k256", text, False
    return curve, hex_text, True


def _keypair(curve: str, hex_text: str) -> Keypair:
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


def parse_private_key(spec: str) -> Keypair:
    """``HEX`` (K-256), ``k256:HEX``, ``p256:HEX``, ``lexforge key generate`` output,
    ``@PATH`` or ``-``."""
    return _keypair(*_curve_and_hex(_read_secret(spec))[:2])


def parse_signer(spec: str, allowed: Sequence[str], what: str) -> Keypair:
    """The private key ``spec``, which must be one of ``allowed`` (did:keys).

    A bare hex key is read as K-256; if it is not allowed as that but its P-256 reading
    is, say so instead of failing with "not one of the rotation keys".
    """
    curve, hex_text, explicit = _curve_and_hex(_read_secret(spec))
    keypair = _keypair(curve, hex_text)
    if keypair.did_key() in allowed or explicit:
        return keypair
    try:
        as_p256 = P256Keypair.from_private_hex(hex_text).did_key()
    except CryptoError:
        return keypair
    if as_p256 in allowed:
        raise click.BadParameter(
            f"this key is one of {what} as a P-256 key: write it as p256:HEX "
            "(a bare hex key is read as K-256)",
            param_hint="--sign-with",
        )
    return keypair


def parse_public_key(spec: str) -> str:
    """A did:key as given, or the did:key of a private key spec."""
    if spec.startswith("did:key:"):
        try:
            return parse_did_key(spec).did_key()
        except CryptoError as exc:
            raise click.BadParameter(f"invalid did:key: {exc}") from None
    return parse_private_key(spec).did_key()


def _client(plc_url: str) -> PlcClient:
    return PlcClient(plc_url, policy=FetchPolicy(timeout=10.0, deadline=30.0))


def _emit(op: Operation, did: str | None = None) -> None:
    if did is not None:
        click.echo(did)
    click.echo(json.dumps(op.to_json(), indent=2))


def _fail(exc: PlcError | IdentityError) -> click.ClickException:
    return click.ClickException(f"{type(exc).__name__}: {exc}")


def _run(coro: Any) -> Any:
    try:
        return asyncio.run(coro)
    except (PlcError, IdentityError) as exc:
        raise _fail(exc) from None


def _plc_did(did: str) -> str:
    if not is_valid_plc_did(did):
        raise click.BadParameter(
            f"not a did:plc identifier: {did[:100]!r} (did:plc: + 24 characters a-z 2-7)",
            param_hint="DID",
        )
    return did


@click.group(epilog=_KEY_FORMATS)
def plc() -> None:
    """did:plc: a local PLC directory and signed operations."""


@plc.command()
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("plc.sqlite3"),
    show_default=True,
    help="SQLite database file (created if missing; its folder must exist).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (keep 127.0.0.1 unless others must reach it).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=2582,
    show_default=True,
    help="Port to listen on (0: any free port, printed at startup).",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
    help="uvicorn log level.",
)
def serve(db_path: Path, host: str, port: int, log_level: str) -> None:
    """Run a PLC directory server (the HTTP API of plc.directory) over SQLite.

    Endpoints: POST /DID submits a signed operation (validated: signatures, prev chain,
    72-hour recovery window, limits; bad ones get 400 with a JSON error); GET /DID (DID
    document), /DID/data, /DID/log, /DID/log/audit, /DID/log/last; GET
    /export?after=SEQ&count=N (JSON lines). Use it with --plc-url http://HOST:PORT.
    """
    try:
        app = create_app(db_path)
    except sqlite3.Error as exc:
        raise click.ClickException(f"cannot open the database {db_path}: {exc}") from None
    uvicorn.run(app, host=host, port=port, log_level=log_level)


@plc.command(epilog=_KEY_FORMATS)
@click.option(
    "--rotation-key",
    "rotation_keys",
    multiple=True,
    required=True,
    help="Rotation key, highest priority first (did:key or private key; repeatable, 1-5). "
    "A higher-priority key can undo operations signed by a lower one for 72 hours.",
)
@click.option("--signing-key", help="The atproto signing key (did:key or private key).")
@click.option("--handle", help="Handle, published as at://HANDLE.")
@click.option("--pds", help="PDS endpoint URL, e.g. https://pds.example.com (no path).")
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
    if sign_with is None:
        private = [k for k in rotation_keys if not k.startswith("did:key:")]
        if not private:
            raise click.UsageError("give --sign-with, or a rotation key as a private key")
        sign_with = private[0]
    signer = parse_signer(sign_with, public, "the --rotation-key keys")
    try:
        did, op = create_genesis(
            rotation_keys=public,
            signing_key=parse_public_key(signing_key) if signing_key else None,
            handle=handle,
            pds_endpoint=pds,
            signer=signer,
        )
    except PlcError as exc:
        raise _fail(exc) from None
    if not no_submit:

        async def submit() -> None:
            async with _client(plc_url) as client:
                await client.submit(did, op)

        _run(submit())
    _emit(op, did)


@plc.command(epilog=_KEY_FORMATS)
@click.argument("did", callback=lambda ctx, param, value: _plc_did(value))
@click.option(
    "--sign-with",
    required=True,
    help="Private rotation key to sign with: one of the rotation keys of the operation built on.",
)
@click.option(
    "--rotation-key",
    "rotation_keys",
    multiple=True,
    help="Replace the rotation keys (repeatable, highest priority first).",
)
@click.option("--signing-key", help="New atproto signing key (did:key or private key).")
@click.option("--handle", help="New handle (replaces the first at:// alias).")
@click.option("--pds", help="New PDS endpoint URL, e.g. https://pds.example.com (no path).")
@click.option(
    "--prev",
    "prev_cid",
    help="Build on this operation CID instead of the newest one: to recover, fork at the "
    "last good operation (CIDs are in GET /DID/log/audit) and sign with a rotation key "
    "of higher priority than the one that signed the operations to undo (72-hour window).",
)
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
    """Update (or tombstone) DID: print the signed operation.

    Fields not given are carried over from the operation built on.
    """
    parse_private_key(sign_with)  # fail on a malformed key before any request
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
            allowed = normalize(base.operation).rotation_keys
            signer = parse_signer(sign_with, allowed, "the rotation keys of the operation")
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

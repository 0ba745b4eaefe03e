"""``lexforge key``: generate and inspect atproto signing keys.

Output is stable so scripts can rely on it. Text mode prints one ``name: value`` line per
field, in the order shown in each command's help; ``--json`` prints one JSON object with
sorted keys on one line. Field names are the same in both modes:

- ``curve``: ``k256`` or ``p256``
- ``jwt_alg``: ``ES256K`` or ``ES256``
- ``did_key``: the public key as a did:key
- ``multikey``: the public key as a Multikey (DID-document ``publicKeyMultibase``)
- ``private_key_hex``: the raw 32-byte private key as 64 lowercase hex digits
  (``generate`` only; the form the reference imports)

Private keys are read from standard input rather than arguments, so they do not end up in
shell history or process listings.
"""

from __future__ import annotations

import json
import sys

import click

from lexforge.runtime.crypto.curves import Curve
from lexforge.runtime.crypto.did_key import parse_did_key, parse_multikey
from lexforge.runtime.crypto.errors import CryptoError
from lexforge.runtime.crypto.keys import (
    DID_KEY_PREFIX,
    K256Keypair,
    Keypair,
    P256Keypair,
    PublicKey,
    generate_keypair,
)

__all__ = ["key"]

_CURVE_OPTION = click.option(
    "--curve",
    type=click.Choice([curve.value for curve in Curve]),
    default=Curve.K256.value,
    show_default=True,
    help="k256 (secp256k1, the reference default) or p256 (NIST P-256).",
)
_JSON_OPTION = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object instead of text lines."
)


def _public_fields(public_key: PublicKey) -> dict[str, str]:
    return {
        "curve": public_key.curve.value,
        "jwt_alg": public_key.jwt_alg,
        "did_key": public_key.did_key(),
        "multikey": public_key.multikey(),
    }


def _emit(fields: dict[str, str], *, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(fields, sort_keys=True))
    else:
        for name, value in fields.items():
            click.echo(f"{name}: {value}")


@click.group()
def key() -> None:
    """Generate and inspect P-256 / K-256 signing keys (did:key, multikey)."""


@key.command()
@_CURVE_OPTION
@_JSON_OPTION
def generate(curve: str, as_json: bool) -> None:
    """Generate a new key pair.

    Prints curve, jwt_alg, did_key, multikey and private_key_hex. The private key is a
    secret: store it, do not share it.
    """
    keypair = generate_keypair(Curve(curve))
    fields = _public_fields(keypair.public_key)
    fields["private_key_hex"] = keypair.private_hex()
    _emit(fields, as_json=as_json)


@key.command()
@_CURVE_OPTION
@_JSON_OPTION
def public(curve: str, as_json: bool) -> None:
    """Derive the public key of a private key read from standard input (64 hex digits).

    Prints curve, jwt_alg, did_key and multikey.
    """
    # Read a bounded amount: a key is 64 characters, stdin could be anything.
    text = sys.stdin.read(1024).strip()
    keypair_class: type[Keypair] = K256Keypair if Curve(curve) is Curve.K256 else P256Keypair
    try:
        keypair = keypair_class.from_private_hex(text)
    except CryptoError as exc:
        raise click.ClickException(f"private key on stdin: {exc}") from None
    _emit(_public_fields(keypair.public_key), as_json=as_json)


@key.command()
@click.argument("public_key")
@_JSON_OPTION
def inspect(public_key: str, as_json: bool) -> None:
    """Parse a did:key or multikey PUBLIC_KEY and print its forms.

    Prints curve, jwt_alg, did_key and multikey (normalised: the same key always prints
    the same way).
    """
    try:
        parsed = (
            parse_did_key(public_key)
            if public_key.startswith(DID_KEY_PREFIX)
            else parse_multikey(public_key)
        )
    except CryptoError as exc:
        raise click.BadParameter(str(exc), param_hint="PUBLIC_KEY") from None
    _emit(_public_fields(parsed), as_json=as_json)

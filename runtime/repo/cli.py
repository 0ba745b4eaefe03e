"""``lexforge repo``: inspect and verify repository CAR files.

``inspect`` prints the root, DID, rev and record counts per collection (structure
checked, signature not); ``verify`` checks everything including the signature, against
``--key`` (a did:key) or the current ``#atproto`` key of ``--did``, resolved over the
network from its DID document (did:plc through ``--plc-url``, default plc.directory or
the ``LEXFORGE_PLC_URL`` environment variable; a directory on localhost, such as
``lexforge plc serve``, is allowed). Exit status 1 on a verification or resolution
failure, with the reason on stderr.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from lexforge.runtime.crypto import PublicKey, parse_did_key
from lexforge.runtime.crypto.errors import CryptoError
from lexforge.runtime.repo.errors import RepoError
from lexforge.runtime.repo.verify import VerifiedRepo, verify_repo_car

__all__ = ["repo"]


@click.group()
def repo() -> None:
    """Inspect and verify repository CAR files."""


def _print(verified: VerifiedRepo) -> None:
    click.echo(f"root: {verified.cid}")
    click.echo(f"did: {verified.did}")
    click.echo(f"rev: {verified.rev}")
    click.echo(f"data: {verified.commit.data}")
    click.echo(f"records: {len(verified.records)}")
    for collection, count in sorted(verified.collections.items()):
        click.echo(f"  {collection}: {count}")


@repo.command()
@click.argument("car", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def inspect(car: Path) -> None:
    """Show a repo CAR's commit and record counts (no signature check)."""
    try:
        verified = verify_repo_car(car.read_bytes(), require_records=False)
    except RepoError as exc:
        raise click.ClickException(f"invalid repo: {exc}") from None
    _print(verified)


async def _resolve_key(did: str, plc_url: str) -> PublicKey:
    """The ``#atproto`` key of ``did``'s current DID document (no handle check needed)."""
    # the network stack loads on demand: inspect and --key never need it
    from lexforge.runtime.identity import BaseDirectory, IdentityError  # noqa: PLC0415

    try:
        async with BaseDirectory.create(plc_url=plc_url) as directory:
            document = await directory.did_resolver.resolve(did)
            return document.signing_key()
    except IdentityError as exc:
        raise click.ClickException(f"cannot resolve the signing key of {did}: {exc}") from None


@repo.command()
@click.argument("car", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--did", help="expected repo DID; its current signing key is resolved")
@click.option("--key", "did_key", help="signing key as did:key (no resolution)")
@click.option(
    "--plc-url",
    default="https://plc.directory",
    show_default=True,
    envvar="LEXFORGE_PLC_URL",
    help="PLC directory resolving a did:plc --did (env LEXFORGE_PLC_URL).",
)
def verify(car: Path, did: str | None, did_key: str | None, plc_url: str) -> None:
    """Fully verify a repo CAR: hashes, MST structure, records, and the signature."""
    if did is None and did_key is None:
        raise click.UsageError("give --did or --key")
    try:
        key = parse_did_key(did_key) if did_key else asyncio.run(_resolve_key(str(did), plc_url))
    except CryptoError as exc:
        raise click.UsageError(f"bad --key: {exc}") from None
    try:
        verified = verify_repo_car(car.read_bytes(), did=did, key=key)
    except RepoError as exc:
        raise click.ClickException(f"verification failed: {exc}") from None
    _print(verified)
    click.echo("ok: signature, structure and every block verified")

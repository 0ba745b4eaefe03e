"""``lexforge repo``: inspect and verify repository CAR files.

``inspect`` prints the root, DID, rev and record counts per collection (structure
checked, signature not); ``verify`` checks everything including the signature, against
``--key`` (a did:key) or the current ``#atproto`` key of ``--did`` (resolved over the
network). Exit status 1 on a verification failure, with the reason on stderr.
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


async def _resolve_key(did: str) -> PublicKey:
    from lexforge.runtime.identity import BaseDirectory  # noqa: PLC0415 - network stack on demand

    async with BaseDirectory.create() as directory:
        ident = await directory.lookup_did(did)
    if ident.signing_key is None:
        raise click.ClickException(f"{did} has no #atproto signing key")
    return ident.signing_key


@repo.command()
@click.argument("car", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--did", help="expected repo DID; its current signing key is resolved")
@click.option("--key", "did_key", help="signing key as did:key (no resolution)")
def verify(car: Path, did: str | None, did_key: str | None) -> None:
    """Fully verify a repo CAR: hashes, MST structure, records, and the signature."""
    if did is None and did_key is None:
        raise click.UsageError("give --did or --key")
    try:
        key = parse_did_key(did_key) if did_key else asyncio.run(_resolve_key(str(did)))
    except CryptoError as exc:
        raise click.UsageError(f"bad --key: {exc}") from None
    try:
        verified = verify_repo_car(car.read_bytes(), did=did, key=key)
    except RepoError as exc:
        raise click.ClickException(f"verification failed: {exc}") from None
    _print(verified)
    click.echo("ok: signature, structure and every block verified")

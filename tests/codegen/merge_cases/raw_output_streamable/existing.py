# Scaffolded by lexforge. `lexforge gen --handlers <this folder>` keeps the signature and
# docstrings of `handle` in step with the lexicon; the body and everything else are yours.
"""Handler for the XRPC query ``com.atproto.sync.getRepo``."""

from lexforge.generated.models.com.atproto.sync import get_repo
from lexforge.runtime.xrpc import XrpcContext

__all__ = ["NSID", "handle"]

NSID = "com.atproto.sync.getRepo"


async def handle(ctx: XrpcContext, params: get_repo.Params) -> bytes:
    """Download a repository export as CAR file. Optionally only a 'diff' since a previous revision.
    Does not require auth; implemented by PDS.

    Declared errors: ``get_repo.RepoNotFoundError``, ``get_repo.RepoTakendownError``,
    ``get_repo.RepoSuspendedError``, ``get_repo.RepoDeactivatedError``.
    """
    # Written when raw outputs had to be bytes; the merge widens the annotation.
    return await ctx.state.repos.export(params.did, since=params.since)

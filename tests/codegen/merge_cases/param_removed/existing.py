# Scaffolded by lexforge. `lexforge gen --handlers <this folder>` keeps the signature and
# docstrings of `handle` in step with the lexicon; the body and everything else are yours.
# ruff: noqa: F821, RUF100
"""Handler for the XRPC procedure ``com.atproto.repo.importRepo``."""

from lexforge.generated.models.com.atproto.repo import import_repo
from lexforge.runtime.xrpc import XrpcContext

__all__ = ["NSID", "handle"]

NSID = "com.atproto.repo.importRepo"


async def handle(ctx: XrpcContext, params: import_repo.Params, input: bytes) -> None:
    """Import a repo in the form of a CAR file. Requires Content-Length HTTP header to be set."""
    store = ctx.state.repos
    if params.dry_run:
        await store.validate_car(input)
        return
    await store.import_car(ctx.auth, input)

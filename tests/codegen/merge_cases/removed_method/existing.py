# Scaffolded by lexforge. `lexforge gen --handlers <this folder>` keeps the signature and
# docstrings of `handle` in step with the lexicon; the body and everything else are yours.
"""Handler for the XRPC procedure ``com.atproto.repo.rebaseRepo``."""

from lexforge.generated.models.com.atproto.repo import rebase_repo
from lexforge.runtime.xrpc import XrpcContext

__all__ = ["NSID", "handle"]

NSID = "com.atproto.repo.rebaseRepo"


async def handle(ctx: XrpcContext, input: rebase_repo.Input) -> None:
    """Simple rebase of repo that deletes history. (The lexicon was removed upstream.)"""
    await ctx.state.repo.rebase(input.repo, swap_commit=input.swap_commit)

# Scaffolded by lexforge. `lexforge gen --handlers <this folder>` keeps the signature and
# docstrings of `handle` in step with the lexicon; the body and everything else are yours.
"""Handler for the XRPC procedure ``com.atproto.repo.uploadBlob``."""

from lexforge.runtime.xrpc import XrpcContext

__all__ = ["NSID", "handle"]

NSID = "com.atproto.repo.uploadBlob"


async def handle(ctx: XrpcContext, input: bytes) -> None:
    """Upload a new blob, to be referenced from a repository record."""
    await ctx.state.blobs.put(input)

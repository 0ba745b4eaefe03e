"""Handler for the XRPC procedure ``com.atproto.repo.applyWrites``."""

from lexforge.generated.models.com.atproto.repo import apply_writes
from lexforge.runtime.xrpc import XrpcContext

NSID = "com.atproto.repo.applyWrites"


async def handle(ctx: XrpcContext, input: apply_writes.Input) -> apply_writes.Output:
    """Apply a batch transaction of repository creates, updates, and deletes. Requires auth,
    implemented by PDS.
    """
    results = [await ctx.state.repo.apply(write) for write in input.writes]
    return apply_writes.Output(results=results)

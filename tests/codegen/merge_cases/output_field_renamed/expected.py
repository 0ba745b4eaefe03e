# Scaffolded by lexforge. `lexforge gen --handlers <this folder>` keeps the signature and
# docstrings of `handle` in step with the lexicon; the body and everything else are yours.
"""Handler for the XRPC query ``com.atproto.repo.getRecord``."""

from lexforge.generated.models.com.atproto.repo import get_record
from lexforge.runtime.xrpc import XrpcContext

__all__ = ["NSID", "handle"]

NSID = "com.atproto.repo.getRecord"


async def handle(ctx: XrpcContext, params: get_record.Params) -> get_record.Output:
    """Get a single record from a repository. Does not require auth.

    Declared errors: ``get_record.RecordNotFoundError``.
    """
    # The lexicon renamed an output field: the signature is unchanged, so the merge leaves
    # this body (which still sets the old name) alone; the type checker points at it.
    found = await ctx.state.repo.get(params.repo, params.collection, params.rkey)
    if found is None:
        raise get_record.RecordNotFoundError()
    return get_record.Output(uri=found.uri, cid=found.cid, value=found.value)

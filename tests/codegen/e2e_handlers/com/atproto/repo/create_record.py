# Scaffolded by lexforge. `lexforge gen --handlers <this folder>` keeps the signature and
# docstrings of `handle` in step with the lexicon; the body and everything else are yours.
"""Handler for the XRPC procedure ``com.atproto.repo.createRecord``."""

from lexforge.generated.models.com.atproto.repo import create_record
from lexforge.runtime.syntax import AtUri, CidString
from lexforge.runtime.xrpc import XrpcContext, XrpcForbidden
from tests.codegen.e2e_handlers.store import MemoryStore

__all__ = ["NSID", "handle"]

NSID = "com.atproto.repo.createRecord"


async def handle(ctx: XrpcContext, input: create_record.Input) -> create_record.Output:
    """Create a single new repository record. Requires auth, implemented by PDS.

    Declared errors: ``create_record.InvalidSwapError``.
    """
    if ctx.auth != input.repo:
        raise XrpcForbidden("Can only write to your own repo")
    if input.swap_commit is not None:
        raise create_record.InvalidSwapError("Commit was at a different CID")
    store: MemoryStore = ctx.state.store
    record = store.put(input.repo, input.collection, input.rkey, dict(input.record))
    return create_record.Output(uri=AtUri(record.uri), cid=CidString(record.cid))

# Scaffolded by lexforge. `lexforge gen --handlers <this folder>` keeps the signature and
# docstrings of `handle` in step with the lexicon; the body and everything else are yours.
"""Handler for the XRPC query ``com.atproto.repo.getRecord``."""

from lexforge.generated.models.com.atproto.repo import get_record
from lexforge.runtime.lex import UnknownObject
from lexforge.runtime.syntax import AtUri, CidString
from lexforge.runtime.xrpc import XrpcContext
from tests.codegen.e2e_handlers.store import MemoryStore

__all__ = ["NSID", "handle"]

NSID = "com.atproto.repo.getRecord"


async def handle(ctx: XrpcContext, params: get_record.Params) -> get_record.Output:
    """Get a single record from a repository. Does not require auth.

    Declared errors: ``get_record.RecordNotFoundError``.
    """
    store: MemoryStore = ctx.state.store
    record = store.get(params.repo, params.collection, params.rkey)
    if record is None or (params.cid is not None and params.cid != record.cid):
        raise get_record.RecordNotFoundError(f"Could not locate record: {params.repo}")
    return get_record.Output(
        uri=AtUri(record.uri), cid=CidString(record.cid), value=UnknownObject(record.value)
    )

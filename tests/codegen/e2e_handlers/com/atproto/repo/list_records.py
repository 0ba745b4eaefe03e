# Scaffolded by lexforge. `lexforge gen --handlers <this folder>` keeps the signature and
# docstrings of `handle` in step with the lexicon; the body and everything else are yours.
"""Handler for the XRPC query ``com.atproto.repo.listRecords``."""

from lexforge.generated.models.com.atproto.repo import list_records
from lexforge.runtime.lex import UnknownObject
from lexforge.runtime.syntax import AtUri, CidString
from lexforge.runtime.xrpc import XrpcContext
from tests.codegen.e2e_handlers.store import MemoryStore

__all__ = ["NSID", "handle"]

NSID = "com.atproto.repo.listRecords"


async def handle(ctx: XrpcContext, params: list_records.Params) -> list_records.Output:
    """List a range of records in a repository, matching a specific collection. Does not require
    auth.
    """
    store: MemoryStore = ctx.state.store
    records = store.list(params.repo, params.collection)
    if params.reverse:
        records.reverse()
    if params.cursor is not None:
        after = params.cursor
        records = [r for r in records if (r.rkey < after if params.reverse else r.rkey > after)]
    page = records[: params.limit]
    items = [
        list_records.Record(uri=AtUri(r.uri), cid=CidString(r.cid), value=UnknownObject(r.value))
        for r in page
    ]
    if len(records) > params.limit:
        return list_records.Output(records=items, cursor=page[-1].rkey)
    return list_records.Output(records=items)

# Scaffolded by lexforge. `lexforge gen --handlers <this folder>` keeps the signature and
# docstrings of `handle` in step with the lexicon; the body and everything else are yours.
"""Handler for the XRPC query ``com.atproto.repo.listRecords``."""

from lexforge.generated.models.com.atproto.repo import list_records
from lexforge.runtime.xrpc import MethodNotImplemented, XrpcContext

__all__ = ["NSID", "handle"]

NSID = "com.atproto.repo.listRecords"


async def handle(ctx: XrpcContext, params: list_records.Params) -> list_records.Output:
    """List a range of records in a repository, matching a specific collection. Does not require
    auth.
    """
    raise MethodNotImplemented()

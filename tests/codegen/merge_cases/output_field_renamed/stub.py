# Scaffolded by lexforge. `lexforge gen --handlers <this folder>` keeps the signature and
# docstrings of `handle` in step with the lexicon; the body and everything else are yours.
"""Handler for the XRPC query ``com.atproto.repo.getRecord``."""

from lexforge.generated.models.com.atproto.repo import get_record
from lexforge.runtime.xrpc import MethodNotImplemented, XrpcContext

__all__ = ["NSID", "handle"]

NSID = "com.atproto.repo.getRecord"


async def handle(ctx: XrpcContext, params: get_record.Params) -> get_record.Output:
    """Get a single record from a repository. Does not require auth.

    Declared errors: ``get_record.RecordNotFoundError``.
    """
    raise MethodNotImplemented()

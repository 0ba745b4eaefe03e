# Scaffolded by lexforge. `lexforge gen --handlers <this folder>` keeps the signature and
# docstrings of `handle` in step with the lexicon; the body and everything else are yours.
"""Handler for the XRPC procedure ``com.atproto.repo.deleteRecord``."""

from lexforge.generated.models.com.atproto.repo import delete_record
from lexforge.runtime.xrpc import MethodNotImplemented, XrpcContext

__all__ = ["NSID", "handle"]

NSID = "com.atproto.repo.deleteRecord"


async def handle(ctx: XrpcContext, input: delete_record.Input) -> delete_record.Output:
    """Delete a repository record, or ensure it doesn't exist. Requires auth, implemented by PDS.
    The output now carries the commit metadata (`commit`).

    Declared errors: ``delete_record.InvalidSwapError``.
    """
    raise MethodNotImplemented()

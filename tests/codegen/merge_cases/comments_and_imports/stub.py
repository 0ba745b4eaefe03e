# Scaffolded by lexforge. `lexforge gen --handlers <this folder>` keeps the signature and
# docstrings of `handle` in step with the lexicon; the body and everything else are yours.
"""Handler for the XRPC procedure ``com.atproto.repo.putRecord``."""

from lexforge.generated.models.com.atproto.repo import put_record
from lexforge.runtime.xrpc import MethodNotImplemented, XrpcContext

__all__ = ["NSID", "handle"]

NSID = "com.atproto.repo.putRecord"


async def handle(ctx: XrpcContext, input: put_record.Input) -> put_record.Output:
    """Write a repository record, creating or updating it as needed. Requires auth, implemented by
    PDS.

    Declared errors: ``put_record.InvalidSwapError``.
    """
    raise MethodNotImplemented()

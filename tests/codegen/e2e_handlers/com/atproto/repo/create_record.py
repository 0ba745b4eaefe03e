# Scaffolded by lexforge. `lexforge gen --handlers <this folder>` keeps the signature and
# docstrings of `handle` in step with the lexicon; the body and everything else are yours.
"""Handler for the XRPC procedure ``com.atproto.repo.createRecord``."""

from lexforge.generated.models.com.atproto.repo import create_record
from lexforge.runtime.xrpc import MethodNotImplemented, XrpcContext

__all__ = ["NSID", "handle"]

NSID = "com.atproto.repo.createRecord"


async def handle(ctx: XrpcContext, input: create_record.Input) -> create_record.Output:
    """Create a single new repository record. Requires auth, implemented by PDS.

    Declared errors: ``create_record.InvalidSwapError``.
    """
    raise MethodNotImplemented()

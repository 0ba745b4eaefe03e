# Scaffolded by lexforge. `lexforge gen --handlers <this folder>` keeps the signature and
# docstrings of `handle` in step with the lexicon; the body and everything else are yours.
"""Handler for the XRPC procedure ``com.atproto.repo.applyWrites``."""

from lexforge.generated.models.com.atproto.repo import apply_writes
from lexforge.runtime.xrpc import MethodNotImplemented, XrpcContext

__all__ = ["NSID", "handle"]

NSID = "com.atproto.repo.applyWrites"


async def handle(ctx: XrpcContext, input: apply_writes.Input) -> apply_writes.Output:
    """Apply a batch transaction of repository creates, updates, and deletes. Requires auth,
    implemented by PDS.
    """
    raise MethodNotImplemented()

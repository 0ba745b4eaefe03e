# Scaffolded by lexforge. `lexforge gen --handlers <this folder>` keeps the signature and
# docstrings of `handle` in step with the lexicon; the body and everything else are yours.
"""Handler for the XRPC query ``com.atproto.repo.listMissingBlobs``."""

from lexforge.generated.models.com.atproto.repo import list_missing_blobs
from lexforge.runtime.xrpc import MethodNotImplemented, XrpcContext

__all__ = ["NSID", "handle"]

NSID = "com.atproto.repo.listMissingBlobs"


async def handle(ctx: XrpcContext, params: list_missing_blobs.Params) -> list_missing_blobs.Output:
    """Returns a list of missing blobs for the requesting account."""
    raise MethodNotImplemented()

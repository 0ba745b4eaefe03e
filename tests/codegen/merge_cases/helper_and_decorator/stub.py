# Scaffolded by lexforge. `lexforge gen --handlers <this folder>` keeps the signature and
# docstrings of `handle` in step with the lexicon; the body and everything else are yours.
"""Handler for the XRPC query ``com.atproto.repo.describeRepo``."""

from lexforge.generated.models.com.atproto.repo import describe_repo
from lexforge.runtime.xrpc import MethodNotImplemented, XrpcContext

__all__ = ["NSID", "handle"]

NSID = "com.atproto.repo.describeRepo"


async def handle(ctx: XrpcContext, params: describe_repo.Params) -> describe_repo.Output:
    """Get information about an account and repository, including the list of collections. Does
    not require auth.
    """
    raise MethodNotImplemented()

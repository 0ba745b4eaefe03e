# Scaffolded by lexforge. `lexforge gen --handlers <this folder>` keeps the signature and
# docstrings of `handle` in step with the lexicon; the body and everything else are yours.
"""Handler for the XRPC subscription ``com.atproto.sync.subscribeRepos``."""

from collections.abc import AsyncIterator

from lexforge.generated.models.com.atproto.sync import subscribe_repos
from lexforge.runtime.xrpc import MethodNotImplemented, XrpcContext

__all__ = ["NSID", "handle"]

NSID = "com.atproto.sync.subscribeRepos"


async def handle(
    ctx: XrpcContext,
    params: subscribe_repos.Params,
) -> AsyncIterator[subscribe_repos.Message]:
    """Repository event stream, aka Firehose endpoint. Outputs repo commits with diff data, and
    identity update events, for all repositories on the current server.
    """
    raise MethodNotImplemented()
    # The unreachable yield makes `handle` an async generator, as the router expects
    # (the ignore holds whether or not mypy reports unreachable code).
    yield  # type: ignore[unreachable, unused-ignore]

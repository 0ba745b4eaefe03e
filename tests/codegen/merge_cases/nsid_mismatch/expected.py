"""A module that sits where createRecord's handler would, but serves another method."""

from lexforge.runtime.xrpc import XrpcContext

NSID = "com.example.somethingElse"


async def handle(ctx: XrpcContext) -> None:
    """Not createRecord's handler; the merge must not touch it."""

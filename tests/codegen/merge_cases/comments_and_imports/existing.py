# Copyright the author. This header is the author's own.
# Scaffolded by lexforge; the author rewrote this comment.
"""Handler for the XRPC procedure ``com.atproto.repo.putRecord``."""

# Imports, grouped by hand.
import logging

from lexforge.generated.models.com.atproto.repo import put_record
from lexforge.runtime.syntax import AtUri  # used for the response URI
from lexforge.runtime.xrpc import XrpcBadRequest, XrpcContext

__all__ = ["NSID", "handle"]

log = logging.getLogger(__name__)

NSID = "com.atproto.repo.putRecord"


# The handler. Keep it short.
async def handle(ctx: XrpcContext, input: bytes) -> put_record.Output:
    """Write a repository record."""
    # Step 1: validate.
    if not input:
        raise XrpcBadRequest("empty body")  # no record

    # Step 2: write.
    result = await ctx.state.repo.put(input)
    log.info("wrote %s", result.uri)
    return put_record.Output(uri=AtUri(result.uri), cid=result.cid)  # done


# A trailing comment at the end of the file.

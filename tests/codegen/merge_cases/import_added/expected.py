"""Handler for the XRPC query ``com.atproto.repo.listMissingBlobs``."""

import logging

from lexforge.generated.models.com.atproto.repo import list_missing_blobs
from lexforge.runtime.xrpc import XrpcContext

NSID = "com.atproto.repo.listMissingBlobs"
log = logging.getLogger(__name__)


async def handle(ctx: XrpcContext, params: list_missing_blobs.Params) -> list_missing_blobs.Output:
    """Returns a list of missing blobs for the requesting account."""
    log.info("nothing is missing yet")

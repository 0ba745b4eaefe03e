# Scaffolded by lexforge. `lexforge gen --handlers <this folder>` keeps the signature and
# docstrings of `handle` in step with the lexicon; the body and everything else are yours.
"""Handler for the XRPC subscription ``com.atproto.label.subscribeLabels``."""

from collections.abc import AsyncIterator

from lexforge.generated.models.com.atproto.label import subscribe_labels
from lexforge.runtime.xrpc import MethodNotImplemented, XrpcContext

__all__ = ["NSID", "handle"]

NSID = "com.atproto.label.subscribeLabels"


async def handle(
    ctx: XrpcContext,
    params: subscribe_labels.Params,
) -> AsyncIterator[subscribe_labels.Message]:
    """Subscribe to stream of labels (and negations). Public endpoint implemented by mod services.
    Uses same sequencing scheme as repo event stream.

    Declared errors: ``subscribe_labels.FutureCursorError``.
    """
    raise MethodNotImplemented()
    # The unreachable yield makes `handle` an async generator, as the router expects.
    yield  # type: ignore[unreachable]

# Scaffolded by lexforge. `lexforge gen --handlers <this folder>` keeps the signature and
# docstrings of `handle` in step with the lexicon; the body and everything else are yours.
"""Handler for the XRPC subscription ``com.atproto.label.subscribeLabels``."""

from collections.abc import AsyncIterator

from lexforge.generated.models.com.atproto.label import defs, subscribe_labels
from lexforge.runtime.xrpc import XrpcContext
from tests.codegen.e2e_handlers.store import MemoryStore

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
    store: MemoryStore = ctx.state.store
    cursor = params.cursor
    if cursor is not None and cursor > len(store.labels):
        raise subscribe_labels.FutureCursorError("Cursor in the future.")
    if cursor is None:
        return  # live tail only, and nothing is live in this store
    for seq, label in enumerate(store.labels, start=1):
        if seq > cursor:
            yield subscribe_labels.Labels(seq=seq, labels=[defs.Label.model_validate(label)])

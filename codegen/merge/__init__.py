"""Hand-written XRPC handler modules: scaffold them, and keep them in step with lexicons.

A server author owns one module per XRPC method (``com/atproto/repo/get_record.py``
defining ``NSID`` and ``async def handle(ctx, params, input) -> Output``). This package
renders the stub of such a module from a ``HandlerSpec`` (``render``), merges a freshly
rendered stub into the author's module with libcst (``engine``: signature and
docstrings follow the lexicon, everything else is kept), and applies that to a whole
folder (``update``: new stubs, merges, orphan reports, check mode, atomic writes).

Stages: ``EndpointIR`` -> ``HandlerSpec`` -> stub text -> merge -> write.
"""

from lexforge.codegen.merge.engine import MergeResult, MergeWarning, merge_handler
from lexforge.codegen.merge.errors import HandlerSourceError, MergeError, StubError
from lexforge.codegen.merge.render import render_handler
from lexforge.codegen.merge.spec import (
    HandlerKind,
    HandlerSpec,
    TypeRef,
    handler_spec_from_endpoint,
)
from lexforge.codegen.merge.update import (
    HandlerReport,
    report_lines,
    update_handler_sources,
    update_handlers,
)

__all__ = [
    "HandlerKind",
    "HandlerReport",
    "HandlerSourceError",
    "HandlerSpec",
    "MergeError",
    "MergeResult",
    "MergeWarning",
    "StubError",
    "TypeRef",
    "handler_spec_from_endpoint",
    "merge_handler",
    "render_handler",
    "report_lines",
    "update_handler_sources",
    "update_handlers",
]

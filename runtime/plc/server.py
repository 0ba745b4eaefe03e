"""A local PLC directory: the did:plc directory HTTP API over :class:`PlcStore`.

Endpoints (as clients of plc.directory use them):

- ``POST /<did>``: submit a signed operation (JSON). Validated fully (structure, limits
  as the reference directory applies them, signature, ``prev`` chain, nullification and
  its 72-hour window, rate limits); bad ones get ``400 {"error", "message"}``.
- ``GET /<did>``: the DID document (``application/did+ld+json``); ``GET /<did>/data``:
  the current state. 404 for unknown DIDs, 410 for tombstoned ones.
- ``GET /<did>/log`` (valid chain), ``/<did>/log/audit`` (everything, with ``cid``,
  ``nullified`` and ``createdAt``), ``/<did>/log/last`` (newest valid operation).
- ``GET /export?after=&count=``: JSON lines, at most 1000. An integer ``after`` (use 0
  to start) selects the v0.3.0 form (``type: indexed_op`` with ``seq``; ``after`` is the
  last seq seen); a timestamp or no ``after`` selects the legacy form (``nullified``,
  ordered by ``createdAt``).
- ``GET /_health``.

Build it with :func:`create_app` (tests, other servers) or run ``lexforge plc serve``.
The SQLite work runs in the thread pool so the event loop never blocks on disk.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lexforge.runtime import __version__
from lexforge.runtime.identity.strict_json import StrictJsonError, loads_strict
from lexforge.runtime.plc.document import PlcState
from lexforge.runtime.plc.errors import (
    InvalidAuditLogError,
    InvalidOperationError,
    PlcError,
    RateLimitedError,
)
from lexforge.runtime.plc.log import parse_timestamp, state_after
from lexforge.runtime.plc.operations import (
    Operation,
    Strictness,
    check_operation,
    parse_operation,
)
from lexforge.runtime.plc.store import DEFAULT_RATE_LIMITS, PlcStore, RateLimit

__all__ = ["MAX_BODY_BYTES", "MAX_EXPORT_COUNT", "create_app"]

#: Cap on a submitted operation's JSON body (operations are < 4000 bytes of CBOR).
MAX_BODY_BYTES = 16 * 1024
MAX_EXPORT_COUNT = 1000
_PLC_DID = re.compile(r"did:plc:[a-z2-7]{24}")


def _error(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status)


def _error_name(exc: Exception) -> str:
    return type(exc).__name__.removesuffix("Error") or "InvalidRequest"


def _not_registered(did: str) -> JSONResponse:
    return _error(404, "NotFound", f"DID not registered: {did[:100]}")


def _not_available(did: str) -> JSONResponse:
    return _error(410, "NotAvailable", f"DID not available: {did}")


class _Handlers:
    def __init__(self, store: PlcStore) -> None:
        self.store = store

    async def health(self, request: Request) -> Response:
        return JSONResponse({"version": __version__})

    async def _state(self, request: Request) -> PlcState | JSONResponse:
        """The DID's current state, or the 404 / 410 answer if there is none."""
        did = request.path_params["did"]
        last = await run_in_threadpool(self.store.last_operation, did)
        if last is None:
            return _not_registered(did)
        state = state_after(did, last.operation)
        if state is None:
            return _not_available(did)
        return state

    async def resolve(self, request: Request) -> Response:
        state = await self._state(request)
        if not isinstance(state, PlcState):
            return state
        return Response(json.dumps(state.to_did_document()), media_type="application/did+ld+json")

    async def data(self, request: Request) -> Response:
        state = await self._state(request)
        if not isinstance(state, PlcState):
            return state
        return JSONResponse(state.to_data_json())

    async def log(self, request: Request) -> Response:
        did = request.path_params["did"]
        ops = await run_in_threadpool(self.store.operations, did)
        if not ops:
            return _not_registered(did)
        return JSONResponse([op.operation.to_json() for op in ops])

    async def audit(self, request: Request) -> Response:
        did = request.path_params["did"]
        ops = await run_in_threadpool(self.store.operations, did, include_nullified=True)
        if not ops:
            return _not_registered(did)
        return JSONResponse([op.audit_entry().to_json() for op in ops])

    async def last(self, request: Request) -> Response:
        did = request.path_params["did"]
        last = await run_in_threadpool(self.store.last_operation, did)
        if last is None:
            return _not_registered(did)
        return JSONResponse(last.operation.to_json())

    async def export(self, request: Request) -> Response:
        params = request.query_params
        count_text = params.get("count", str(MAX_EXPORT_COUNT))
        if not count_text.isdigit() or int(count_text) < 1:
            return _error(400, "InvalidRequest", "count must be a positive integer")
        count = min(int(count_text), MAX_EXPORT_COUNT)
        after = params.get("after")
        if after is not None and after.isdigit() and len(after) < 20:
            rows = await run_in_threadpool(self.store.export_after_seq, int(after), count)
            lines = [row.export_json(with_seq=True) for row in rows]
        else:
            moment: datetime | None = None
            if after is not None:
                try:
                    moment = parse_timestamp(after)
                except InvalidAuditLogError:
                    return _error(
                        400, "InvalidRequest", "after must be a sequence number or a timestamp"
                    )
            rows = await run_in_threadpool(self.store.export_after_time, moment, count)
            lines = [row.export_json(with_seq=False) for row in rows]
        body = "\n".join(json.dumps(line, separators=(",", ":")) for line in lines)
        return Response(body, media_type="application/jsonlines")

    async def submit(self, request: Request) -> Response:
        did = request.path_params["did"]
        if _PLC_DID.fullmatch(did) is None:
            return _error(400, "InvalidRequest", f"not a did:plc identifier: {did[:100]!r}")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return _error(413, "PayloadTooLarge", f"body over {MAX_BODY_BYTES} bytes")
        try:
            op = parse_operation(loads_strict(bytes(body)))
            check_operation(op, Strictness.SUBMIT)
        except StrictJsonError as exc:
            return _error(400, "InvalidRequest", f"body is not valid JSON: {exc}")
        except InvalidOperationError as exc:
            return _error(400, _error_name(exc), str(exc))
        try:
            await run_in_threadpool(self._submit, did, op)
        except _UnknownDid:
            return _not_registered(did)
        except RateLimitedError as exc:
            return _error(429, "RateLimited", str(exc))
        except InvalidOperationError as exc:
            if await run_in_threadpool(self.store.is_tombstoned, did):
                return _error(410, "NotAvailable", f"DID not available: {did} ({exc})")
            return _error(400, _error_name(exc), str(exc))
        except PlcError as exc:  # pragma: no cover - every PlcError is handled above
            return _error(400, _error_name(exc), str(exc))
        return JSONResponse({})

    def _submit(self, did: str, op: Operation) -> None:
        if op.prev is not None and self.store.last_operation(did) is None:
            raise _UnknownDid
        self.store.submit(did, op)


class _UnknownDid(Exception):
    pass


def create_app(
    db_path: str | Path,
    *,
    clock: Callable[[], datetime] | None = None,
    rate_limits: tuple[RateLimit, ...] = DEFAULT_RATE_LIMITS,
) -> Starlette:
    """The PLC directory as a Starlette app over a SQLite file at ``db_path``.

    ``clock`` (returning an aware datetime) replaces the wall clock for directory
    timestamps, so tests can move time past the 72-hour recovery window. The store is
    reachable as ``app.state.store`` and is closed on application shutdown.
    """
    store = PlcStore(db_path, clock=clock, rate_limits=rate_limits)
    handlers = _Handlers(store)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            store.close()

    app = Starlette(
        routes=[
            Route("/_health", handlers.health),
            Route("/export", handlers.export),
            Route("/{did}", handlers.resolve, methods=["GET"]),
            Route("/{did}", handlers.submit, methods=["POST"]),
            Route("/{did}/data", handlers.data),
            Route("/{did}/log", handlers.log),
            Route("/{did}/log/audit", handlers.audit),
            Route("/{did}/log/last", handlers.last),
        ],
        lifespan=lifespan,
    )
    app.state.store = store
    return app

"""A client for a PLC directory (plc.directory or ``lexforge plc serve``).

Requests go through the SSRF-safe client of :mod:`lexforge.runtime.identity.safe_http`
with size caps per endpoint; responses are parsed strictly (operations with
:func:`~lexforge.runtime.plc.operations.parse_operation`). Everything raised is a
:class:`~lexforge.runtime.plc.errors.PlcError`:

- :class:`InvalidPlcDidError` for a DID that is not a did:plc (checked before any
  request, so nothing but a DID ever becomes part of the URL path);
- :class:`PlcDirectoryError` for error answers, with the status and the directory's
  message;
- :class:`PlcNetworkError` when the directory cannot be reached or the fetch is refused
  (timeout, connection failure, unsafe address, body over the cap); its ``__cause__``
  is the :class:`~lexforge.runtime.identity.errors.FetchError` saying which;
- :class:`InvalidOperationError` subclasses for operations that do not parse.

A ``base_url`` on localhost / a loopback address (a local ``lexforge plc serve``) is
operator configuration and is allowed without the loopback development switch.
"""

from __future__ import annotations

import json
from dataclasses import replace
from types import TracebackType
from typing import Any

from lexforge.runtime.identity.did_resolver import DEFAULT_PLC_URL, is_valid_plc_did
from lexforge.runtime.identity.errors import FetchError
from lexforge.runtime.identity.safe_http import (
    FetchPolicy,
    FetchResponse,
    SafeHttpClient,
    is_loopback_url,
)
from lexforge.runtime.identity.strict_json import StrictJsonError, loads_strict
from lexforge.runtime.plc.errors import InvalidPlcDidError, PlcDirectoryError, PlcNetworkError
from lexforge.runtime.plc.log import AuditEntry, parse_audit_log
from lexforge.runtime.plc.operations import Operation, parse_operation

__all__ = ["PlcClient"]

_DOC_CAP = 64 * 1024
_LOG_CAP = 4 * 1024 * 1024
_EXPORT_CAP = 16 * 1024 * 1024


def _did_path(did: str, suffix: str = "") -> str:
    if not isinstance(did, str) or not is_valid_plc_did(did):
        shown = did[:100] if isinstance(did, str) else type(did).__name__
        raise InvalidPlcDidError(f"not a did:plc identifier: {shown!r}")
    return f"/{did}{suffix}"


class PlcClient:
    """Read from and submit to a PLC directory at ``base_url``."""

    def __init__(
        self,
        base_url: str = DEFAULT_PLC_URL,
        *,
        http: SafeHttpClient | None = None,
        policy: FetchPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._owned = http is None
        if http is None:
            policy = policy or FetchPolicy(timeout=10.0, deadline=30.0)
            if is_loopback_url(self.base_url):
                policy = replace(policy, allow_loopback=True)
            http = SafeHttpClient(policy)
        self._http = http

    async def __aenter__(self) -> PlcClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this client created it."""
        if self._owned:
            await self._http.aclose()

    async def _request(
        self, method: str, path: str, cap: int, body: bytes | None = None
    ) -> FetchResponse:
        url = f"{self.base_url}{path}"
        try:
            response = await self._http.request(
                method,
                url,
                max_bytes=cap,
                content=body,
                headers={"Content-Type": "application/json"} if body is not None else None,
                allowed_schemes=("https", "http"),
            )
        except FetchError as exc:
            raise PlcNetworkError(f"PLC directory request {method} {url} failed: {exc}") from exc
        if not response.ok:
            message = response.body[:500].decode("utf-8", "replace")
            try:
                decoded = loads_strict(response.body)
                if isinstance(decoded, dict) and isinstance(decoded.get("message"), str):
                    message = decoded["message"]
            except StrictJsonError:
                pass
            raise PlcDirectoryError(response.status, message)
        return response

    async def _json(self, path: str, cap: int) -> Any:
        response = await self._request("GET", path, cap)
        try:
            return loads_strict(response.body)
        except StrictJsonError as exc:
            raise PlcDirectoryError(
                response.status, f"invalid JSON from directory: {exc}"
            ) from None

    async def get_document(self, did: str) -> dict[str, Any]:
        """``GET /<did>``: the DID document (as JSON)."""
        doc = await self._json(_did_path(did), _DOC_CAP)
        if not isinstance(doc, dict):
            raise PlcDirectoryError(200, "DID document is not a JSON object")
        return doc

    async def get_data(self, did: str) -> dict[str, Any]:
        """``GET /<did>/data``: the current PLC state (as JSON)."""
        data = await self._json(_did_path(did, "/data"), _DOC_CAP)
        if not isinstance(data, dict):
            raise PlcDirectoryError(200, "PLC data is not a JSON object")
        return data

    async def get_log(self, did: str) -> list[Operation]:
        """``GET /<did>/log``: the valid operation chain."""
        ops = await self._json(_did_path(did, "/log"), _LOG_CAP)
        if not isinstance(ops, list):
            raise PlcDirectoryError(200, "operation log is not a JSON array")
        return [parse_operation(op) for op in ops]

    async def get_audit_log(self, did: str) -> list[AuditEntry]:
        """``GET /<did>/log/audit``: every operation with its directory metadata."""
        return parse_audit_log(await self._json(_did_path(did, "/log/audit"), _LOG_CAP))

    async def get_last_operation(self, did: str) -> Operation:
        """``GET /<did>/log/last``: the newest valid operation."""
        return parse_operation(await self._json(_did_path(did, "/log/last"), _DOC_CAP))

    async def submit(self, did: str, op: Operation) -> None:
        """``POST /<did>``: submit a signed operation."""
        body = json.dumps(op.to_json()).encode()
        await self._request("POST", _did_path(did), _DOC_CAP, body)

    async def export(self, after: int = 0, count: int = 1000) -> list[dict[str, Any]]:
        """``GET /export?after=<seq>&count=``: one page in the v0.3.0 (seq) format."""
        response = await self._request("GET", f"/export?after={after}&count={count}", _EXPORT_CAP)
        lines = []
        for line in response.body.splitlines():
            if line.strip():
                try:
                    lines.append(loads_strict(line))
                except StrictJsonError as exc:
                    raise PlcDirectoryError(200, f"invalid export line: {exc}") from None
        return lines

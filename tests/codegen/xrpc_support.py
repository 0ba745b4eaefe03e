"""Compile a small lexicon case into a throwaway importable package, for XRPC tests."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import anyio
import httpx
from starlette.types import ASGIApp

from lexforge.codegen.generate import GenConfig, build
from lexforge.codegen.ir import ProgramIR
from lexforge.codegen.pipeline import compile_lexicons

__all__ = ["CASES", "SyncASGITransport", "compile_case", "emitted_package", "write_tree"]

CASES = Path(__file__).resolve().parent / "xrpc_cases"


def compile_case(case: str, package: str) -> ProgramIR:
    result = compile_lexicons([CASES / case / "lexicons"], package=package)
    result.raise_for_errors()
    return result.program


def write_tree(root: Path, files: dict[PurePosixPath, str]) -> None:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


@contextmanager
def emitted_package(case: str, package: str, root: Path) -> Iterator[Path]:
    """Generate ``case`` (models, client, server) as ``package`` under ``root`` and make it
    importable; yields the package directory and unloads it afterwards."""
    files, compiled = build(
        GenConfig(
            lexicon_dirs=(CASES / case / "lexicons",),
            out_dir=root / package,
            package=package,
            format=False,
        )
    )
    compiled.raise_for_errors()
    write_tree(root / package, files)
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    try:
        yield root / package
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]


class SyncASGITransport(httpx.BaseTransport):
    """Serve a blocking httpx client from an ASGI app, one event loop per request
    (httpx only ships an async ASGI transport)."""

    def __init__(self, app: ASGIApp) -> None:
        self._inner = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def run() -> httpx.Response:
            body = request.read()
            forwarded = httpx.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            response = await self._inner.handle_async_request(forwarded)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return anyio.run(run)

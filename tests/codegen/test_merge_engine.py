"""Rules of ``merge_handler`` that the before/after cases do not spell out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lexforge.codegen.merge import (
    HandlerSourceError,
    HandlerSpec,
    StubError,
    TypeRef,
    merge_handler,
    render_handler,
)

M = "lexforge.generated.models.com.example.thing.get_thing"


def _spec(**changes: object) -> HandlerSpec:
    fields: dict[str, object] = {
        "nsid": "com.example.thing.getThing",
        "kind": "query",
        "module_parts": ("com", "example", "thing", "get_thing"),
        "models_module": M,
        "params": TypeRef("Params", M),
        "output": TypeRef("Output", M),
        "description": "Get a thing.",
    }
    fields.update(changes)
    return HandlerSpec(**fields)  # type: ignore[arg-type]


STUB = render_handler(_spec())


def test_invalid_existing_source_is_a_typed_error() -> None:
    with pytest.raises(HandlerSourceError):
        merge_handler("def handle(:\n", STUB)


@pytest.mark.parametrize(
    "stub",
    [
        "def handle(:\n",
        'NSID = "com.example.thing.getThing"\n',
        "async def handle(ctx): ...\n",
        "NSID = 3\nasync def handle(ctx): ...\n",
        'from x import *\nNSID = "a.b.c"\nasync def handle(ctx): ...\n',
    ],
)
def test_a_stub_without_nsid_or_handle_is_a_stub_error(stub: str) -> None:
    with pytest.raises(StubError):
        merge_handler(STUB, stub)


def test_handle_bound_by_assignment_is_left_alone() -> None:
    existing = (
        'NSID = "com.example.thing.getThing"\n\ndef make():\n    return None\n\n\nhandle = make()\n'
    )
    result = merge_handler(existing, STUB)
    assert result.skipped
    assert result.source == existing
    assert [w.code for w in result.warnings] == ["handler-not-function"]


def test_nsid_from_another_method_is_left_alone() -> None:
    existing = STUB.replace('NSID = "com.example.thing.getThing"', 'NSID = "com.example.other"')
    result = merge_handler(existing, STUB)
    assert result.skipped
    assert result.source == existing
    assert result.warnings[0].code == "nsid-mismatch"


def test_annotated_nsid_constant_is_recognised() -> None:
    existing = STUB.replace("NSID = ", "NSID: Final = ")
    assert merge_handler(existing, STUB).source == existing
    mismatch = existing.replace("getThing", "getOther")
    assert merge_handler(mismatch, STUB).skipped


def test_missing_handle_and_nsid_are_added() -> None:
    existing = '"""My module."""\n\nimport os\n\nLIMIT = os.cpu_count()\n'
    result = merge_handler(existing, STUB)
    assert result.warnings == ()
    source = result.source
    assert "LIMIT = os.cpu_count()" in source
    assert 'NSID = "com.example.thing.getThing"' in source
    assert "async def handle(ctx: XrpcContext, params: get_thing.Params)" in source
    assert "from lexforge.runtime.xrpc import MethodNotImplemented, XrpcContext" in source
    assert "from lexforge.generated.models.com.example.thing import get_thing" in source
    assert merge_handler(source, STUB).source == source
    _assert_ruff_clean(source)


@pytest.mark.parametrize(
    "existing",
    [
        "",
        "# just a comment\n",
        '"""Doc only."""\n',
        "from __future__ import annotations\n",
        "import os\n\nx = os.sep\n",
    ],
)
def test_nearly_empty_modules_get_a_complete_handler(existing: str) -> None:
    merged = merge_handler(existing, STUB).source
    assert 'NSID = "com.example.thing.getThing"' in merged
    assert "    raise MethodNotImplemented()\n" in merged
    assert merge_handler(merged, STUB).source == merged
    _assert_ruff_clean(merged)


def test_sync_handler_becomes_async() -> None:
    existing = STUB.replace("async def handle", "def handle")
    assert merge_handler(existing, STUB).source == STUB


def test_one_line_body_gets_a_docstring() -> None:
    existing = STUB.split("async def handle")[0] + (
        "async def handle(ctx: XrpcContext, params: get_thing.Params) -> get_thing.Output: "
        "return ctx.state.thing  # inline\n"
    )
    result = merge_handler(existing, STUB).source
    assert result.endswith('    """Get a thing."""\n    return ctx.state.thing  # inline\n')
    assert merge_handler(result, STUB).source == result


def test_decorators_from_the_stub_keep_the_authors_keyword_arguments() -> None:
    stub = STUB.replace("async def handle", "@route(timeout=5)\nasync def handle")
    existing = STUB.replace(
        "async def handle", "@cached(ttl=3)\n@route(timeout=1, retries=2)\nasync def handle"
    )
    merged = merge_handler(existing, stub).source
    assert "@cached(ttl=3)\n@route(timeout=5, retries=2)\nasync def handle" in merged
    assert merge_handler(merged, stub).source == merged
    without = merge_handler(STUB, stub).source
    assert "@route(timeout=5)\nasync def handle" in without


def test_crlf_files_keep_their_line_endings() -> None:
    old = render_handler(_spec(description="Old text.")).replace("\n", "\r\n")
    merged = merge_handler(old, STUB).source
    assert '"""Get a thing."""' in merged
    assert "\n" not in merged.replace("\r\n", "")


def test_unused_author_imports_are_never_removed() -> None:
    existing = STUB.replace(
        "from lexforge.runtime.xrpc import",
        "from lexforge.runtime.xrpc import XrpcError\nfrom lexforge.runtime.xrpc import",
    )
    new = render_handler(_spec(params=None, output=None))
    merged = merge_handler(existing, new).source
    assert "from lexforge.runtime.xrpc import XrpcError\n" in merged
    # get_thing was used only by the old signature: gone with it.
    assert "import get_thing" not in merged


def test_import_the_new_signature_needs_joins_an_existing_from_import() -> None:
    new = render_handler(_spec(kind="subscription", output=None, message=TypeRef("Message", M)))
    existing = STUB.replace(
        "from lexforge.generated.models",
        "from collections.abc import Sequence\n\nfrom lexforge.generated.models",
    )
    existing = existing.replace('__all__ = ["NSID", "handle"]', "X: Sequence[int] = ()")
    merged = merge_handler(existing, new).source
    assert "from collections.abc import AsyncIterator, Sequence\n" in merged
    _assert_ruff_clean(merged)


@pytest.mark.parametrize(
    "imports",
    [
        "",
        "import os\n",
        "from __future__ import annotations\n",
        "import os\n\nimport httpx\n",
        "import httpx\nfrom lexforge.runtime.syntax import Did\n",
        "from lexforge.runtime.xrpc import XrpcContext as Ctx\n",
        "from . import helpers\n",
        "import lexforge.runtime.xrpc\n",
        "import os\nfrom collections.abc import Callable\n\nimport httpx\nfrom lexforge import x\n",
        "from lexforge.runtime.xrpc import XrpcError, XrpcNotFound, XrpcRateLimited, "
        "XrpcUnauthorized\n",
    ],
)
def test_added_imports_keep_isort_order(imports: str) -> None:
    """Whatever import block the author has, adding the stub's imports stays I001-clean.

    As in a user's project, where ruff sees ``lexforge`` as a third-party package.
    """
    uses = "".join(
        f"_{i} = {name}\n"
        for i, name in enumerate(
            ["os", "httpx", "Did", "Ctx", "helpers", "lexforge", "Callable", "x", "XrpcError"]
        )
        if name in imports
    )
    blocks = [b for b in ('"""Doc."""', imports.strip(), uses.strip()) if b]
    existing = "\n\n".join(blocks) + "\n\n\nasync def other() -> None:\n    pass\n"
    _assert_ruff_clean(existing, user_project=True)
    new = render_handler(_spec(kind="subscription", output=None, message=TypeRef("Message", M)))
    merged = merge_handler(existing, new).source
    assert merge_handler(merged, new).source == merged
    _assert_ruff_clean(merged, user_project=True)


def test_import_with_comments_inside_is_not_rebuilt() -> None:
    """A parenthesized import with comments is never rebuilt (the comments would go);
    the name goes into a statement of its own (ruff --fix would join them)."""
    existing = (
        '"""Doc."""\n\nfrom lexforge.runtime.xrpc import (\n    XrpcContext,  # the context\n)\n'
    )
    merged = merge_handler(existing, STUB).source
    assert "    XrpcContext,  # the context\n" in merged
    assert "from lexforge.runtime.xrpc import MethodNotImplemented\n" in merged
    compile(merged, "<merged>", "exec")
    assert merge_handler(merged, STUB).source == merged


def _assert_ruff_clean(source: str, *, user_project: bool = False) -> None:
    """ruff check (isort, pyflakes, pycodestyle) and ruff format --check with the repo's
    config; ``user_project``: without ``lexforge`` as a first-party package."""
    root = Path(__file__).resolve().parents[2]
    override = ["--config", "lint.isort.known-first-party = []"] if user_project else []
    for args in (["check", "--select", "I,F,E,W", "--ignore", "F401,F821"], ["format", "--diff"]):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "ruff",
                *args,
                "--config",
                str(root / "pyproject.toml"),
                *override,
                "--stdin-filename",
                "handler.py",
                "-",
            ],
            input=source,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr + source

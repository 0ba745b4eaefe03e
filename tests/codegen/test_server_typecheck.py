"""mypy --strict over the end-to-end handler modules and a client user.

Proves the pieces fit statically too: each scaffolded ``handle`` satisfies the generated
``Handler`` protocol of its method, and code using the generated clients type-checks
with the precise output types (not ``Any``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

CHECKS = """
from collections.abc import AsyncIterator

from lexforge.generated.client import AsyncClient, Client
from lexforge.generated.models.com.atproto.label import subscribe_labels
from lexforge.generated.models.com.atproto.repo import get_record, list_records
from lexforge.generated.server.com.atproto.label import subscribe_labels as b_subscribe
from lexforge.generated.server.com.atproto.repo import create_record as b_create
from lexforge.generated.server.com.atproto.repo import get_record as b_get
from lexforge.generated.server.com.atproto.repo import list_records as b_list
from tests.codegen.e2e_handlers.com.atproto.label import subscribe_labels as h_subscribe
from tests.codegen.e2e_handlers.com.atproto.repo import create_record as h_create
from tests.codegen.e2e_handlers.com.atproto.repo import get_record as h_get
from tests.codegen.e2e_handlers.com.atproto.repo import list_records as h_list

get_handler: b_get.Handler = h_get.handle
list_handler: b_list.Handler = h_list.handle
create_handler: b_create.Handler = h_create.handle
subscribe_handler: b_subscribe.Handler = h_subscribe.handle


def use_sync(client: Client) -> tuple[get_record.Output, list_records.Output, bytes]:
    got = client.com.atproto.repo.get_record(repo="a", collection="b", rkey="c")
    listed = client.com.atproto.repo.list_records(repo="a", collection="b", limit=5)
    car = client.com.atproto.sync.get_repo(did="did:plc:x")
    return got, listed, car


async def use_async(client: AsyncClient) -> list[subscribe_labels.Message]:
    stream: AsyncIterator[subscribe_labels.Message] = (
        client.com.atproto.label.subscribe_labels(cursor=1)
    )
    return [m async for m in stream]
"""


def test_handlers_and_client_users_typecheck(tmp_path: Path) -> None:
    tree = tmp_path / "typecheck" / "lexforge"
    tree.mkdir(parents=True)
    for name in ("codegen", "runtime", "generated"):
        (tree / name).symlink_to(ROOT / name)
    (tmp_path / "typecheck" / "xrpc_typecheck_uses.py").write_text(CHECKS, encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            "-m",
            "xrpc_typecheck_uses",
            "-p",
            "tests.codegen.e2e_handlers",
        ],
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": os.pathsep.join([str(tmp_path / "typecheck"), str(ROOT)])},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "in 11 source files" in result.stdout  # the uses module + 10 handler files

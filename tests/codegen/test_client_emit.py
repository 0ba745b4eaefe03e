"""Golden output of the client emitter, its formatting, determinism and name clashes.

Regenerate the goldens with ``LEXFORGE_UPDATE_GOLDENS=1 pytest tests/codegen``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from lexforge.codegen.emit.client import emit_clients
from lexforge.codegen.emit.server import emit_server
from lexforge.codegen.emit.xrpc_common import EmitError
from lexforge.codegen.ir import EndpointIR, ProgramIR
from tests.codegen.xrpc_support import CASES, compile_case, write_tree

PACKAGE = "xrpc_basic_gen"
UPDATE = os.environ.get("LEXFORGE_UPDATE_GOLDENS") == "1"


def check_golden(kind: str, files: dict[PurePosixPath, str]) -> None:
    """Compare with ``expected/<path>.golden`` (not ``.py``: the repository's own lint
    settings must not apply to code generated for another package)."""
    expected_root = CASES / "basic" / "expected"
    if UPDATE:
        shutil.rmtree(expected_root / kind, ignore_errors=True)
        write_tree(expected_root, {p.with_name(p.name + ".golden"): t for p, t in files.items()})
    on_disk = {
        PurePosixPath(p.relative_to(expected_root).as_posix()).with_suffix(""): p.read_text(
            encoding="utf-8"
        )
        for p in sorted((expected_root / kind).rglob("*.golden"))
    }
    assert sorted(on_disk) == sorted(files)
    for path, text in files.items():
        assert text == on_disk[path], f"{path} differs from its golden file"


@pytest.fixture(scope="module")
def program() -> ProgramIR:
    return compile_case("basic", PACKAGE)


def test_client_golden(program: ProgramIR) -> None:
    check_golden("client", emit_clients(program))


def test_server_golden(program: ProgramIR) -> None:
    check_golden("server", emit_server(program))


def test_output_is_ruff_clean_as_emitted(program: ProgramIR, tmp_path: Path) -> None:
    """The format stage should have nothing to do: emitted code is already formatted."""
    write_tree(tmp_path, {**emit_clients(program), **emit_server(program)})
    config = Path(__file__).resolve().parents[2] / "pyproject.toml"
    ruff = [sys.executable, "-m", "ruff"]
    fmt = subprocess.run(
        [*ruff, "format", "--check", "--config", str(config), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    # The repository's lint rules, with the generated package first party (as in the
    # project that would own it) and lexforge third party.
    lint = subprocess.run(
        [
            *ruff,
            "check",
            "--config",
            str(config),
            "--config",
            f"lint.isort.known-first-party=['{PACKAGE}']",
            "--config",
            "lint.isort.known-third-party=['lexforge']",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_deterministic_whatever_the_endpoint_order(program: ProgramIR) -> None:
    shuffled = dataclasses.replace(program, endpoints=tuple(reversed(program.endpoints)))
    assert emit_clients(shuffled) == emit_clients(program)
    assert emit_server(shuffled) == emit_server(program)


def _with_endpoint(program: ProgramIR, endpoint: EndpointIR) -> ProgramIR:
    return dataclasses.replace(program, endpoints=(*program.endpoints, endpoint))


def _renamed(program: ProgramIR, nsid: str, parts: tuple[str, ...]) -> EndpointIR:
    (ping,) = [e for e in program.endpoints if e.nsid == "com.example.ping"]
    return dataclasses.replace(ping, nsid=nsid, module_parts=parts)


@pytest.mark.parametrize(
    ("nsid", "parts"),
    [
        # a method named like a child namespace of the same node
        ("com.example.admin", ("com", "example", "admin")),
        # a method named like a name the namespace module binds itself
        ("com.example.mapping", ("com", "example", "Mapping")),
        # a top-level segment that would shadow a client attribute
        ("query.example.ping", ("query", "example", "ping")),
    ],
)
def test_name_clashes_are_errors(program: ProgramIR, nsid: str, parts: tuple[str, ...]) -> None:
    with pytest.raises(EmitError):
        emit_clients(_with_endpoint(program, _renamed(program, nsid, parts)))


def test_server_module_package_clash(program: ProgramIR) -> None:
    clash = _renamed(program, "com.example.admin", ("com", "example", "admin"))
    with pytest.raises(EmitError):
        emit_server(_with_endpoint(program, clash))

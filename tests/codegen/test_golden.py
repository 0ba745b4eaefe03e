"""Golden output: each ``cases/<case>`` compiles to exactly its committed ``expected/``.

Every case holds one feature (unions, knownValues/tokens, nested objects, names,
cycles, XRPC methods, data types, references to the official set). ``expected/`` is an
importable package (``tests.codegen.cases.<case>.expected``); behaviour tests import it.
Update with ``pytest tests/codegen --update-goldens``.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lexforge.codegen.generate import generate
from tests.codegen.conftest import CASES, ROOT, case_config

CASE_NAMES = sorted(p.name for p in CASES.iterdir() if (p / "lexicons").is_dir())


@pytest.mark.parametrize("case", CASE_NAMES)
def test_case_matches_golden(case: str, update_goldens: bool) -> None:
    config = case_config(case)
    result = generate(config, check=not update_goldens)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert not errors, errors
    if update_goldens:
        return
    diff = result.diff
    if diff.clean:
        return
    report = diff.lines()
    for path, text in {**diff.changed}.items():
        old = (config.out_dir / path).read_text(encoding="utf-8").splitlines(keepends=True)
        report += difflib.unified_diff(old, text.splitlines(keepends=True), str(path), str(path))
    pytest.fail(
        "golden output differs (pytest tests/codegen --update-goldens):\n"
        + "".join(line if line.endswith("\n") else line + "\n" for line in report)
    )


def test_every_case_has_expected_output() -> None:
    for case in CASE_NAMES:
        assert (CASES / case / "expected" / "models" / "_index.py").is_file(), case


def test_goldens_are_clean_under_ruff() -> None:
    dirs = [str(CASES / case / "expected") for case in CASE_NAMES]
    bin_dir = ROOT / ".venv" / "bin"
    ruff = str(bin_dir / "ruff") if (bin_dir / "ruff").exists() else "ruff"
    proc = subprocess.run([ruff, "check", *dirs], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run(
        [ruff, "format", "--check", *dirs], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_goldens_pass_mypy_strict(tmp_path: Path) -> None:
    """mypy --strict (the repository's settings, pydantic plugin) over the golden
    packages; CI checks the official output."""
    tree = tmp_path / "lexforge"
    tree.mkdir()
    for package in ("codegen", "runtime", "generated"):
        (tree / package).symlink_to(ROOT / package)
    env = {**os.environ, "MYPYPATH": str(tmp_path)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--cache-dir",
            str(tmp_path / "cache"),
            "-p",
            "tests.codegen.cases",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr

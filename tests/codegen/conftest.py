"""Fixtures for the compiler tests.

Golden files: ``pytest tests/codegen --update-goldens`` (or ``LEXFORGE_UPDATE_GOLDENS=1``)
rewrites ``cases/<case>/expected/`` from the current compiler instead of comparing.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest

from lexforge.codegen.generate import GenConfig, build
from lexforge.codegen.pipeline import CompileResult

CODEGEN_TESTS = Path(__file__).resolve().parent
ROOT = CODEGEN_TESTS.parent.parent
CASES = CODEGEN_TESTS / "cases"
OFFICIAL = ROOT / "lexicons"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite tests/codegen/cases/*/expected from the current compiler",
    )


@pytest.fixture(scope="session")
def update_goldens(request: pytest.FixtureRequest) -> bool:
    try:
        flag = bool(request.config.getoption("--update-goldens"))
    except ValueError:  # option not registered (conftest not loaded at startup)
        flag = False
    return flag or os.environ.get("LEXFORGE_UPDATE_GOLDENS") == "1"


def case_config(case: str) -> GenConfig:
    """How a golden case is generated: models only, into its importable ``expected``."""
    return GenConfig(
        lexicon_dirs=(CASES / case / "lexicons",),
        out_dir=CASES / case / "expected",
        package=f"tests.codegen.cases.{case}.expected",
        artifacts=("models",),
    )


@pytest.fixture(scope="session")
def official_build() -> tuple[dict[PurePosixPath, str], CompileResult]:
    """The whole official set, built in memory once per session (all artifacts)."""
    return build(GenConfig(lexicon_dirs=(OFFICIAL,), out_dir=ROOT / "generated"))

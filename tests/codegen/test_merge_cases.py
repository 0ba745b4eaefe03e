"""The before/after merge cases in ``merge_cases/`` (see its README)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from lexforge.codegen.merge import MergeWarning, merge_handler, update_handler_sources

CASES = Path(__file__).resolve().parent / "merge_cases"
CASE_NAMES = sorted(p.name for p in CASES.iterdir() if p.is_dir())
MERGE_CASES = [c for c in CASE_NAMES if (CASES / c / "existing.py").exists()]
MERGE_CASES = [c for c in MERGE_CASES if (CASES / c / "stub.py").exists()]


def _read(case: str, name: str) -> str:
    return (CASES / case / name).read_text(encoding="utf-8")


def _expected_warnings(case: str) -> list[tuple[str, str]]:
    path = CASES / case / "warnings.txt"
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        code, _, word = line.strip().partition(" ")
        out.append((code, word))
    return out


def _check_warnings(case: str, warnings: tuple[MergeWarning, ...]) -> None:
    expected = _expected_warnings(case)
    assert [w.code for w in warnings] == [code for code, _ in expected]
    for warning, (_, word) in zip(warnings, expected, strict=True):
        assert word in warning.message


def test_every_required_case_exists() -> None:
    required = {
        "param_added",
        "param_removed",
        "output_changed",
        "new_method",
        "removed_method",
        "helper_and_decorator",
        "comments_and_imports",
        "docstring_updated",
    }
    assert required <= set(CASE_NAMES)


@pytest.mark.parametrize("case", MERGE_CASES)
def test_merge_case(case: str) -> None:
    result = merge_handler(_read(case, "existing.py"), _read(case, "stub.py"))
    assert result.source == _read(case, "expected.py")
    _check_warnings(case, result.warnings)
    assert result.skipped == any(w.code == "nsid-mismatch" for w in result.warnings)


@pytest.mark.parametrize("case", MERGE_CASES)
def test_merge_case_is_idempotent(case: str) -> None:
    expected = _read(case, "expected.py")
    again = merge_handler(expected, _read(case, "stub.py"))
    assert again.source == expected


@pytest.mark.parametrize("case", [c for c in CASE_NAMES if (CASES / c / "stub.py").exists()])
def test_stub_merged_into_itself_is_unchanged(case: str) -> None:
    stub = _read(case, "stub.py")
    result = merge_handler(stub, stub)
    assert result.source == stub
    assert result.warnings == ()


@pytest.mark.parametrize("case", CASE_NAMES)
def test_case_through_the_folder_update(case: str, tmp_path: Path) -> None:
    """Every case again through ``update_handler_sources`` on a real folder: new methods
    get the stub, gone methods are kept and reported, merges write ``expected.py``."""
    relative = PurePosixPath("com", "example", f"{case}.py")
    target = tmp_path.joinpath(*relative.parts)
    existing = CASES / case / "existing.py"
    stub = CASES / case / "stub.py"
    if existing.exists():
        target.parent.mkdir(parents=True)
        target.write_bytes(existing.read_bytes())
    stubs = {relative: stub.read_text(encoding="utf-8")} if stub.exists() else {}

    report = update_handler_sources(tmp_path, stubs)

    assert target.read_text(encoding="utf-8") == _read(case, "expected.py")
    _check_warnings(case, report.warnings)
    if not existing.exists():
        assert report.added == (target,)
        assert (tmp_path / "com" / "example" / "__init__.py").exists()
    elif not stub.exists():
        assert report.orphaned == (target,)
    elif report.skipped:
        assert report.skipped == (target,)
    elif _read(case, "existing.py") == _read(case, "expected.py"):
        assert report.unchanged == (target,)
    else:
        assert report.updated == (target,)
    second = update_handler_sources(tmp_path, stubs)
    assert not second.changed
    assert target.read_text(encoding="utf-8") == _read(case, "expected.py")

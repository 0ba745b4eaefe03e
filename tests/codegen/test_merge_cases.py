"""The before/after merge cases in ``merge_cases/`` (see its README)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from lexforge.codegen.merge import (
    HandlerSpec,
    MergeWarning,
    TypeRef,
    merge_handler,
    render_handler,
    update_handler_sources,
)
from lexforge.codegen.merge.spec import RAW_OUTPUT

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
        "output_field_renamed",
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


def test_expected_files_are_ruff_formatted() -> None:
    """ "ruff format after a merge is a no-op": every merge result here is formatted."""
    expected = [str(CASES / c / "expected.py") for c in CASE_NAMES]
    root = CASES.parents[2]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "format",
            "--check",
            "--config",
            str(root / "pyproject.toml"),
            *expected,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _spec(nsid: str, kind: str, **fields: object) -> HandlerSpec:
    authority, _, _ = nsid.rpartition(".")
    name = str(fields.pop("module"))
    models = f"lexforge.generated.models.{authority}.{name}"

    def ref(value: object) -> TypeRef | None:
        if value is None:
            return None
        if value == "raw":
            return RAW_OUTPUT
        return TypeRef("bytes") if value == "bytes" else TypeRef(str(value), models)

    return HandlerSpec(
        nsid=nsid,
        kind=kind,  # type: ignore[arg-type]
        module_parts=(*authority.split("."), name),
        models_module=models,
        params=TypeRef("Params", models) if fields.pop("params", False) else None,
        input=ref(fields.pop("input", None)),
        output=ref(fields.pop("output", None)),
        message=TypeRef("Message", models) if kind == "subscription" else None,
        **fields,  # type: ignore[arg-type]
    )


_GET_RECORD = "Get a single record from a repository. Does not require auth."
#: The lexicon side of each case: ``stub.py`` is exactly what these render to.
STUB_SPECS = {
    "param_added": _spec(
        "com.atproto.repo.getRecord", "query", module="get_record", params=True,
        output="Output", description=_GET_RECORD, errors=("RecordNotFoundError",),
    ),
    "output_field_renamed": _spec(
        "com.atproto.repo.getRecord", "query", module="get_record", params=True,
        output="Output", description=_GET_RECORD, errors=("RecordNotFoundError",),
    ),
    "param_removed": _spec(
        "com.atproto.repo.importRepo", "procedure", module="import_repo", input="bytes",
        description="Import a repo in the form of a CAR file. Requires Content-Length HTTP "
        "header to be set.",
    ),
    "output_changed": _spec(
        "com.atproto.repo.deleteRecord", "procedure", module="delete_record", input="Input",
        output="Output", errors=("InvalidSwapError",),
        description="Delete a repository record, or ensure it doesn't exist. Requires auth, "
        "implemented by PDS. The output now carries the commit metadata (`commit`).",
    ),
    "new_method": _spec(
        "com.atproto.repo.listMissingBlobs", "query", module="list_missing_blobs", params=True,
        output="Output",
        description="Returns a list of missing blobs for the requesting account. Intended to be "
        "used in the account migration flow.",
    ),
    "helper_and_decorator": _spec(
        "com.atproto.repo.describeRepo", "query", module="describe_repo", params=True,
        output="Output",
        description="Get information about an account and repository, including the list of "
        "collections. Does not require auth.",
    ),
    "comments_and_imports": _spec(
        "com.atproto.repo.putRecord", "procedure", module="put_record", input="Input",
        output="Output", errors=("InvalidSwapError",),
        description="Write a repository record, creating or updating it as needed. Requires "
        "auth, implemented by PDS.",
    ),
    "docstring_updated": _spec(
        "com.atproto.repo.listRecords", "query", module="list_records", params=True,
        output="Output", document_description="Listing records of one collection.",
        description="List a range of records in a repository, matching a specific collection. "
        "Does not require auth. Records come newest first unless `reverse` is set.",
    ),
    "subscription_body_kept": _spec(
        "com.atproto.sync.subscribeRepos", "subscription", module="subscribe_repos",
        params=True,
        description="Repository event stream, aka Firehose endpoint. Outputs repo commits with "
        "diff data, and identity update events, for all repositories on the current server.",
    ),
    "nsid_mismatch": _spec(
        "com.atproto.repo.createRecord", "procedure", module="create_record", input="Input",
        output="Output", description="Create a single new repository record.",
    ),
    "docstrings_missing": _spec(
        "com.atproto.repo.applyWrites", "procedure", module="apply_writes", input="Input",
        output="Output",
        description="Apply a batch transaction of repository creates, updates, and deletes. "
        "Requires auth, implemented by PDS.",
    ),
    "import_removed": _spec(
        "com.atproto.repo.uploadBlob", "procedure", module="upload_blob", input="bytes",
        description="Upload a new blob, to be referenced from a repository record.",
    ),
    "import_added": _spec(
        "com.atproto.repo.listMissingBlobs", "query", module="list_missing_blobs", params=True,
        output="Output", description="Returns a list of missing blobs for the requesting account.",
    ),
    "signature_reformatted": _spec(
        "com.atproto.repo.createRecord", "procedure", module="create_record", input="Input",
        output="Output", errors=("InvalidSwapError",),
        description="Create a single new repository record. Requires auth, implemented by PDS.",
    ),
    "raw_output_streamable": _spec(
        "com.atproto.sync.getRepo", "query", module="get_repo", params=True, output="raw",
        errors=(
            "RepoNotFoundError", "RepoTakendownError", "RepoSuspendedError",
            "RepoDeactivatedError",
        ),
        description="Download a repository export as CAR file. Optionally only a 'diff' since "
        "a previous revision. Does not require auth; implemented by PDS.",
    ),
}  # fmt: skip


def test_every_stub_is_renderer_output() -> None:
    with_stub = {c for c in CASE_NAMES if (CASES / c / "stub.py").exists()}
    assert set(STUB_SPECS) == with_stub
    for case, spec in STUB_SPECS.items():
        assert render_handler(spec) == _read(case, "stub.py"), case

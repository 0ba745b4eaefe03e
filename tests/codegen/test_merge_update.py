"""``update_handlers``: a folder of handler modules kept in step with compiled methods."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lexforge.codegen.merge import HandlerSpec, TypeRef, render_handler, update_handlers
from lexforge.codegen.merge.update import find_handler_modules, report_lines, write_atomic
from lexforge.codegen.pipeline import compile_lexicons, official_lexicons_dir

P = "lexforge.generated.models.com.example.thing."


def _spec(name: str, nsid: str, **changes: object) -> HandlerSpec:
    fields: dict[str, object] = {
        "nsid": nsid,
        "kind": "query",
        "module_parts": ("com", "example", "thing", name),
        "models_module": P + name,
        "params": TypeRef("Params", P + name),
        "output": TypeRef("Output", P + name),
        "description": f"The {name} method.",
    }
    fields.update(changes)
    return HandlerSpec(**fields)  # type: ignore[arg-type]


GET = _spec("get_thing", "com.example.thing.getThing")
LIST = _spec("list_things", "com.example.thing.listThings")


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_new_methods_get_stubs_and_packages(tmp_path: Path) -> None:
    root = tmp_path / "handlers"
    report = update_handlers(root, [GET, LIST])
    assert report.added == (
        root / "com/example/thing/get_thing.py",
        root / "com/example/thing/list_things.py",
    )
    assert report.packages == tuple(
        sorted(root / p / "__init__.py" for p in ("", "com", "com/example", "com/example/thing"))
    )
    assert (root / "com/example/thing/get_thing.py").read_text() == render_handler(GET)
    assert all(p.read_text() == "" for p in report.packages)
    again = update_handlers(root, [GET, LIST])
    assert not again.changed
    assert again.unchanged == report.added


def test_check_mode_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "handlers"
    report = update_handlers(root, [GET], check=True)
    assert report.changed
    assert report.added == (root / "com/example/thing/get_thing.py",)
    assert not root.exists()
    update_handlers(root, [GET])
    path = root / "com/example/thing/get_thing.py"
    path.write_text(path.read_text().replace("raise MethodNotImplemented()", "return None"))
    before = _snapshot(root)
    changed = _spec("get_thing", "com.example.thing.getThing", description="New words.")
    report = update_handlers(root, [changed], check=True)
    assert report.updated == (path,)
    assert "would update com/example/thing/get_thing.py" in report_lines(report)
    assert _snapshot(root) == before


def test_update_keeps_the_body_and_reports_orphans(tmp_path: Path) -> None:
    root = tmp_path
    update_handlers(root, [GET, LIST])
    get_path = root / "com/example/thing/get_thing.py"
    list_path = root / "com/example/thing/list_things.py"
    get_path.write_text(
        get_path.read_text().replace(
            "raise MethodNotImplemented()", "return get_thing.Output(value=params.key)"
        )
    )
    helper = root / "com/example/thing/_shared.py"
    helper.write_text("def shared() -> int:\n    return 1\n")
    cache = root / "com/example/thing/__pycache__"
    cache.mkdir()
    (cache / "old.py").write_text('NSID = "com.example.gone"\n')
    list_before = list_path.read_bytes()

    changed = _spec("get_thing", "com.example.thing.getThing", params=None)
    report = update_handlers(root, [changed])

    assert report.updated == (get_path,)
    assert report.orphaned == (list_path,)
    assert list_path.read_bytes() == list_before
    source = get_path.read_text()
    assert "async def handle(ctx: XrpcContext) -> get_thing.Output:" in source
    assert "return get_thing.Output(value=params.key)" in source
    codes = [(w.code, w.nsid, w.path) for w in report.warnings]
    assert codes == [
        ("signature-changed", "com.example.thing.getThing", "com/example/thing/get_thing.py"),
        ("orphan-handler", "com.example.thing.listThings", "com/example/thing/list_things.py"),
    ]
    lines = report_lines(report)
    assert lines[-1] == "handlers: 0 added, 1 updated, 0 unchanged, 1 orphaned, 0 skipped"


def test_broken_modules_are_skipped_with_a_warning(tmp_path: Path) -> None:
    update_handlers(tmp_path, [GET, LIST])
    get_path = tmp_path / "com/example/thing/get_thing.py"
    list_path = tmp_path / "com/example/thing/list_things.py"
    get_path.write_text("def handle(:\n")
    list_path.write_bytes(b"\xff\xfe not utf-8")
    report = update_handlers(tmp_path, [GET, LIST])
    assert report.skipped == (get_path, list_path)
    assert sorted(w.code for w in report.warnings) == ["unparsable-handler", "unreadable-handler"]
    assert get_path.read_text() == "def handle(:\n"
    assert list_path.read_bytes() == b"\xff\xfe not utf-8"


def test_two_methods_on_one_module_path_are_refused(tmp_path: Path) -> None:
    clash = _spec("get_thing", "com.example.thing.get_thing")
    with pytest.raises(ValueError, match="one handler module"):
        update_handlers(tmp_path, [GET, clash])


def test_compiled_methods_are_accepted_directly(tmp_path: Path) -> None:
    result = compile_lexicons([official_lexicons_dir()], include=["com.atproto.repo.getRecord"])
    report = update_handlers(tmp_path, result.program)
    assert report.added == (tmp_path / "com/atproto/repo/get_record.py",)
    again = update_handlers(tmp_path, result.program.endpoints)
    assert again.unchanged == report.added
    source = report.added[0].read_text()
    assert "from lexforge.generated.models.com.atproto.repo import get_record" in source
    assert "params: get_record.Params" in source
    assert "get_record.RecordNotFoundError" in source


def test_find_handler_modules(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.py").write_text('NSID: Final = "com.example.x"\n')
    (tmp_path / "a" / "y.py").write_text("NSID = 3\n")
    (tmp_path / "a" / "z.py").write_text("def f(:\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "h.py").write_text('NSID = "com.example.h"\n')
    assert find_handler_modules(tmp_path) == {tmp_path / "a" / "x.py": "com.example.x"}
    assert find_handler_modules(tmp_path / "missing") == {}


def test_write_atomic_keeps_mode_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "h.py"
    write_atomic(path, "one\n")
    path.chmod(0o640)
    write_atomic(path, "two\r\n")
    assert path.read_bytes() == b"two\r\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["h.py"]

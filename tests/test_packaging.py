"""`pip install .` must give a working lexforge: build a real wheel and install it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _source_files(src: str, names: list[str]) -> set[str]:
    return {
        n for n in names if n in {".git", ".venv", ".typecheck", "build"} or n.endswith(".egg-info")
    }


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("pkg")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=_source_files, symlinks=True)
    wheels = tmp / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(src),
        ],
        check=True,
    )
    (wheel,) = wheels.glob("lexforge-*.whl")
    target = tmp / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    return target


def _run(target: Path, *args: str) -> str:
    # Dependencies come from this environment's site-packages; as a PYTHONPATH entry its
    # .pth files (including the editable install's finder) are not processed, so
    # `lexforge` itself can only come from the wheel.
    deps = sysconfig.get_paths()["purelib"]
    proc = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path[:0] = [{str(target)!r}, {deps!r}]\n" + args[0],
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=target,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_wheel_imports_all_packages(installed: Path) -> None:
    out = _run(
        installed,
        "import lexforge.codegen, lexforge.runtime, lexforge.generated, lexforge.runtime.cli\n"
        "print(lexforge.runtime.__file__)",
    )
    assert out.startswith(str(installed))


def test_wheel_ships_every_module(installed: Path) -> None:
    for folder in ("codegen", "runtime", "generated"):
        expected = {
            p.relative_to(ROOT / folder)
            for p in (ROOT / folder).rglob("*.py")
            if "__pycache__" not in p.parts
        }
        shipped = {
            p.relative_to(installed / "lexforge" / folder)
            for p in (installed / "lexforge" / folder).rglob("*.py")
        }
        assert expected == shipped, folder


def test_wheel_ships_lexicons_and_templates(installed: Path) -> None:
    shipped = list((installed / "lexforge" / "lexicons").rglob("*.json"))
    assert len(shipped) == 402
    out = _run(
        installed,
        "from importlib.resources import files\n"
        "print(files('lexforge.lexicons').joinpath('com/atproto/repo/getRecord.json').is_file())\n"
        "print(files('lexforge.templates').joinpath('README.md').is_file())",
    )
    assert out.split() == ["True", "True"]


def test_wheel_console_entry_point(installed: Path) -> None:
    out = _run(installed, "from lexforge.runtime.cli import main; main(['--version'])")
    assert "lexforge, version" in out

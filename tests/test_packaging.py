"""`pip install .` must give a working lexforge: build a real wheel and install it, once
into a plain folder (every module, data file and the C accelerator shipped) and once
into a fresh virtualenv (the real `lexforge` console script runs)."""

from __future__ import annotations

import importlib.machinery
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

from tests.buildenv import can_build_extensions
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _source_files(src: str, names: list[str]) -> set[str]:
    return {
        n
        for n in names
        if n in {".git", ".typecheck", "build"} or n.startswith(".venv") or n.endswith(".egg-info")
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
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
    (built,) = wheels.glob("lexforge-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
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


def test_wheel_ships_the_c_accelerator(wheel: Path, installed: Path) -> None:
    if not can_build_extensions():
        pytest.skip("no C compiler or Python.h here: the wheel is pure Python by design")
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    names = zipfile.ZipFile(wheel).namelist()
    shipped = [n for n in names if n.startswith("lexforge/runtime/data/_cbor")]
    assert [n for n in shipped if n.endswith(suffixes)], shipped
    out = _run(
        installed,
        "from lexforge.runtime.data import cbor, _cbor, decode, encode\n"
        "assert decode(encode({'a': [1, b'x']})) == {'a': [1, b'x']}\n"
        "print(cbor.BACKEND)\n"
        "print(_cbor.__file__)",
    )
    backend, path = out.split()
    assert backend == "c"
    assert path.startswith(str(installed))


def test_wheel_ships_the_lex_accelerators(wheel: Path, installed: Path) -> None:
    if not can_build_extensions():
        pytest.skip("no C compiler or Python.h here: the wheel is pure Python by design")
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("_models", "_values"):
        shipped = [n for n in names if n.startswith(f"lexforge/runtime/lex/{module}")]
        assert [n for n in shipped if n.endswith(suffixes)], shipped
    out = _run(
        installed,
        "from lexforge.runtime.lex import _models, _values, fast, formats\n"
        "assert fast._ModelBuilder is _models.ModelBuilder\n"
        "assert formats._StrMaker is _values.StrMaker\n"
        "print(_models.__file__, _values.__file__)",
    )
    assert all(path.startswith(str(installed)) for path in out.split())


def test_sdist_ships_every_c_source_and_header(tmp_path: Path) -> None:
    """A C file or header missing from the sdist still builds here, from the checkout,
    but not from the sdist (pip would then quietly install without the accelerator:
    the extensions are optional). Headers ship as an Extension's ``depends``."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=_source_files, symlinks=True)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from setuptools import build_meta; build_meta.build_sdist(sys.argv[1])",
            str(tmp_path / "dist"),
        ],
        check=True,
        capture_output=True,
        cwd=src,
    )
    (sdist,) = (tmp_path / "dist").glob("lexforge-*.tar.gz")
    with tarfile.open(sdist) as tar:
        shipped = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    c_files = {
        p.relative_to(ROOT).as_posix()
        for pattern in ("*.c", "*.h")
        for p in (ROOT / "runtime").rglob(pattern)
    }
    assert "runtime/data/_cbor.h" in c_files
    assert c_files <= shipped, sorted(c_files - shipped)


@pytest.fixture(scope="module")
def fresh_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtualenv with the wheel installed by pip. Dependencies are not downloaded:
    a .pth line makes this environment's site-packages importable (as a plain path, so
    its own .pth files, including the editable install's finder, are not processed)."""
    env = tmp_path_factory.mktemp("venv") / "env"
    venv.create(env, with_pip=False)
    python = env / ("Scripts" if os.name == "nt" else "bin") / "python"
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"),
            *("--no-deps", "--no-index", str(wheel)),
        ],
        check=True,
    )
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "_lexforge_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env


def test_fresh_venv_console_script(fresh_venv: Path, tmp_path: Path) -> None:
    bindir = fresh_venv / ("Scripts" if os.name == "nt" else "bin")
    script = bindir / "lexforge"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}

    def run(*args: str | Path) -> str:
        proc = subprocess.run(
            [str(a) for a in args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    assert "lexforge, version" in run(script, "--version")
    from lexforge.runtime.cli import COMMANDS

    help_text = run(script, "--help")
    for name in COMMANDS:
        assert name in help_text
    out = run(
        bindir / "python",
        "-c",
        "import lexforge.codegen, lexforge.generated, lexforge.runtime\n"
        "from lexforge.runtime.data import cbor\n"
        "print(lexforge.runtime.__file__); print(cbor.BACKEND)",
    )
    location, backend = out.split()
    assert location.startswith(str(fresh_venv))
    assert backend == ("c" if can_build_extensions() else "python")

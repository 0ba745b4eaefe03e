"""Stage 7, format: run ruff over generated files, once, in a scratch directory.

Formatting is the only subprocess in the compiler. All files of a run are written to a
temporary tree and formatted by a single ``ruff format`` call with a fixed
configuration (the repository's: line length 100, Python 3.11, ruff's defaults
otherwise), so the output never depends on a user's ruff settings, and 400 files cost
one process start. ruff is a dependency of lexforge; it is looked up next to the running
interpreter first, then on ``PATH``, then as ``python -m ruff``.

Formatting is deterministic, so results are cached by content hash in the user cache
directory: ``lexforge check`` with nothing changed formats nothing.

If ruff rejects a file (a compiler bug: the generated code does not parse), the
unformatted file is kept at ``invalid-generated-code.py`` in the scratch area's parent
and ``FormatError`` names it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path, PurePosixPath

__all__ = [
    "LONG_LINES_DIRECTIVE",
    "RUFF_SETTINGS",
    "FormatError",
    "allow_long_lines",
    "format_files",
    "ruff_command",
    "ruff_version",
]

#: Settings passed to ruff on the command line (``--isolated`` ignores config files).
RUFF_SETTINGS = ("line-length = 100", 'target-version = "py311"')
LINE_LENGTH = 100
# Bump when post-processing of ruff's output changes (invalidates cached results).
_CACHE_VERSION = 3

#: Added after the header of a formatted file that still has over-long lines (a long
#: lexicon path in the header, a URL in a docstring): the formatter cannot split them.
LONG_LINES_DIRECTIVE = "# ruff: noqa: E501"


def allow_long_lines(text: str) -> str:
    """Add ``LONG_LINES_DIRECTIVE`` after the leading comment block if a line is too long."""
    lines = text.split("\n")
    if all(len(line) <= LINE_LENGTH for line in lines) or LONG_LINES_DIRECTIVE in lines:
        return text
    at = 0
    while at < len(lines) and lines[at].startswith("#"):
        at += 1
    lines.insert(at, LONG_LINES_DIRECTIVE)
    return "\n".join(lines)


class FormatError(RuntimeError):
    """ruff could not format generated code (the generated code is invalid)."""


@cache
def ruff_command() -> tuple[str, ...]:
    """How to run ruff: the binary beside ``sys.executable``, on ``PATH``, or ``-m``."""
    beside = Path(sys.executable).parent / ("ruff.exe" if os.name == "nt" else "ruff")
    if beside.is_file():
        return (str(beside),)
    found = shutil.which("ruff")
    if found:
        return (found,)
    return (sys.executable, "-m", "ruff")


@cache
def ruff_version() -> str:
    """``ruff --version`` of the ruff this module runs (cached per process)."""
    proc = subprocess.run(
        [*ruff_command(), "--version"], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise FormatError(f"cannot run ruff ({' '.join(ruff_command())}): {proc.stderr.strip()}")
    return proc.stdout.strip()


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lexforge" / "format"


def _key(text: str) -> str:
    h = hashlib.sha256()
    h.update(ruff_version().encode())
    h.update(repr((_CACHE_VERSION, RUFF_SETTINGS, LONG_LINES_DIRECTIVE)).encode())
    h.update(text.encode())
    return h.hexdigest()


class _Cache:
    """A content-addressed store of formatted output, one JSON file per run set.

    Entries live in a single file (not one per source) so a check reads it in one go.
    Failures to read or write the cache are ignored: it is only a speed-up.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, str] = {}
        try:
            self.entries = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.entries = {}

    def save(self, used: dict[str, str]) -> None:
        if used == self.entries:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(used, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass


def format_files(
    files: Mapping[PurePosixPath, str], *, cache_name: str | None = "default"
) -> dict[PurePosixPath, str]:
    """Format every ``.py`` file with ruff; other files pass through unchanged.

    ``cache_name`` selects the cache file (one per output package keeps it small);
    ``None`` disables caching.
    """
    cache_file = _cache_dir() / f"{cache_name}.json" if cache_name else None
    store = _Cache(cache_file) if cache_file else None
    out: dict[PurePosixPath, str] = {}
    todo: dict[PurePosixPath, tuple[str, str]] = {}
    used: dict[str, str] = {}
    for path, text in files.items():
        if path.suffix != ".py":
            out[path] = text
            continue
        key = _key(text) if store is not None else ""
        cached = store.entries.get(key) if store is not None else None
        if cached is not None:
            out[path] = cached
            used[key] = cached
        else:
            todo[path] = (key, text)
    if todo:
        formatted = _run_ruff({p: t for p, (_, t) in todo.items()})
        for path, (key, _) in todo.items():
            out[path] = formatted[path]
            used[key] = formatted[path]
    if store is not None:
        store.save(used)
    return out


def _run_ruff(files: Mapping[PurePosixPath, str]) -> dict[PurePosixPath, str]:
    with tempfile.TemporaryDirectory(prefix="lexforge-fmt-") as tmp:
        root = Path(tmp)
        for path, text in files.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="\n")
        cmd = [*ruff_command(), "format", "--isolated", "--quiet", "--no-cache"]
        for setting in RUFF_SETTINGS:
            cmd += ["--config", setting]
        proc = subprocess.run([*cmd, "."], cwd=root, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            bad = _first_bad(proc.stderr, files)
            dump = Path(tempfile.gettempdir()) / "invalid-generated-code.py"
            if bad is not None:
                dump.write_text(files[bad], encoding="utf-8")
            where = f" ({bad}, kept at {dump})" if bad is not None else ""
            raise FormatError(f"ruff could not format generated code{where}: {proc.stderr.strip()}")
        return {path: allow_long_lines((root / path).read_text(encoding="utf-8")) for path in files}


def _first_bad(stderr: str, files: Mapping[PurePosixPath, str]) -> PurePosixPath | None:
    for path in sorted(files):
        if str(path) in stderr:
            return path
    return None

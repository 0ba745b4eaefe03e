"""Stage 7, format: run ruff over generated files, once, in a scratch directory.

Formatting is the only subprocess in the compiler. All files of a run are written to a
temporary tree and formatted by one ``ruff format`` call with a fixed configuration
(the repository's: line length 100, Python 3.11, ruff's defaults otherwise), so the
output never depends on a user's ruff settings, and 400 files cost one process start.
ruff is a dependency of lexforge; it is looked up next to the running interpreter
first, then on ``PATH``, then as ``python -m ruff``.

Import sections depend on the package. The emitters lay imports out as they are in this
repository, where ``lexforge`` is first party (CI's ``ruff check`` of ``generated/``
holds them to it). In a user's package ``lexforge`` is an installed (third-party)
library and the user's own top-level package is first party, so there one
``ruff check --select I --fix`` call re-sorts the imports first, and the package gets a
``ruff.toml`` (``ruff_toml``) stating exactly these settings and the repository's lint
rules: ruff picks the nearest configuration file, so ``ruff check`` and
``ruff format --check`` agree with the generated code whatever the surrounding project
configures.

The emitters write code as ruff formats it (imports sorted for the output package
included) except where a line would be too long: splitting those is left to ruff. So
``lexforge gen`` (``format_files(..., skip_short=True)``) passes a file without an
over-long code line through as it is and runs ruff only over the rest, a fifth of the
official set: writing files to the scratch tree is most of this stage's cost.
``tests/codegen/test_format_skip.py`` holds the emitters to it (the output is the same
with every file run through ruff, for the official set, as a user package, and for
every golden case).

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
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path, PurePosixPath

from lexforge.codegen.emit.text import HEADER_MARK, LINE_LENGTH

__all__ = [
    "LINT_IGNORE",
    "LINT_SELECT",
    "LONG_LINES_DIRECTIVE",
    "RUFF_SETTINGS",
    "FormatError",
    "allow_long_lines",
    "format_files",
    "import_settings",
    "needs_ruff",
    "owns_lexforge",
    "ruff_command",
    "ruff_toml",
    "ruff_version",
]

#: Settings passed to ruff on the command line (``--isolated`` ignores config files).
RUFF_SETTINGS = (f"line-length = {LINE_LENGTH}", 'target-version = "py311"')
#: The repository's lint rules (``[tool.ruff.lint]`` in pyproject.toml; a test keeps
#: them equal), which generated code is held to and a user package's ``ruff.toml`` names.
LINT_SELECT = ("E", "F", "W", "I", "UP", "B", "SIM", "RUF", "PL", "C4", "PIE", "RET", "PT")
LINT_IGNORE = (
    "PLR0911",
    "PLR0912",
    "PLR0913",
    "PLR0915",
    "PLR2004",
    "PLW2901",
    "RUF001",
    "RUF002",
    "RUF003",
    "RET505",
    "SIM108",
)
# Bump when post-processing of ruff's output changes (invalidates cached results).
_CACHE_VERSION = 5

#: Added after the header of a formatted file that still has over-long lines (a long
#: lexicon path in the header, a URL in a docstring): the formatter cannot split them.
LONG_LINES_DIRECTIVE = "# ruff: noqa: E501"


def _too_long(line: str) -> bool:
    """Whether ruff's E501 reports ``line``: longer than the limit, unless it is a single
    word (a long string literal alone) or ends with a URL that starts within the limit.
    (Adding the directive where ruff reports nothing would be an unused ``noqa``.)"""
    if len(line) <= LINE_LENGTH:
        return False
    chunks = line.split()
    if len(chunks) < 2:
        return False
    last = chunks[-1]
    return not ("://" in last and len(line) - len(last) <= LINE_LENGTH)


def allow_long_lines(text: str) -> str:
    """Add ``LONG_LINES_DIRECTIVE`` after the leading comment block if a line is too long."""
    lines = text.split("\n")
    if max(map(len, lines)) <= LINE_LENGTH:  # most files: decided without a Python loop
        return text
    if not any(_too_long(line) for line in lines) or LONG_LINES_DIRECTIVE in lines:
        return text
    at = 0
    while at < len(lines) and lines[at].startswith("#"):
        at += 1
    lines.insert(at, LONG_LINES_DIRECTIVE)
    return "\n".join(lines)


def owns_lexforge(package: str) -> bool:
    """Whether ``package`` lives inside ``lexforge`` (this repository's own output)."""
    return package.partition(".")[0] == "lexforge"


def import_settings(package: str | None) -> tuple[str, ...]:
    """ruff ``--config`` settings for the import sections of ``package``'s output.

    ``None`` (no package known) keeps ruff's own guess.
    """
    if package is None:
        return ()
    top = package.partition(".")[0]
    if owns_lexforge(package):
        return ('lint.isort.known-first-party = ["lexforge"]',)
    return (
        f'lint.isort.known-first-party = ["{top}"]',
        'lint.isort.known-third-party = ["lexforge"]',
    )


def _toml_list(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def ruff_toml(package: str) -> str:
    """The ``ruff.toml`` of a user's generated package: the settings it was formatted
    and sorted with, and the lint rules it is held to."""
    lines = [
        f"{HEADER_MARK}. DO NOT EDIT.",
        "# @generated",
        "# The ruff settings this package was generated with. ruff uses the nearest",
        "# configuration file, so `ruff check` and `ruff format --check` agree with the",
        "# generated code whatever the enclosing project configures.",
        "",
        *RUFF_SETTINGS,
        "",
        "[lint]",
        f"select = {_toml_list(LINT_SELECT)}",
        f"ignore = {_toml_list(LINT_IGNORE)}",
        "",
        "[lint.isort]",
        *(setting.removeprefix("lint.isort.") for setting in import_settings(package)),
        "",
    ]
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


def _key(text: str, settings: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    h.update(ruff_version().encode())
    h.update(repr((_CACHE_VERSION, settings, LONG_LINES_DIRECTIVE)).encode())
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


def needs_ruff(text: str) -> bool:
    """Whether ``text`` has a code line longer than ``LINE_LENGTH`` (comment lines do
    not count: ruff cannot split them, ``allow_long_lines`` covers them)."""
    lines = text.split("\n")
    if max(map(len, lines)) <= LINE_LENGTH:  # most files: decided without a Python loop
        return False
    return any(len(line) > LINE_LENGTH and not line.lstrip().startswith("#") for line in lines)


def format_files(
    files: Mapping[PurePosixPath, str],
    *,
    cache_name: str | None = "default",
    package: str | None = None,
    skip_short: bool = False,
) -> dict[PurePosixPath, str]:
    """Format every ``.py`` file with ruff (sorting its imports first for a user's
    package); other files pass through unchanged.

    ``package`` is the output package, which decides the import sections
    (``import_settings``). ``cache_name`` selects the cache file (one per output package
    keeps it small); ``None`` disables caching. ``skip_short`` is for the emitters'
    output, which is formatted already except for over-long lines: a file without one
    (``needs_ruff``) is kept as it is.
    """
    sort_imports = package is not None and not owns_lexforge(package)
    settings = (*RUFF_SETTINGS, *import_settings(package))
    cache_file = _cache_dir() / f"{cache_name}.json" if cache_name else None
    store = _Cache(cache_file) if cache_file else None
    out: dict[PurePosixPath, str] = {}
    todo: dict[PurePosixPath, tuple[str, str]] = {}
    used: dict[str, str] = {}
    for path, text in files.items():
        if path.suffix != ".py":
            out[path] = text
            continue
        if skip_short and not needs_ruff(text):
            out[path] = allow_long_lines(text)
            continue
        key = _key(text, settings) if store is not None else ""
        cached = store.entries.get(key) if store is not None else None
        if cached is not None:
            out[path] = cached
            used[key] = cached
        else:
            todo[path] = (key, text)
    if todo:
        formatted = _run_ruff(
            {p: t for p, (_, t) in todo.items()}, settings, sort_imports=sort_imports
        )
        for path, (key, _) in todo.items():
            out[path] = formatted[path]
            used[key] = formatted[path]
    if store is not None:
        store.save(used)
    return out


def _run_ruff(
    files: Mapping[PurePosixPath, str], settings: tuple[str, ...], *, sort_imports: bool
) -> dict[PurePosixPath, str]:
    # A flat scratch folder (file names stand for the paths): formatting does not depend
    # on where a file is, and one folder spares a mkdir per package. No sub-package of
    # the output can then be taken for a first-party module by the import sorter either.
    names = {path: f"f{i}.py" for i, path in enumerate(files)}
    with tempfile.TemporaryDirectory(prefix="lexforge-fmt-") as tmp:
        root = Path(tmp)
        for path, text in files.items():
            (root / names[path]).write_text(text, encoding="utf-8", newline="\n")
        config = [arg for setting in settings for arg in ("--config", setting)]
        if sort_imports:
            isort = [*ruff_command(), "check", "--isolated", "--quiet", "--no-cache", "--fix"]
            isort += ["--select", "I", "--exit-zero", *config, "."]
            subprocess.run(isort, cwd=root, capture_output=True, text=True, check=False)
        # Not --quiet: it would also silence the parse error FormatError reports.
        cmd = [*ruff_command(), "format", "--isolated", "--no-cache", *config]
        proc = subprocess.run([*cmd, "."], cwd=root, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            paths = list(names)
            # ruff's message names the scratch files: name the generated paths instead.
            stderr = re.sub(
                r"\bf(\d+)\.py\b", lambda m: str(paths[int(m.group(1))]), proc.stderr.strip()
            )
            bad = next((p for p in sorted(paths) if str(p) in stderr), None)
            dump = Path(tempfile.gettempdir()) / "invalid-generated-code.py"
            if bad is not None:
                dump.write_text(files[bad], encoding="utf-8")
            where = f" ({bad}, kept at {dump})" if bad is not None else ""
            raise FormatError(f"ruff could not format generated code{where}: {stderr}")
        return {
            path: allow_long_lines((root / name).read_text(encoding="utf-8"))
            for path, name in names.items()
        }

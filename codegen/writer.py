"""Stage 9, write/check: compare the output in memory with the disk, then apply or report.

``diff_tree`` computes what ``gen`` would change under an output directory: files to
add, files whose content differs, and stale files to remove. Only files this compiler
wrote can be stale: a ``.py`` (or ``.toml``) file is removed only if it starts with the
generated header, so a hand-written file that strays into the output directory is reported,
never deleted. ``apply_diff`` writes atomically (temporary file + rename) with ``\\n``
newlines and removes stale files and then-empty directories. ``lexforge check`` is the
same code path with applying switched off.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lexforge.codegen.emit.text import is_generated

__all__ = ["FileDiff", "apply_diff", "diff_tree", "owned_files"]

#: Files the compiler may own without a header (they cannot carry one).
_HEADERLESS = frozenset({"py.typed"})
#: Kinds of file the compiler writes with its header (a user package's ``ruff.toml``).
_WITH_HEADER = frozenset({".py", ".toml"})
_SKIP_DIRS = frozenset({"__pycache__"})


@dataclass(slots=True)
class FileDiff:
    """Relative paths to add, change and remove, plus unmanaged files seen."""

    added: dict[PurePosixPath, str] = field(default_factory=dict)
    changed: dict[PurePosixPath, str] = field(default_factory=dict)
    removed: list[PurePosixPath] = field(default_factory=list)
    unmanaged: list[PurePosixPath] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Whether the disk already matches."""
        return not (self.added or self.changed or self.removed)

    def lines(self) -> list[str]:
        """One ``added/changed/removed <path>`` line per difference, sorted by path."""
        rows = [(p, "added") for p in self.added]
        rows += [(p, "changed") for p in self.changed]
        rows += [(p, "removed") for p in self.removed]
        return [f"{kind:8} {path}" for path, kind in sorted(rows)]


def _owned(path: Path) -> bool:
    if path.name in _HEADERLESS:
        return True
    if path.suffix not in _WITH_HEADER:
        return False
    try:
        with path.open(encoding="utf-8") as fh:
            return is_generated(fh.read(64))
    except (OSError, UnicodeDecodeError):
        return False


def diff_tree(out_dir: Path, files: Mapping[PurePosixPath, str]) -> FileDiff:
    """What must change under ``out_dir`` so it holds exactly ``files`` (managed ones)."""
    diff = FileDiff()
    for path, text in sorted(files.items()):
        target = out_dir / path
        try:
            current = target.read_bytes()
        except FileNotFoundError:
            diff.added[path] = text
            continue
        except OSError:
            diff.changed[path] = text
            continue
        if current != text.encode("utf-8"):
            diff.changed[path] = text
    for rel, owned in _walk(out_dir):
        if rel in files:
            continue
        if owned:
            diff.removed.append(rel)
        elif rel.suffix == ".py":
            diff.unmanaged.append(rel)
    return diff


def _walk(out_dir: Path) -> Iterator[tuple[PurePosixPath, bool]]:
    """Every file below ``out_dir`` (sorted) and whether the compiler owns it."""
    if not out_dir.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(out_dir):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            full = Path(dirpath) / name
            yield PurePosixPath(full.relative_to(out_dir).as_posix()), _owned(full)


def owned_files(out_dir: Path) -> Iterator[PurePosixPath]:
    """Files below ``out_dir`` that this compiler wrote (generated header, ``py.typed``)."""
    return (rel for rel, owned in _walk(out_dir) if owned)


def _write(target: Path, text: str) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    os.replace(tmp, target)


def apply_diff(out_dir: Path, diff: FileDiff) -> None:
    """Write added and changed files, delete removed ones and empty directories."""
    writes = {**diff.added, **diff.changed}
    # Each folder once (a mkdir per file was a tenth of writing a new tree).
    for folder in sorted({path.parent for path in writes}):
        (out_dir / folder).mkdir(parents=True, exist_ok=True)
    for path, text in writes.items():
        _write(out_dir / path, text)
    for path in diff.removed:
        target = out_dir / path
        target.unlink(missing_ok=True)
        for parent in target.parents:
            if parent == out_dir or out_dir not in parent.parents:
                break
            leftovers = [p for p in parent.iterdir() if p.name not in _SKIP_DIRS]
            if leftovers:
                break
            for cache in parent.iterdir():
                for item in cache.iterdir():
                    item.unlink(missing_ok=True)
                cache.rmdir()
            parent.rmdir()

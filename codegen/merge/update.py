"""Keep a folder of hand-written handler modules in step with the compiled methods.

``update_handlers(dir, endpoints)`` is the disk side of the merge: for every method it
writes a new stub or merges the stub into the existing module, reports modules whose
method is gone (never deleting them), and with ``check=True`` writes nothing and only
says what would change (for CI). Files are written atomically (a temporary file in the
same folder, then ``os.replace``), so an interrupted run never leaves half a handler.
"""

from __future__ import annotations

import ast
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from lexforge.codegen.ir import ProgramIR
from lexforge.codegen.merge.engine import MergeWarning, merge_handler
from lexforge.codegen.merge.errors import HandlerSourceError, StubError
from lexforge.codegen.merge.imports import LINE_LENGTH
from lexforge.codegen.merge.render import render_handler
from lexforge.codegen.merge.spec import (
    HandlerSpec,
    handler_spec_from_endpoint,
    handler_specs_from_program,
)

if TYPE_CHECKING:
    from lexforge.codegen.ir import EndpointIR

__all__ = [
    "HandlerReport",
    "find_handler_modules",
    "report_lines",
    "update_handler_sources",
    "update_handlers",
    "write_atomic",
]


@dataclass(frozen=True, slots=True)
class HandlerReport:
    """What ``update_handlers`` did (or, in check mode, would do), paths sorted.

    ``added``: new stub modules; ``packages``: ``__init__.py`` files created for them;
    ``updated``: modules whose signature/docstrings/imports changed; ``unchanged``:
    modules already in step; ``orphaned``: modules whose method is no longer compiled
    (kept untouched); ``skipped``: modules the merge refused (a warning says why).
    """

    handlers_dir: Path
    added: tuple[Path, ...] = ()
    packages: tuple[Path, ...] = ()
    updated: tuple[Path, ...] = ()
    unchanged: tuple[Path, ...] = ()
    orphaned: tuple[Path, ...] = ()
    skipped: tuple[Path, ...] = ()
    warnings: tuple[MergeWarning, ...] = field(default=())
    check: bool = False

    @property
    def changed(self) -> bool:
        """Whether any file was (or in check mode would be) written."""
        return bool(self.added or self.packages or self.updated)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically.

    An existing file keeps its permission bits; a new one gets the umask default.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _module_nsid(source: str) -> str | None:
    """The string value of a top-level ``NSID = "..."`` in a module, if any."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    for node in tree.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if (
            isinstance(target, ast.Name)
            and target.id == "NSID"
            and isinstance(value, ast.Constant)
            and isinstance(value.value, str)
        ):
            return value.value
    return None


def find_handler_modules(handlers_dir: Path) -> dict[Path, str]:
    """Every module below ``handlers_dir`` that declares ``NSID = "..."`` -> that NSID.

    Hidden folders and ``__pycache__`` are not searched; modules without an ``NSID``
    string constant (helpers, ``__init__``) are not handlers.
    """
    found: dict[Path, str] = {}
    if not handlers_dir.is_dir():
        return found
    for path in sorted(handlers_dir.rglob("*.py")):
        rel = path.relative_to(handlers_dir)
        if any(p.startswith(".") or p == "__pycache__" for p in rel.parts[:-1]):
            continue
        if path.name == "__init__.py" or not path.is_file():
            continue
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        nsid = _module_nsid(source)
        if nsid is not None:
            found[path] = nsid
    return found


def _specs(endpoints: ProgramIR | Iterable[HandlerSpec | EndpointIR]) -> list[HandlerSpec]:
    if isinstance(endpoints, ProgramIR):
        specs = handler_specs_from_program(endpoints)
    else:
        specs = [
            e if isinstance(e, HandlerSpec) else handler_spec_from_endpoint(e) for e in endpoints
        ]
    by_path: dict[PurePosixPath, str] = {}
    for spec in specs:
        other = by_path.setdefault(spec.relative_path, spec.nsid)
        if other != spec.nsid:
            raise ValueError(f"{other} and {spec.nsid} map to one handler module")
    return sorted(specs, key=lambda s: s.nsid)


def update_handlers(
    handlers_dir: Path | str,
    endpoints: ProgramIR | Iterable[HandlerSpec | EndpointIR],
    *,
    check: bool = False,
    report_orphans: bool = True,
    line_length: int = LINE_LENGTH,
) -> HandlerReport:
    """Scaffold missing handler modules and merge the stub into existing ones.

    ``endpoints`` is a compiled ``ProgramIR`` (preferred: it also carries each
    document's description, the module docstring) or ``HandlerSpec`` / ``EndpointIR``
    values. With
    ``check=True`` nothing is written. With ``report_orphans=False`` (scaffolding a
    subset of methods) modules of other methods are not reported as orphans.
    """
    stubs = {
        spec.relative_path: render_handler(spec, line_length=line_length)
        for spec in _specs(endpoints)
    }
    return update_handler_sources(handlers_dir, stubs, check=check, report_orphans=report_orphans)


def update_handler_sources(
    handlers_dir: Path | str,
    stubs: Mapping[PurePosixPath, str],
    *,
    check: bool = False,
    report_orphans: bool = True,
) -> HandlerReport:
    """``update_handlers`` for stubs already rendered: relative module path -> stub text.

    Every stub must declare its ``NSID``; that is the NSID warnings name.
    """
    root = Path(handlers_dir)
    added: list[Path] = []
    packages: list[Path] = []
    updated: list[Path] = []
    unchanged: list[Path] = []
    skipped: list[Path] = []
    warnings: list[MergeWarning] = []
    expected: set[Path] = set()

    for relative, stub in sorted(stubs.items()):
        nsid = _module_nsid(stub)
        if nsid is None:
            raise StubError(f"{relative}: the stub declares no NSID")
        path = root.joinpath(*relative.parts)
        expected.add(path)
        rel = relative.as_posix()
        if not path.exists():
            for pkg_dir in (root, *_package_dirs(root, relative)):
                init = pkg_dir / "__init__.py"
                if not init.exists() and init not in packages:
                    packages.append(init)
            added.append(path)
            if not check:
                for init in packages:
                    if not init.exists():
                        init.parent.mkdir(parents=True, exist_ok=True)
                        write_atomic(init, "")
                write_atomic(path, stub)
            continue
        try:
            existing = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            warnings.append(MergeWarning("unreadable-handler", str(exc), nsid, rel))
            skipped.append(path)
            continue
        try:
            result = merge_handler(existing, stub)
        except HandlerSourceError as exc:
            warnings.append(MergeWarning("unparsable-handler", str(exc), nsid, rel))
            skipped.append(path)
            continue
        warnings += [MergeWarning(w.code, w.message, w.nsid or nsid, rel) for w in result.warnings]
        if result.skipped:
            skipped.append(path)
        elif result.source == existing:
            unchanged.append(path)
        else:
            updated.append(path)
            if not check:
                write_atomic(path, result.source)

    orphaned: list[Path] = []
    if report_orphans:
        for path, nsid in find_handler_modules(root).items():
            if path in expected:
                continue
            orphaned.append(path)
            rel = path.relative_to(root).as_posix()
            warnings.append(
                MergeWarning(
                    "orphan-handler",
                    f"no compiled method {nsid!r} is served by this module any more; "
                    "it was kept as it is",
                    nsid,
                    rel,
                )
            )

    return HandlerReport(
        handlers_dir=root,
        added=tuple(sorted(added)),
        packages=tuple(sorted(packages)),
        updated=tuple(sorted(updated)),
        unchanged=tuple(sorted(unchanged)),
        orphaned=tuple(sorted(orphaned)),
        skipped=tuple(sorted(skipped)),
        warnings=tuple(warnings),
        check=check,
    )


def _package_dirs(root: Path, relative: PurePosixPath) -> list[Path]:
    dirs: list[Path] = []
    current = root
    for part in relative.parts[:-1]:
        current = current / part
        dirs.append(current)
    return dirs


def report_lines(report: HandlerReport) -> list[str]:
    """Human-readable lines for a report (paths relative to the handler folder)."""
    root = report.handlers_dir

    def rel(path: Path) -> str:
        return path.relative_to(root).as_posix()

    verb = "would " if report.check else ""
    lines = [f"{verb}add {rel(p)}" for p in report.added]
    lines += [f"{verb}update {rel(p)}" for p in report.updated]
    lines += [f"kept orphan {rel(p)}" for p in report.orphaned]
    lines += [str(w) for w in report.warnings]
    lines.append(
        f"handlers: {len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.orphaned)} orphaned, "
        f"{len(report.skipped)} skipped"
        + (" (check mode: nothing written)" if report.check else "")
    )
    return lines

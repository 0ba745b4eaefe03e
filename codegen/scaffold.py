"""``lexforge scaffold``: write a handler module for each XRPC method matching a pattern.

    lexforge scaffold --nsid 'com.atproto.repo.*' --out handlers/ [--lexicons DIR ...]

Each matching query, procedure or subscription gets ``<out>/<nsid path>.py`` (the same
snake_case path as its generated models module, e.g. ``com/atproto/repo/get_record.py``)
with ``NSID`` and an ``async def handle(...)`` whose body raises
``MethodNotImplemented``; missing packages get an ``__init__.py``. A handler module that
already exists is left alone: ``lexforge gen --handlers <out>`` is what keeps existing
handlers in step with changed lexicons. The compiler front half
(``lexforge.codegen.pipeline``) supplies the methods, so names always match the
generated models. An invalid lexicon drops only itself and the methods that depend on
it: the others are still scaffolded and the errors reported.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from lexforge.codegen.diagnostics import CodegenError, Diagnostic, has_errors
from lexforge.codegen.generate import check_package_name
from lexforge.codegen.lower import OFFICIAL_PACKAGE
from lexforge.codegen.merge.render import render_handler
from lexforge.codegen.merge.spec import HandlerSpec, handler_specs_from_program
from lexforge.codegen.merge.update import HandlerReport, update_handler_sources
from lexforge.codegen.pipeline import compile_lexicons, official_lexicons_dir

__all__ = [
    "ScaffoldError",
    "ScaffoldResult",
    "handler_specs",
    "scaffold",
    "scaffold_command",
    "scaffold_handlers",
]

#: NSID characters plus the glob characters ``*``, ``?`` and ``[...]``.
_PATTERN = re.compile(r"[A-Za-z0-9.\-*?\[\]!]+")


class ScaffoldError(Exception):
    """Scaffolding cannot proceed: a bad pattern, or no method matches it.

    ``diagnostics`` are the compiler's, when invalid lexicons may be why nothing matched.
    """

    def __init__(self, message: str, diagnostics: Sequence[Diagnostic] = ()) -> None:
        super().__init__(message)
        self.diagnostics = tuple(diagnostics)


@dataclass(frozen=True, slots=True)
class ScaffoldResult:
    """``created``: new handler modules; ``existing``: matching ones left as they were;
    ``packages``: ``__init__.py`` files created. All paths sorted. ``diagnostics``: what
    compiling the lexicons reported (methods of invalid lexicons are left out)."""

    created: tuple[Path, ...]
    existing: tuple[Path, ...]
    packages: tuple[Path, ...]
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def handlers(self) -> list[Path]:
        """Every handler module of a matching method, new or not."""
        return sorted((*self.created, *self.existing))


def _check_patterns(patterns: Sequence[str]) -> None:
    if not patterns:
        raise ScaffoldError("give at least one NSID or NSID pattern")
    for pattern in patterns:
        if not _PATTERN.fullmatch(pattern):
            raise ScaffoldError(f"not an NSID pattern: {pattern!r}")


def handler_specs(
    nsid_patterns: Sequence[str],
    *,
    lexicon_dirs: Sequence[Path] | None = None,
    package: str = OFFICIAL_PACKAGE,
) -> list[HandlerSpec]:
    """The handler specs of every method matching one of ``nsid_patterns`` (NSID globs).

    Raises ``CodegenError`` if the lexicons do not compile and ``ScaffoldError`` if a
    pattern matches no method.
    """
    specs, diagnostics = _compiled_specs(nsid_patterns, lexicon_dirs, package)
    if has_errors(diagnostics):
        raise CodegenError(diagnostics)
    return specs


def _compiled_specs(
    nsid_patterns: Sequence[str], lexicon_dirs: Sequence[Path] | None, package: str
) -> tuple[list[HandlerSpec], list[Diagnostic]]:
    """The specs of the matching methods that compiled, and the compiler's diagnostics."""
    _check_patterns(nsid_patterns)
    dirs = list(lexicon_dirs) if lexicon_dirs else [official_lexicons_dir()]
    result = compile_lexicons(dirs, package=package, include=list(nsid_patterns))
    specs = handler_specs_from_program(result.program)
    chosen: dict[str, HandlerSpec] = {}
    for pattern in nsid_patterns:
        matched = [s for s in specs if fnmatch.fnmatchcase(s.nsid, pattern)]
        if not matched:
            why = " (see the lexicon errors)" if has_errors(result.diagnostics) else ""
            raise ScaffoldError(
                f"no query, procedure or subscription matches {pattern!r}{why}",
                result.diagnostics,
            )
        chosen.update((s.nsid, s) for s in matched)
    return [chosen[nsid] for nsid in sorted(chosen)], result.diagnostics


def scaffold_handlers(
    nsid_patterns: Sequence[str],
    out_dir: Path | str,
    *,
    lexicon_dirs: Sequence[Path] | None = None,
    package: str = OFFICIAL_PACKAGE,
) -> ScaffoldResult:
    """Write stubs for the matching methods that have no handler module yet (methods
    of invalid lexicons are left out; see ``ScaffoldResult.diagnostics``)."""
    out = Path(out_dir)
    specs, diagnostics = _compiled_specs(nsid_patterns, lexicon_dirs, package)
    stubs = {s.relative_path: render_handler(s) for s in specs}
    missing = {rel: text for rel, text in stubs.items() if not out.joinpath(*rel.parts).exists()}
    existing = sorted(out.joinpath(*rel.parts) for rel in stubs if rel not in missing)
    report: HandlerReport = update_handler_sources(out, missing, report_orphans=False)
    return ScaffoldResult(
        created=report.added,
        existing=tuple(existing),
        packages=report.packages,
        diagnostics=tuple(diagnostics),
    )


def scaffold(
    nsid_patterns: Sequence[str],
    out_dir: Path | str,
    *,
    lexicon_dirs: Sequence[Path] | None = None,
    package: str = OFFICIAL_PACKAGE,
) -> list[Path]:
    """Scaffold handler modules; returns every matching handler module (new or not)."""
    return scaffold_handlers(
        nsid_patterns, out_dir, lexicon_dirs=lexicon_dirs, package=package
    ).handlers


@click.command("scaffold")
@click.option(
    "--nsid",
    "patterns",
    multiple=True,
    required=True,
    help="NSID or NSID glob of the methods to scaffold (com.atproto.repo.*); repeatable.",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The handler folder (a Python package; created if missing).",
)
@click.option(
    "--lexicons",
    "lexicon_dirs",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Lexicon folder(s); default: the official set shipped with lexforge. Repeatable.",
)
@click.option(
    "--package",
    default=None,
    help="The package the models were generated into (as given to `lexforge gen`). "
    "Default: lexforge.generated; required with --lexicons.",
)
def scaffold_command(
    patterns: tuple[str, ...], out_dir: Path, lexicon_dirs: tuple[Path, ...], package: str | None
) -> None:
    """Write a handler module (body: raise MethodNotImplemented) per matching method.

    Existing handler modules are left alone; `lexforge gen --handlers DIR` updates
    their signatures and docstrings when lexicons change. Methods of invalid lexicons
    are reported and skipped (exit 1); the others are still written.
    """
    if package is None:
        if lexicon_dirs:
            raise click.UsageError(
                "--package is required with --lexicons: the package `lexforge gen` "
                "generated these lexicons into (handlers import their models from it)"
            )
        package = OFFICIAL_PACKAGE
    try:
        check_package_name(package)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        result = scaffold_handlers(
            patterns, out_dir, lexicon_dirs=lexicon_dirs or None, package=package
        )
    except ScaffoldError as exc:
        for diagnostic in exc.diagnostics:
            click.echo(str(diagnostic), err=True)
        raise click.ClickException(str(exc)) from exc
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot write handlers: {exc}") from exc
    for diagnostic in result.diagnostics:
        click.echo(str(diagnostic), err=True)
    for path in result.created:
        click.echo(f"created {path.relative_to(out_dir).as_posix()}")
    for path in result.existing:
        click.echo(f"exists  {path.relative_to(out_dir).as_posix()} (left as it is)")
    click.echo(f"{len(result.created)} handler(s) created, {len(result.existing)} already present")
    if has_errors(result.diagnostics):
        raise SystemExit(1)

"""Commands: ``lexforge gen``, ``lexforge check``, ``lexforge lexicons validate`` and
``lexforge record validate``.

Run from a project root with no options, ``gen``/``check`` compile ``./lexicons`` (or
the official set shipped with lexforge when there is none) into ``./generated``. In
the lexforge repository that folder is the ``lexforge.generated`` package; elsewhere the
package is named after the output folder unless ``--package`` says otherwise.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO

import click

from lexforge.codegen.diagnostics import Diagnostic, has_errors

__all__ = ["check", "gen", "lexicons", "record"]

_ARTIFACTS = ("models", "client", "server")


def _print_diagnostics(diagnostics: list[Diagnostic], *, warnings: bool = True) -> None:
    for d in diagnostics:
        if d.severity == "error" or warnings:
            click.echo(str(d), err=True)


def _options(f: click.decorators.FC) -> click.decorators.FC:
    options = [
        click.option(
            "--lexicons",
            "lexicon_dirs",
            multiple=True,
            type=click.Path(exists=True, path_type=Path),
            help="Lexicon folder or file (repeatable). Default: ./lexicons, else the official set.",
        ),
        click.option(
            "--out",
            "out_dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path("generated"),
            show_default=True,
            help="Output package folder.",
        ),
        click.option(
            "--package",
            default=None,
            help="Import name of the output package (default: lexforge.generated for this "
            "repository's generated/, else the output folder's name).",
        ),
        click.option(
            "--include", multiple=True, help="Only NSIDs matching this glob (repeatable)."
        ),
        click.option(
            "--exclude", multiple=True, help="Skip NSIDs matching this glob (repeatable)."
        ),
        click.option(
            "--only",
            "artifacts",
            multiple=True,
            type=click.Choice(_ARTIFACTS),
            help="Generate only these artifacts (repeatable). Default: all.",
        ),
        click.option(
            "--handlers",
            "handlers_dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Also scaffold/merge hand-written handler modules in this folder.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _run(
    *,
    check_mode: bool,
    lexicon_dirs: tuple[Path, ...],
    out_dir: Path,
    package: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    artifacts: tuple[str, ...],
    handlers_dir: Path | None,
) -> None:
    from lexforge.codegen.format import FormatError  # noqa: PLC0415
    from lexforge.codegen.generate import (  # noqa: PLC0415
        GenConfig,
        default_package,
        generate,
        lexicon_dirs_or_default,
    )

    config = GenConfig(
        lexicon_dirs=lexicon_dirs_or_default(lexicon_dirs, Path.cwd()),
        out_dir=out_dir,
        package=package or default_package(out_dir),
        include=include,
        exclude=exclude,
        artifacts=tuple(dict.fromkeys(artifacts)) if artifacts else _ARTIFACTS,
        handlers_dir=handlers_dir,
    )
    try:
        result = generate(config, check=check_mode)
    except (FormatError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    _print_diagnostics(result.diagnostics)
    diff = result.diff
    for path in diff.unmanaged:
        click.echo(f"warning: {out_dir / path} is not generated; left alone", err=True)
    handler_drift = False
    if result.handlers is not None:
        from lexforge.codegen.merge import report_lines  # noqa: PLC0415 - libcst is slow to import

        for line in report_lines(result.handlers):
            click.echo(line)
        handler_drift = result.handlers.changed
    failed = has_errors(result.diagnostics)
    if check_mode:
        for line in diff.lines():
            click.echo(line)
        if diff.clean and not handler_drift and not failed:
            click.echo(f"{out_dir}: up to date ({result.count} files)")
            return
        if not diff.clean:
            click.echo(f"{out_dir}: out of date; run `lexforge gen` to update", err=True)
        sys.exit(1)
    click.echo(
        f"{out_dir}: {len(diff.added)} added, {len(diff.changed)} changed, "
        f"{len(diff.removed)} removed ({result.count} files, package {config.package})"
    )
    if failed:
        sys.exit(1)


@click.command()
@_options
def gen(**options: object) -> None:
    """Compile lexicons into typed models, clients and server bindings."""
    _run(check_mode=False, **options)  # type: ignore[arg-type]


@click.command()
@_options
def check(**options: object) -> None:
    """Exit 1 if `lexforge gen` would change anything (lists added/changed/removed)."""
    _run(check_mode=True, **options)  # type: ignore[arg-type]


@click.group()
def lexicons() -> None:
    """Work with Lexicon schema documents."""


@lexicons.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable diagnostics on stdout.")
def validate_lexicons(paths: tuple[Path, ...], as_json: bool) -> None:
    """Check Lexicon documents; exit 0 if valid, 1 otherwise.

    References to the official lexicons resolve even when they are not among PATHS.
    """
    from lexforge.codegen.pipeline import compile_lexicons  # noqa: PLC0415

    result = compile_lexicons(paths, package="_lexforge_validate", prefer_local=True)
    diagnostics = result.diagnostics
    ok = not has_errors(diagnostics)
    # Documents (files): the ones loaded, and the ones an error names.
    local = [result.catalog.doc(nsid) for nsid in result.catalog.local]
    with_errors = {d.path for d in diagnostics if d.severity == "error" and d.path}
    checked = len({doc.path for doc in local} | with_errors)
    valid = sum(doc.path not in with_errors for doc in local)
    if as_json:
        payload = {
            "ok": ok,
            "documents": checked,
            "valid": valid,
            "diagnostics": [d.to_json() for d in diagnostics],
        }
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
    else:
        _print_diagnostics(diagnostics)
        errors = sum(d.severity == "error" for d in diagnostics)
        status = "ok" if ok else f"{errors} error(s)"
        click.echo(f"{checked} document(s) checked, {valid} valid: {status}")
    if not ok:
        sys.exit(1)


@click.group()
def record() -> None:
    """Work with records (repository data)."""


@record.command("validate")
@click.argument("file", type=click.File("rb"))
@click.option(
    "--lexicons",
    "lexicon_dirs",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Extra lexicons (repeatable); the official set is always available.",
)
@click.option("--nsid", default=None, help="Record type (default: the record's $type).")
@click.option(
    "--lenient", is_flag=True, help="Read datetimes/languages leniently (third-party data)."
)
def validate_record_command(
    file: IO[bytes], lexicon_dirs: tuple[Path, ...], nsid: str | None, lenient: bool
) -> None:
    """Validate the record JSON in FILE (`-` for stdin); exit 0 if valid, 1 otherwise.

    An invalid lexicon among --lexicons is reported and left out with its dependants;
    the others are still used.
    """
    from lexforge.codegen.records import RecordValidator  # noqa: PLC0415
    from lexforge.runtime.data.errors import DataModelError  # noqa: PLC0415
    from lexforge.runtime.data.json import loads_json  # noqa: PLC0415

    try:
        data = loads_json(file.read(), require_object=True)
    except DataModelError as exc:
        click.echo(f"invalid: not a record: {exc}", err=True)
        sys.exit(1)
    validator = RecordValidator(lexicon_dirs)
    _print_diagnostics(list(validator.diagnostics), warnings=False)
    result = validator.validate(data, nsid, lenient=lenient)
    if result.ok:
        click.echo(f"valid: {result.nsid}")
        return
    for problem in result.problems:
        click.echo(f"invalid: {problem}", err=True)
    sys.exit(1)

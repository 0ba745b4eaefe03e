"""The compiler front half as one call: load -> catalog -> resolve -> name -> lower.

``compile_lexicons`` returns the IR every emitter consumes plus all diagnostics. It
never raises for bad input (callers decide what an error means); use
``CompileResult.raise_for_errors()`` for an exception.

Compiling into the official package (``lexforge.generated``), or compiling the shipped
official set itself, compiles the given lexicons as they are. Compiling a user's
lexicons into any other package also loads the official set (shipped as
``lexforge.lexicons``) as *external* documents: references into it resolve to
``lexforge.generated.models...`` and are not generated again.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from lexforge.codegen.catalog import Catalog, build_catalog
from lexforge.codegen.diagnostics import CodegenError, Diagnostic, has_errors, sort_diagnostics
from lexforge.codegen.ir import ProgramIR
from lexforge.codegen.loader import LoadResult, SourceDoc, load_lexicons
from lexforge.codegen.lower import OFFICIAL_PACKAGE, lower_program
from lexforge.codegen.resolver import iter_ref_sites, resolve

__all__ = [
    "OFFICIAL_PACKAGE",
    "CompileResult",
    "compile_lexicons",
    "official_lexicons_dir",
    "select_documents",
]


def official_lexicons_dir() -> Path:
    """The official lexicon set shipped with lexforge (``lexforge.lexicons``)."""
    return Path(str(files("lexforge.lexicons")))


@dataclass(slots=True)
class CompileResult:
    """The IR of one compilation, the catalog it came from, and every diagnostic."""

    program: ProgramIR
    catalog: Catalog
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether no error diagnostic was reported (warnings are fine)."""
        return not has_errors(self.diagnostics)

    def raise_for_errors(self) -> None:
        """Raise ``CodegenError`` if any error diagnostic was reported."""
        if not self.ok:
            raise CodegenError(self.diagnostics)


def _matches(nsid: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(nsid, p) for p in patterns)


def select_documents(
    docs: Sequence[SourceDoc], include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> list[SourceDoc]:
    """Documents matching ``include`` (all when empty) and not ``exclude``, plus every
    local document they reference (transitively), so a selection always compiles.

    Patterns are NSID globs (``app.example.*``).
    """
    if not include and not exclude:
        return list(docs)
    by_nsid = {d.nsid: d for d in docs}
    chosen = {
        d.nsid
        for d in docs
        if (not include or _matches(d.nsid, include)) and not _matches(d.nsid, exclude)
    }
    todo = sorted(chosen)
    while todo:
        nsid = todo.pop()
        for name, definition in by_nsid[nsid].doc.defs.items():
            for site in iter_ref_sites(name, definition):
                key = Catalog.normalize(site.ref, nsid)
                if key is not None and key.nsid in by_nsid and key.nsid not in chosen:
                    chosen.add(key.nsid)
                    todo.append(key.nsid)
    return [d for d in docs if d.nsid in chosen]


def compile_lexicons(
    lexicon_dirs: Sequence[Path],
    *,
    package: str = OFFICIAL_PACKAGE,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    official: LoadResult | None = None,
    prefer_local: bool = False,
) -> CompileResult:
    """Load, check, resolve, name and lower the lexicons under ``lexicon_dirs``.

    ``package`` is the output package (``models`` live in ``<package>.models``).
    ``include``/``exclude`` select documents by NSID glob (dependencies are pulled in).
    ``official`` lets a caller pass an already loaded official set. With
    ``prefer_local`` a local document shadows the official one of the same NSID (used to
    check documents, where the local copy is the one under test).
    """
    loaded = load_lexicons(lexicon_dirs)
    diagnostics = list(loaded.diagnostics)
    local = select_documents(loaded.docs, include, exclude)
    external: list[SourceDoc] = []
    official_dir = official_lexicons_dir().resolve()
    compiling_official = any(d.resolve() == official_dir for d in lexicon_dirs)
    if package != OFFICIAL_PACKAGE and not compiling_official:
        if official is None:
            official = load_lexicons([official_lexicons_dir()])
        external = official.docs
        if prefer_local:
            mine = {d.nsid for d in local}
            external = [d for d in external if d.nsid not in mine]
    catalog, catalog_diags = build_catalog(local, external, frozenset(loaded.failed))
    diagnostics += catalog_diags
    resolution = resolve(catalog)
    diagnostics += resolution.diagnostics
    program, lower_diags = lower_program(catalog, resolution.compiled, package, resolution.deps)
    diagnostics += lower_diags
    return CompileResult(
        program=program, catalog=catalog, diagnostics=sort_diagnostics(diagnostics)
    )

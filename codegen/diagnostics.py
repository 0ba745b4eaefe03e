"""Compiler diagnostics: every problem the compiler finds, with a stable code.

Each stage collects ``Diagnostic`` values instead of raising, so one bad document drops
only itself and what depends on it. Tests and tools match on ``code`` (a stable slug
from ``DiagnosticCode``), never on message text. ``CodegenError`` exists for callers
that want an exception: it carries the error diagnostics that stopped a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

__all__ = [
    "CODES",
    "CodegenError",
    "Diagnostic",
    "DiagnosticCode",
    "Severity",
    "has_errors",
    "sort_diagnostics",
]

Severity: TypeAlias = Literal["error", "warning"]

#: Stable diagnostic codes. Adding a code is fine; renaming one breaks users' tooling.
DiagnosticCode: TypeAlias = Literal[
    # load
    "read-error",  # the file cannot be read
    "invalid-json",  # not JSON, or JSON the data model forbids (floats, duplicate keys)
    "invalid-lexicon",  # JSON, but not a Lexicon document (structure, field types)
    "invalid-nsid",  # the document id is not a valid NSID
    "unsupported-lexicon-version",  # "lexicon" is not 1
    "non-main-primary",  # record/query/procedure/subscription/permission-set not at main
    "invalid-def-type",  # a def of a type that cannot be a named def (ref, union, ...)
    "invalid-field",  # a property schema breaks a Lexicon rule
    "invalid-ref",  # a malformed reference string
    "invalid-default",  # default/const that violates the field's own constraints
    "required-not-defined",  # required/nullable names a property that does not exist
    "invalid-permission",  # a permission-set permission breaks its resource rules
    "file-name-mismatch",  # the file path does not match the document id (warning)
    # catalog
    "duplicate-nsid",  # two documents declare the same id
    # resolve
    "unresolved-ref",  # a ref/union member points at nothing
    "bad-ref-target",  # a ref/union member points at a token, a primary def, ...
    "union-empty",  # a closed union without members
    "dependency-failed",  # dropped because a document it references was dropped
    # name
    "name-collision",  # two units would get the same Python name in one module
    "module-collision",  # two documents would map to the same Python module
    "import-cycle",  # modules that must import each other at import time (rare)
    # emit/format
    "format-failed",  # ruff could not format generated code (a compiler bug)
]

CODES: frozenset[str] = frozenset(DiagnosticCode.__args__)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found by the compiler.

    ``path`` is the Lexicon file (as given on the command line or relative to its
    root), ``nsid`` the document id when known, ``def_name`` the def, and
    ``field_path`` the property path inside the def (``record/properties/text``).
    ``line`` is 1-based when the loader could find one.
    """

    code: DiagnosticCode
    message: str
    severity: Severity = "error"
    path: str | None = None
    nsid: str | None = None
    def_name: str | None = None
    field_path: str | None = None
    line: int | None = None

    @property
    def location(self) -> str:
        """``path:line: nsid#def/field`` with whatever parts are known."""
        parts: list[str] = []
        if self.path:
            parts.append(self.path if self.line is None else f"{self.path}:{self.line}")
        where = self.nsid or ""
        if self.def_name:
            where += f"#{self.def_name}"
        if self.field_path:
            where += f"/{self.field_path}"
        if where:
            parts.append(where)
        return ": ".join(parts)

    def __str__(self) -> str:
        loc = self.location
        prefix = f"{loc}: " if loc else ""
        return f"{prefix}{self.severity}[{self.code}]: {self.message}"

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (``lexforge lexicons validate --json``)."""
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "path": self.path,
            "nsid": self.nsid,
            "def": self.def_name,
            "field": self.field_path,
            "line": self.line,
        }


def _sort_key(d: Diagnostic) -> tuple[str, str, str, str, int, str, str]:
    return (
        d.path or "",
        d.nsid or "",
        d.def_name or "",
        d.field_path or "",
        d.line or 0,
        d.code,
        d.message,
    )


def sort_diagnostics(diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]) -> list[Diagnostic]:
    """Diagnostics in a stable order (file, NSID, def, field, code), duplicates removed."""
    return sorted(set(diagnostics), key=_sort_key)


def has_errors(diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]) -> bool:
    """Whether any diagnostic is an error (warnings do not fail a run)."""
    return any(d.severity == "error" for d in diagnostics)


class CodegenError(Exception):
    """A compilation stopped by error diagnostics."""

    def __init__(self, diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]) -> None:
        self.diagnostics = tuple(diagnostics)
        first = next((d for d in diagnostics if d.severity == "error"), None)
        summary = str(first) if first else "compilation failed"
        more = len(self.diagnostics) - 1
        super().__init__(summary + (f" (and {more} more)" if more > 0 else ""))

"""Validate record data against Lexicon schemas, with the generated models' own rules.

For the official set the generated models in ``lexforge.generated`` are used directly
(looked up through the NSID index, never by recomputing a name). For a user's lexicons
the compiler emits models for them into a private temporary package and imports it:
the very same generated code and runtime checks, so the command and the models can
never disagree. An invalid user lexicon drops only itself and what depends on it (its
diagnostics are in ``RecordValidator.diagnostics``); a record of a dropped type is
reported as such.
"""

from __future__ import annotations

import atexit
import importlib
import itertools
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lexforge.codegen.diagnostics import Diagnostic
from lexforge.codegen.emit.models import emit_models
from lexforge.codegen.pipeline import compile_lexicons

__all__ = ["RecordCheck", "RecordValidator", "validate_record"]

_counter = itertools.count()


@dataclass(slots=True)
class RecordCheck:
    """Outcome of validating one record: its NSID (if known) and the problems found."""

    nsid: str | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the record is valid."""
        return not self.problems


def _error_lines(exc: ValidationError) -> list[str]:
    lines = []
    for error in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in error["loc"]) or "<record>"
        lines.append(f"{loc}: {error['msg']} [{error['type']}]")
    return lines


class RecordValidator:
    """Looks up ``Record`` classes for NSIDs: user lexicons first, then the official set.

    ``diagnostics`` are those of compiling the user lexicons; documents with errors are
    left out (with their dependants) and named in ``invalid``.
    """

    def __init__(self, lexicon_dirs: Sequence[Path] = ()) -> None:
        self._indexes: list[Any] = []
        self.diagnostics: tuple[Diagnostic, ...] = ()
        self.invalid: frozenset[str] = frozenset()
        if lexicon_dirs:
            index, self.diagnostics = _temporary_models(lexicon_dirs)
            self._indexes.append(index)
            self.invalid = frozenset(
                d.nsid for d in self.diagnostics if d.severity == "error" and d.nsid
            )
        self._indexes.append(importlib.import_module("lexforge.generated.models._index"))

    def record_class(self, nsid: str) -> Any | None:
        """The generated ``Record`` class for ``nsid``, or ``None``."""
        for index in self._indexes:
            if nsid in index.RECORDS:
                return index.load_record(nsid)
        return None

    def is_known(self, nsid: str) -> bool:
        """Whether ``nsid`` names any def (record or not) in the loaded lexicons."""
        return any(nsid in index.DEFS or nsid in index.METHODS for index in self._indexes)

    def validate(
        self, data: object, nsid: str | None = None, *, lenient: bool = False
    ) -> RecordCheck:
        """Validate decoded record data (JSON values or data-model values)."""
        if not isinstance(data, dict):
            return RecordCheck(nsid, ["a record must be a JSON object"])
        type_value = data.get("$type")
        if type_value is None:
            return RecordCheck(nsid, ["$type: a record must carry its $type"])
        if not isinstance(type_value, str):
            return RecordCheck(nsid, ["$type: must be a string"])
        if nsid is None:
            nsid = type_value
        elif type_value != nsid:
            return RecordCheck(nsid, [f"$type: {type_value!r} is not {nsid!r}"])
        cls = self.record_class(nsid)
        if cls is None:
            if self.is_known(nsid):
                why = "is not a record type"
            elif nsid in self.invalid:
                why = "has an invalid lexicon (see its diagnostics)"
            else:
                why = "no lexicon for it"
            return RecordCheck(nsid, [f"$type: {nsid} {why}"])
        context = None
        if lenient:
            from lexforge.runtime.syntax import LENIENT_CONTEXT_KEY  # noqa: PLC0415

            context = {LENIENT_CONTEXT_KEY: True}
        try:
            cls.model_validate(data, context=context)
        except ValidationError as exc:
            return RecordCheck(nsid, _error_lines(exc))
        return RecordCheck(nsid)


def _temporary_models(lexicon_dirs: Sequence[Path]) -> tuple[Any, tuple[Diagnostic, ...]]:
    """Emit models for the valid documents of ``lexicon_dirs`` into a private package;
    its imported index and the compiler's diagnostics."""
    package = f"_lexforge_records_{os.getpid()}_{next(_counter)}"
    compiled = compile_lexicons(lexicon_dirs, package=package)
    files = emit_models(compiled.program, digest="", version="")
    root = Path(tempfile.mkdtemp(prefix="lexforge-records-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    for path, text in files.items():
        target = root / package / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    (root / package / "__init__.py").write_text("", encoding="utf-8")
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    return importlib.import_module(f"{package}.models._index"), tuple(compiled.diagnostics)


def validate_record(
    data: object,
    nsid: str | None = None,
    lexicon_dirs: Sequence[Path] = (),
    *,
    lenient: bool = False,
) -> RecordCheck:
    """Validate one record (see ``RecordValidator.validate``)."""
    return RecordValidator(lexicon_dirs).validate(data, nsid, lenient=lenient)

"""Stage 6, emit: IR -> ``{relative path: source text}``, in memory.

Emitters are pure functions of the IR. The models emitter lives here
(``lexforge.codegen.emit.models``); the client and server emitters are separate modules
with one entry point each::

    def emit(program: ProgramIR) -> dict[PurePosixPath, str]: ...

returning paths relative to the output package directory (``client/__init__.py``,
``server/routes.py``...). ``emit_all`` runs every emitter that is installed and merges
their files; two emitters writing the same path is a bug and raises. Output is written
as ruff formats it, imports sorted for the output package, except for lines too long for
the line length: the format stage runs ruff only over files with such a line
(``lexforge.codegen.format.needs_ruff``), so an emitter must not rely on ruff for
anything else (``tests/codegen/test_format_skip.py`` checks).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import PurePosixPath

from lexforge.codegen.ir import ProgramIR

__all__ = ["ARTIFACTS", "PLUGIN_EMITTERS", "Emitter", "emit_all", "load_emitter"]

Emitter = Callable[[ProgramIR], dict[PurePosixPath, str]]

#: Artifacts besides the models, and the module providing each one's ``emit``.
PLUGIN_EMITTERS: dict[str, str] = {
    "client": "lexforge.codegen.emit.client",
    "server": "lexforge.codegen.emit.server",
}

#: Every artifact ``lexforge gen`` can produce.
ARTIFACTS = ("models", *PLUGIN_EMITTERS)


def load_emitter(artifact: str) -> Emitter | None:
    """The ``emit`` function for ``artifact``, or ``None`` if that emitter is absent."""
    try:
        module = importlib.import_module(PLUGIN_EMITTERS[artifact])
    except ModuleNotFoundError as exc:
        if exc.name == PLUGIN_EMITTERS[artifact]:
            return None
        raise
    emit: Emitter | None = getattr(module, "emit", None)
    return emit


def emit_all(
    program: ProgramIR,
    models: dict[PurePosixPath, str],
    artifacts: tuple[str, ...] = tuple(PLUGIN_EMITTERS),
) -> dict[PurePosixPath, str]:
    """``models`` plus the output of each available plugin emitter in ``artifacts``."""
    files = dict(models)
    for artifact in artifacts:
        emit = load_emitter(artifact)
        if emit is None:
            continue
        for path, text in emit(program).items():
            if path in files:
                raise ValueError(f"{artifact} emitter also writes {path}")
            files[path] = text
    return files

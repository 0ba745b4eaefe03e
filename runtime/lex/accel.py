"""Which C accelerators of this package are active.

``lexforge.runtime.lex._models`` (model instances and entry points) and
``lexforge.runtime.lex._values`` (blobs, string formats) speed up the fast validator
(``lexforge.runtime.lex.fast``). Both are optional: without a compiler at install time,
or with ``LEXFORGE_LEX_BACKEND=python`` in the environment (to compare, or to rule them
out), the pure-Python forms are used, with the same results.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

__all__ = ["BACKEND", "accelerator"]

#: ``"python"`` when the environment asks for the pure-Python forms, else ``"c"``
#: (each accelerator is still used only if it was built).
BACKEND = "python" if os.environ.get("LEXFORGE_LEX_BACKEND") == "python" else "c"


def accelerator(name: str) -> ModuleType | None:
    """The C module ``lexforge.runtime.lex.<name>``, or None if it is not built or the
    pure-Python forms were asked for."""
    if BACKEND == "python":
        return None
    try:
        return importlib.import_module(f"lexforge.runtime.lex.{name}")
    except ImportError:  # pragma: no cover - no C compiler where lexforge was installed
        return None

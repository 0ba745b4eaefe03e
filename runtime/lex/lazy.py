"""Lazy references between generated modules.

A generated module refers to the modules it depends on through ``lazy_module`` proxies,
bound at the *end* of the module. While the module body runs the names are unbound, so
pydantic leaves annotations that mention other modules unresolved (``defer_build``);
when a model is first used, pydantic resolves them through the proxies, which import
the target module on first attribute access. The effect:

* importing one generated module imports no other generated module;
* building one model imports only the modules its fields actually reach;
* the import cycles among lexicons (app.bsky embeds and defs, chat.bsky) cannot fail,
  because no module needs another while it is being initialised.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["LazyModule", "lazy_module"]


class LazyModule:
    """Stands for a module and imports it on first attribute access."""

    __slots__ = ("_lazy_module", "_lazy_name")

    def __init__(self, name: str) -> None:
        self._lazy_name = name
        self._lazy_module: ModuleType | None = None

    def _load(self) -> ModuleType:
        module = self._lazy_module
        if module is None:
            module = importlib.import_module(self._lazy_name)
            self._lazy_module = module
        return module

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_lazy_"):
            raise AttributeError(name)
        return getattr(self._load(), name)

    def __dir__(self) -> list[str]:
        return dir(self._load())

    def __repr__(self) -> str:
        state = "loaded" if self._lazy_module is not None else "not loaded"
        return f"<lazy module {self._lazy_name!r} ({state})>"


def lazy_module(name: str) -> Any:
    """A proxy for the module ``name`` that imports it when first used."""
    return LazyModule(name)

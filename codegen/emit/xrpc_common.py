"""Helpers shared by the client and server emitters: imports, literals, templates.

Everything here only prints decisions already made (names come from the IR).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import jinja2

from lexforge.codegen.emit.text import LINE_LENGTH, py_literal
from lexforge.codegen.merge.imports import ImportName, render_imports
from lexforge.codegen.naming import module_alias

__all__ = [
    "MESSAGE_TYPES",
    "EmitError",
    "ImportSet",
    "dict_entry",
    "literal",
    "models_import",
    "render_template",
    "tuple_arg",
]


#: The frame type -> message class table a subscription's models module defines
#: (``lexforge.codegen.emit.models``); clients and bindings refer to it, never copy it.
MESSAGE_TYPES = "MESSAGE_TYPES"


class EmitError(Exception):
    """The IR cannot be emitted as XRPC clients/servers (a name clash): a compiler bug
    or a Lexicon set whose names collide in the generated namespaces."""


def literal(value: bool | int | str) -> str:
    """A Python literal for a Lexicon value (double-quoted strings, as ruff writes them)."""
    return py_literal(value)


def models_import(module: str) -> tuple[str, str]:
    """``(parent, leaf)`` for ``from parent import leaf`` of a generated models module."""
    parent, _, leaf = module.rpartition(".")
    return parent, leaf


@dataclass(slots=True)
class ImportSet:
    """The imports one generated module needs, rendered in ruff's isort order."""

    first_party: str
    names: set[ImportName] = field(default_factory=set)
    type_checking: set[ImportName] = field(default_factory=set)
    bound: dict[str, str] = field(default_factory=dict)

    def _bind(self, name: str, module: str) -> None:
        previous = self.bound.setdefault(name, module)
        if previous != module:
            raise EmitError(f"{name!r} would be imported from both {previous} and {module}")

    def add(self, module: str, name: str) -> None:
        """``from module import name``."""
        self._bind(name, f"{module}.{name}")
        self.names.add(ImportName(module, name))

    def add_module(self, parent: str, leaf: str) -> None:
        """``from parent import leaf`` (a module)."""
        self._bind(leaf, f"{parent}.{leaf}")
        self.names.add(ImportName(parent, leaf))

    def add_type_checking(self, module: str, name: str, alias: str) -> None:
        """``from module import name as alias`` inside ``if TYPE_CHECKING:``."""
        self._bind(alias, f"{module}.{name}")
        self.type_checking.add(ImportName(module, name, alias))

    def model_ref(self, module: str, name: str) -> str:
        """An expression for ``name`` of a models module, importing the module if needed."""
        _, leaf = models_import(module)
        if self.bound.get(leaf) == module:
            return f"{leaf}.{name}"
        _, sep, below = module.partition(".models.")
        alias = module_alias(tuple(below.split("."))) if sep else module.replace(".", "_")
        self._bind(alias, module)
        self.names.add(ImportName(module, None, alias))
        return f"{alias}.{name}"

    def render(self) -> str:
        return render_imports(self.names, first_party=self.first_party)

    def render_type_checking(self) -> list[str]:
        """One ``from m import x as y`` per line (ruff does not combine ``as`` imports)."""
        ordered = sorted(self.type_checking, key=lambda i: (i.module, i.name or "", i.alias or ""))
        return [f"from {i.module} import {i.name} as {i.alias}" for i in ordered]


def dict_entry(indent: int, key: str, value: str) -> list[str]:
    """A dict literal entry at ``indent``, its value parenthesised onto its own line when
    the entry would be too long (ruff keeps those parentheses; it never adds them)."""
    pad = " " * indent
    one = f"{pad}{key}: {value},"
    if len(one) <= LINE_LENGTH:
        return [one]
    return [f"{pad}{key}: (", f"{pad}    {value}", f"{pad}),"]


def tuple_arg(indent: int, name: str, items: list[str]) -> list[str]:
    """``name=(a, b),`` as ruff formats it: one line when it fits, else one item per line."""
    pad = " " * indent
    inner = f"{items[0]}," if len(items) == 1 else ", ".join(items)
    one = f"{pad}{name}=({inner}),"
    if len(one) <= LINE_LENGTH:
        return [one]
    return [f"{pad}{name}=(", *(f"{pad}    {item}," for item in items), f"{pad}),"]


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


@cache
def _template(name: str) -> jinja2.Template:
    source = resources.files("lexforge.templates").joinpath(*name.split("/"))
    return _environment().from_string(source.read_text(encoding="utf-8"))


def render_template(name: str, **context: Any) -> str:
    """Render ``templates/<name>`` (StrictUndefined: a missing variable is a bug)."""
    return _template(name).render(**context)

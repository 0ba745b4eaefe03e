"""Helpers shared by the client and server emitters: imports, literals, templates.

Everything here only prints decisions already made (names come from the IR).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import jinja2

from lexforge.codegen.emit.imports import ImportName, render_imports
from lexforge.codegen.emit.text import LINE_LENGTH, py_literal, py_string

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
    lazy: set[ImportName] = field(default_factory=set)
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

    def add_lazy_module(self, parent: str, leaf: str) -> None:
        """The module ``parent.leaf`` as ``leaf``: imported for type checkers only, and
        bound at run time to a proxy that imports it on first use (``render_lazy``)."""
        self._bind(leaf, f"{parent}.{leaf}")
        self.lazy.add(ImportName(parent, leaf))

    def render(self) -> str:
        return render_imports(self.names, first_party=self.first_party)

    def render_type_checking(self) -> list[str]:
        """The lines of the ``if TYPE_CHECKING:`` block, sorted by module as ruff does:
        ``from m import x as y`` one per line (ruff does not combine ``as`` imports),
        the lazily bound modules of one parent in one statement."""
        statements: list[tuple[str, str]] = [
            (i.module, f"from {i.module} import {i.name} as {i.alias}") for i in self.type_checking
        ]
        by_parent: dict[str, list[str]] = {}
        for i in self.lazy:
            assert i.name is not None
            by_parent.setdefault(i.module, []).append(i.name)
        for parent, leaves in by_parent.items():
            block = render_imports(
                [ImportName(parent, leaf) for leaf in leaves],
                first_party=self.first_party,
                line_length=LINE_LENGTH - 4,
            )
            statements.append((parent, block))
        ordered = sorted(statements, key=lambda s: (s[0].lower(), s[0], s[1]))
        return [line for _, text in ordered for line in text.split("\n")]

    def render_lazy(self) -> list[str]:
        """``leaf = lazy_module("parent.leaf")`` for each lazily bound module, as ruff
        formats it (the call split when the line is too long)."""
        lines = []
        for i in sorted(self.lazy):
            target = py_string(f"{i.module}.{i.name}")
            one = f"    {i.name} = lazy_module({target})"
            if len(one) <= LINE_LENGTH:
                lines.append(one)
            else:
                lines += [f"    {i.name} = lazy_module(", f"        {target}", "    )"]
        return lines


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

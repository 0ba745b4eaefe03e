"""Import statements of generated code as ruff's isort rules lay them out.

Shared by the client and server emitters and by handler merging
(``lexforge.codegen.merge.imports``, which adds imports to existing modules with
libcst). This module imports nothing heavy: ``lexforge gen`` uses it without loading
libcst.

Ordering follows ruff's isort defaults: sections (``__future__``, standard library,
third party, first party), ``import x`` before ``from x import y`` inside a section,
modules case-insensitively, and imported names constants first, then classes, then the
rest. ruff cannot know which packages are first party in a user's project; the caller
names the first-party package (``lexforge`` itself is always ranked third party here,
as in a project that generates its own models).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lexforge.codegen.emit.text import LINE_LENGTH

__all__ = [
    "LINE_LENGTH",
    "ImportName",
    "import_section",
    "member_sort_key",
    "module_key",
    "render_from",
    "render_imports",
]


_STDLIB: frozenset[str] = frozenset(sys.stdlib_module_names)


@dataclass(frozen=True, slots=True, order=True)
class ImportName:
    """``from module import name as alias``, or ``import module as alias`` (name None).

    ``bound`` is the name the statement binds in the importing module.
    """

    module: str
    name: str | None = None
    alias: str | None = None

    @property
    def bound(self) -> str:
        if self.alias is not None:
            return self.alias
        if self.name is not None:
            return self.name
        return self.module.partition(".")[0]

    def _as(self, name: str) -> str:
        return name if self.alias is None or self.alias == name else f"{name} as {self.alias}"


def import_section(module: str, *, first_party: str | None = None) -> int:
    """isort section rank of a module: future, stdlib, third party, first party, local.

    ``first_party`` names the package (or its top level) ruff counts as first party
    where the code will live; ``None`` when there is none to know.
    """
    if module.startswith("."):
        return 4
    top = module.partition(".")[0]
    if top == "__future__":
        return 0
    if top in _STDLIB:
        return 1
    if first_party is not None and top == first_party.partition(".")[0]:
        return 3
    return 2


def member_sort_key(name: str) -> tuple[int, str, str]:
    """ruff's ``order-by-type`` key: CONSTANTS, then Classes, then everything else."""
    if name.isupper() and len(name) > 1:
        kind = 0
    elif name[:1].isupper():
        kind = 1
    else:
        kind = 2
    return (kind, name.lower(), name)


def module_key(module: str) -> tuple[str, str]:
    return (module.lower(), module)


def render_from(module: str, names: Sequence[str], line_length: int) -> str:
    one_line = f"from {module} import {', '.join(names)}"
    if len(one_line) <= line_length:
        return one_line
    inner = "".join(f"    {n},\n" for n in names)
    return f"from {module} import (\n{inner})"


def render_imports(
    imports: Iterable[ImportName], *, first_party: str | None, line_length: int = LINE_LENGTH
) -> str:
    """The import block for ``imports``: sorted, grouped into sections, no trailing newline."""
    plain: dict[int, set[tuple[str, str]]] = {}
    froms: dict[int, dict[str, set[ImportName]]] = {}
    for imp in imports:
        section = import_section(imp.module, first_party=first_party)
        if imp.name is None:
            plain.setdefault(section, set()).add((imp.module, imp._as(imp.module)))
        else:
            froms.setdefault(section, {}).setdefault(imp.module, set()).add(imp)
    blocks: list[str] = []
    for section in sorted({*plain, *froms}):
        lines = [f"import {text}" for _, text in sorted(plain.get(section, ()), key=_plain_key)]
        for module in sorted(froms.get(section, {}), key=module_key):
            names = sorted(froms[section][module], key=lambda i: member_sort_key(i.name or ""))
            same = [i.name for i in names if i.name is not None and i.bound == i.name]
            if same:
                lines.append(render_from(module, same, line_length))
            # ruff's isort keeps ``as`` imports in statements of their own.
            lines += [
                f"from {module} import {i._as(i.name or '')}" for i in names if i.name != i.bound
            ]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _plain_key(item: tuple[str, str]) -> tuple[tuple[str, str], str]:
    module, text = item
    return module_key(module), text

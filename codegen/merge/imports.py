"""Import statements for handler modules: rendering, ordering, and adding to a module.

The scaffolded stub and every import the merge adds must leave a handler module clean
under ruff's isort rules (``I001``) with the default settings, so ordering follows them:
sections (``__future__``, standard library, third party, first party), ``import x``
before ``from x import y`` inside a section, modules case-insensitively, and imported
names constants first, then classes, then the rest. ruff cannot know which packages
are first party in a user's project; we guess that ``lexforge`` is third party and
the package of the generated models (when it is not ``lexforge``) first party, which
is what a project that generates its own models looks like.

Only this module builds import statements; the merge asks it to add the imports a new
signature needs and it extends an existing ``from M import ...`` when it can. It cannot
when that statement has comments inside its parentheses (rebuilding it would drop them)
or an ``as`` alias; the name then gets a statement of its own, which is correct Python
but one that ``ruff check --fix`` would join with the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import libcst as cst

from lexforge.codegen.emit.imports import (
    LINE_LENGTH,
    ImportName,
    import_section,
    member_sort_key,
    module_key,
    render_from,
    render_imports,
)

#: A statement at module level, as libcst types ``Module.body``.
Statement: TypeAlias = cst.SimpleStatementLine | cst.BaseCompoundStatement

__all__ = [
    "LINE_LENGTH",
    "ImportName",
    "Statement",
    "add_imports",
    "import_section",
    "member_sort_key",
    "render_imports",
]


# --- adding imports to an existing module ---------------------------------------------


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    raise TypeError(f"not a dotted name: {type(node).__name__}")  # pragma: no cover


def _import_of(stmt: Statement) -> cst.Import | cst.ImportFrom | None:
    """The import in a statement line holding exactly one import, else None."""
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        small = stmt.body[0]
        if isinstance(small, cst.Import | cst.ImportFrom):
            return small
    return None


def _from_module(node: cst.ImportFrom) -> str | None:
    """The absolute module of ``from M import ...``; None for relative imports."""
    if node.relative or node.module is None:
        return None
    return _dotted(node.module)


def _statement_module(node: cst.Import | cst.ImportFrom) -> str:
    if isinstance(node, cst.ImportFrom):
        return _from_module(node) or "." * len(node.relative)
    return _dotted(node.names[0].name)


def _has_comment(node: cst.CSTNode) -> bool:
    found = False

    class _Finder(cst.CSTVisitor):
        def visit_Comment(self, node: cst.Comment) -> None:
            nonlocal found
            found = True

    node.visit(_Finder())
    return found


def _alias_text(alias: cst.ImportAlias) -> str:
    name = _dotted(alias.name)
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return f"{name} as {alias.asname.name.value}"
    return name


def _extend_from(
    line: cst.SimpleStatementLine,
    node: cst.ImportFrom,
    module: str,
    new: Sequence[ImportName],
    line_length: int,
) -> cst.SimpleStatementLine | None:
    """``line`` rebuilt with ``new`` names added, or None if it cannot be done safely.

    Statements with comments inside, a star import or an ``as`` alias are left alone
    (the caller adds a separate statement instead): rebuilding them would drop the
    comments, and ruff keeps aliased imports apart.
    """
    if isinstance(node.names, cst.ImportStar) or _has_comment(node):
        return None
    # ruff keeps `from m import a as b` in a statement of its own (combine-as-imports).
    if any(a.asname is not None for a in node.names) or any(n.alias for n in new):
        return None
    names = [_alias_text(a) for a in node.names]
    names += [imp._as(imp.name) for imp in new if imp.name is not None]
    names = sorted(set(names), key=lambda n: member_sort_key(n.split(" as ")[0]))
    rebuilt = cst.parse_statement(render_from(module, names, line_length) + "\n")
    assert isinstance(rebuilt, cst.SimpleStatementLine)
    return rebuilt.with_changes(
        leading_lines=line.leading_lines, trailing_whitespace=line.trailing_whitespace
    )


def _import_block_end(body: Sequence[Statement], start: int) -> int:
    end = start
    while end < len(body) and _import_of(body[end]) is not None:
        end += 1
    return end


def add_imports(
    body: Sequence[Statement],
    block_start: int,
    new: Sequence[ImportName],
    *,
    first_party: str | None,
    line_length: int = LINE_LENGTH,
) -> list[Statement]:
    """``body`` (a module's statements) with ``new`` imports added.

    ``block_start`` is the index of the first statement after the module docstring.
    A name imported ``from`` a module that the top import block already imports from is
    added to that statement; anything else becomes a new statement, placed where isort
    would put it within the top import block (or starting one).
    """
    out = list(body)
    pending: dict[str, list[ImportName]] = {}
    for imp in sorted(set(new), key=lambda i: (i.module, i.name or "", i.alias or "")):
        pending.setdefault(imp.module if imp.name is not None else "", []).append(imp)
    plain = pending.pop("", [])
    end = _import_block_end(out, block_start)
    for module, names in sorted(pending.items()):
        for i in range(block_start, end):
            node = _import_of(out[i])
            if isinstance(node, cst.ImportFrom) and _from_module(node) == module:
                line = out[i]
                assert isinstance(line, cst.SimpleStatementLine)
                rebuilt = _extend_from(line, node, module, names, line_length)
                if rebuilt is not None:
                    out[i] = rebuilt
                    break
        else:
            text = render_from(module, [n._as(n.name or "") for n in names], line_length)
            end = _insert_statement(
                out, block_start, end, text, module=module, first_party=first_party
            )
    for imp in plain:
        text = f"import {imp._as(imp.module)}"
        end = _insert_statement(
            out, block_start, end, text, module=imp.module, first_party=first_party
        )
    return out


def _insert_statement(
    body: list[Statement],
    block_start: int,
    block_end: int,
    text: str,
    *,
    module: str,
    first_party: str | None,
) -> int:
    """Insert one rendered import into the top import block; returns the new block end."""
    section = import_section(module, first_party=first_party)
    stmt = cst.parse_statement(text + "\n")
    key = _statement_key(stmt, first_party)
    index = block_end
    for i in range(block_start, block_end):
        if _statement_key(body[i], first_party) > key:
            index = i
            break
    prev_section = _section_at(body, index - 1, block_start, first_party)
    next_section = _section_at(body, index, block_start, first_party)
    if index < block_end and next_section == section:
        # Take over the blank line (or comments) that opened this section.
        stmt = stmt.with_changes(leading_lines=body[index].leading_lines)
        body[index] = body[index].with_changes(leading_lines=())
    elif prev_section is not None and prev_section != section:
        stmt = stmt.with_changes(leading_lines=(cst.EmptyLine(),))
    elif index == block_start and index < len(body):
        stmt = stmt.with_changes(leading_lines=body[index].leading_lines)
        body[index] = body[index].with_changes(leading_lines=())
    if index == block_start and block_start > 0 and not stmt.leading_lines:
        stmt = stmt.with_changes(leading_lines=(cst.EmptyLine(),))
    if index < block_end and next_section != section and not body[index].leading_lines:
        body[index] = body[index].with_changes(leading_lines=(cst.EmptyLine(),))
    if index == block_end and index < len(body):
        nxt = body[index]
        if not any(line.comment is None for line in nxt.leading_lines):
            blank = 2 if isinstance(nxt, cst.FunctionDef | cst.ClassDef) else 1
            body[index] = nxt.with_changes(
                leading_lines=(*[cst.EmptyLine()] * blank, *nxt.leading_lines)
            )
    body.insert(index, stmt)
    return block_end + 1


def _statement_key(
    stmt: Statement, first_party: str | None
) -> tuple[int, bool, tuple[str, str], tuple[int, str, str]]:
    """isort order of an import statement: section, ``from`` after ``import``, module,
    then (for several ``from`` imports of one module) the first imported name."""
    node = _import_of(stmt)
    assert node is not None
    module = _statement_module(node)
    first = ""
    if isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar):
        first = _dotted(node.names[0].name)
    return (
        import_section(module, first_party=first_party),
        isinstance(node, cst.ImportFrom),
        module_key(module),
        member_sort_key(first) if first else (-1, "", ""),
    )


def _section_at(
    body: Sequence[Statement], index: int, block_start: int, first_party: str | None
) -> int | None:
    if index < block_start or index >= len(body):
        return None
    node = _import_of(body[index])
    if node is None:
        return None
    return import_section(_statement_module(node), first_party=first_party)

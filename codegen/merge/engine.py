"""Merge a regenerated handler stub into the module its author has been editing.

``merge_handler(existing, stub)`` is a pure function over two source texts, built on
libcst so that everything it does not touch keeps its exact bytes: the module header,
comments, blank lines, helpers, the body of ``handle``.

What the stub decides (it comes from the lexicon):

* the module docstring;
* ``handle``: ``async`` or not, the parameter list, the return annotation, the
  docstring (the first statement of the body), and decorators the stub has (an
  existing decorator of the same name keeps the keyword arguments the author added);
* ``NSID`` and ``handle`` themselves when the module lacks them.

What stays as the author wrote it: everything else, including the body of ``handle``
after its docstring, its decorators, and every import. Imports change only as the
signature needs: a name the new signature uses and the module does not bind is
imported, and an import that only the old signature used is removed.

A signature that is equal to the stub's as Python (compared with ``ast``, so line
breaks and trailing commas do not matter) and a docstring equal after
``inspect.cleandoc`` are left byte for byte; that makes the merge idempotent and keeps
an author's own formatting of an unchanged signature.

The merge refuses (``skipped``, source unchanged) when the module's ``NSID`` names a
different method (``nsid-mismatch``) or ``handle`` is bound to something that is not a
function (``handler-not-function``). A parameter that disappeared while the body still
uses its name is reported as ``signature-changed``.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

import libcst as cst

from lexforge.codegen.merge.errors import HandlerSourceError, StubError
from lexforge.codegen.merge.imports import ImportName, Statement, add_imports

__all__ = [
    "MergeResult",
    "MergeWarning",
    "MergeWarningCode",
    "merge_handler",
]

MergeWarningCode: TypeAlias = Literal[
    "signature-changed",  # a removed/renamed parameter is still used by the body
    "nsid-mismatch",  # the module's NSID names another method; left untouched
    "handler-not-function",  # `handle` is bound, but not by a def; left untouched
    "orphan-handler",  # a handler module whose method is gone; kept untouched
    "unparsable-handler",  # a handler module that is not valid Python; left untouched
    "unreadable-handler",  # a handler module that cannot be read as UTF-8
]

_HANDLE = "handle"
_NSID = "NSID"


@dataclass(frozen=True, slots=True)
class MergeWarning:
    """Something the author should look at; ``path`` is set by ``update_handlers``."""

    code: MergeWarningCode
    message: str
    nsid: str | None = None
    path: str | None = None

    def __str__(self) -> str:
        where = ": ".join(p for p in (self.path, self.nsid) if p)
        return f"{where + ': ' if where else ''}warning[{self.code}]: {self.message}"


@dataclass(frozen=True, slots=True)
class MergeResult:
    """The merged source and what the author should know about it.

    ``skipped`` is true when the merge refused to touch the module (``source`` is then
    the existing text, and a warning says why).
    """

    source: str
    warnings: tuple[MergeWarning, ...] = ()
    skipped: bool = False


# --- small CST helpers -----------------------------------------------------------------

_EMPTY_MODULE = cst.Module(body=[])


def _code(node: cst.CSTNode) -> str:
    return _EMPTY_MODULE.code_for_node(node)


def _docstring_value(stmt: cst.CSTNode | None) -> str | None:
    """The text of a docstring statement, or None if ``stmt`` is not one."""
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        stmt = stmt.body[0]
    if isinstance(stmt, cst.Expr) and isinstance(
        stmt.value, cst.SimpleString | cst.ConcatenatedString
    ):
        value = stmt.value.evaluated_value
        if isinstance(value, str):
            return value
    return None


def _same_docstring(a: str, b: str) -> bool:
    return inspect.cleandoc(a) == inspect.cleandoc(b)


def _assigned_name(stmt: Statement) -> tuple[str, cst.BaseExpression | None] | None:
    """(name, value) for ``NAME = value`` / ``NAME: T = value`` statements."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
        return None
    small = stmt.body[0]
    if (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
    ):
        return small.targets[0].target.value, small.value
    if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
        return small.target.value, small.value
    return None


def _string_value(node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, cst.SimpleString | cst.ConcatenatedString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


class _Names(cst.CSTVisitor):
    """Every ``Name`` in a tree outside import statements (a superset of the uses)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)


def _names_in(node: cst.CSTNode) -> set[str]:
    visitor = _Names()
    node.visit(visitor)
    return visitor.names


class _Bindings(cst.CSTVisitor):
    """Names a module binds at top level: imports (also under ``if``/``try``), defs,
    classes and assignment targets. Function and class bodies are not entered."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.names.add(node.name.value)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.names.add(node.name.value)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        if node.asname is not None and isinstance(node.asname.name, cst.Name):
            self.names.add(node.asname.name.value)
        else:
            self.names.add(_code(node.name).partition(".")[0])

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        for name in _target_names(node.target):
            self.names.add(name)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.names.update(_target_names(node.target))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.names.update(_target_names(node.target))


def _target_names(node: cst.BaseExpression) -> list[str]:
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, cst.Tuple | cst.List):
        return [n for el in node.elements for n in _target_names(el.value)]
    if isinstance(node, cst.StarredElement):
        return _target_names(node.value)
    return []


def _bound_names(module: cst.Module) -> set[str]:
    visitor = _Bindings()
    module.visit(visitor)
    return visitor.names


def _blank_lines(n: int) -> tuple[cst.EmptyLine, ...]:
    return tuple(cst.EmptyLine() for _ in range(n))


def _ensure_blank_before(stmt: Statement, n: int) -> Statement:
    """``stmt`` with at least ``n`` blank lines before it (before its comments)."""
    lines: list[cst.EmptyLine] = list(stmt.leading_lines)
    have = 0
    while have < len(lines) and lines[have].comment is None:
        have += 1
    if have >= n:
        return stmt
    return stmt.with_changes(leading_lines=(*_blank_lines(n - have), *lines))


def _blanks_for(stmt: Statement) -> int:
    """Blank lines ruff puts before a top-level statement after other code."""
    return 2 if isinstance(stmt, cst.FunctionDef | cst.ClassDef) else 1


# --- the stub ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Stub:
    nsid: str
    docstring: cst.SimpleStatementLine | None
    nsid_statement: cst.SimpleStatementLine
    handle: cst.FunctionDef
    imports: tuple[ImportName, ...]
    first_party: str | None


def _import_names(stmt: cst.Import | cst.ImportFrom) -> list[ImportName]:
    if isinstance(stmt.names, cst.ImportStar):
        raise StubError("a stub never star-imports")
    out: list[ImportName] = []
    for alias in stmt.names:
        asname = (
            alias.asname.name.value
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name)
            else None
        )
        if isinstance(stmt, cst.ImportFrom):
            if stmt.relative or stmt.module is None:
                raise StubError("a stub never uses relative imports")
            out.append(ImportName(_code(stmt.module), _code(alias.name), asname))
        else:
            out.append(ImportName(_code(alias.name), None, asname))
    return out


def _parse_stub(source: str) -> _Stub:
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise StubError(f"the stub is not valid Python: {exc}") from exc
    docstring: cst.SimpleStatementLine | None = None
    nsid_stmt: cst.SimpleStatementLine | None = None
    nsid: str | None = None
    handle: cst.FunctionDef | None = None
    imports: list[ImportName] = []
    for i, stmt in enumerate(module.body):
        if i == 0 and _docstring_value(stmt) is not None:
            assert isinstance(stmt, cst.SimpleStatementLine)
            docstring = stmt
            continue
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == _HANDLE:
            handle = stmt
            continue
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Import | cst.ImportFrom):
                    imports += _import_names(small)
            assigned = _assigned_name(stmt)
            if assigned is not None and assigned[0] == _NSID:
                nsid_stmt, nsid = stmt, _string_value(assigned[1])
    if nsid_stmt is None or nsid is None:
        raise StubError("the stub has no NSID = '<nsid>' constant")
    if handle is None:
        raise StubError("the stub has no top-level def handle(...)")
    first_party = next(
        (
            imp.module.partition(".")[0]
            for imp in imports
            if imp.module.partition(".")[0] not in {"lexforge", "collections", "typing"}
        ),
        None,
    )
    return _Stub(nsid, docstring, nsid_stmt, handle, tuple(imports), first_party)


# --- functions ------------------------------------------------------------------------


def _signature_dump(fn: cst.FunctionDef) -> str:
    returns = f" -> {_code(fn.returns.annotation)}" if fn.returns is not None else ""
    tree = ast.parse(f"def f({_code(fn.params)}){returns}: pass")
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef)
    return ast.dump(node.args) + "|" + (ast.dump(node.returns) if node.returns else "")


def _param_names(params: cst.Parameters) -> set[str]:
    names = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.add(star.name.value)
    return names


def _decorator_name(decorator: cst.Decorator) -> str:
    expr = decorator.decorator
    if isinstance(expr, cst.Call):
        expr = expr.func
    return _code(expr)


def _comma() -> cst.Comma:
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def _merge_decorator(existing: cst.Decorator, stub: cst.Decorator) -> cst.Decorator:
    """The stub's arguments, plus keyword arguments only the author's decorator has."""
    old, new = existing.decorator, stub.decorator
    if not isinstance(new, cst.Call):
        return existing
    if not isinstance(old, cst.Call):
        return existing.with_changes(decorator=new)
    new_keywords = {a.keyword.value for a in new.args if a.keyword is not None}
    extra = [a for a in old.args if a.keyword is not None and a.keyword.value not in new_keywords]
    if not extra:
        return existing.with_changes(decorator=new)
    args = list(new.args)
    if args:
        args[-1] = args[-1].with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
    args += [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in extra]
    if len(extra) > 1:
        args[:-1] = [a.with_changes(comma=_comma()) for a in args[:-1]]
    return existing.with_changes(decorator=new.with_changes(args=args))


def _merge_decorators(
    existing: Sequence[cst.Decorator], stub: Sequence[cst.Decorator]
) -> list[cst.Decorator]:
    out = list(existing)
    index = {_decorator_name(d): i for i, d in enumerate(out)}
    added = 0
    for decorator in stub:
        name = _decorator_name(decorator)
        if name in index:
            out[index[name]] = _merge_decorator(out[index[name]], decorator)
        else:
            out.insert(added, decorator)
            added += 1
            index = {_decorator_name(d): i for i, d in enumerate(out)}
    return out


def _with_docstring(body: cst.BaseSuite, docstring: cst.SimpleStatementLine) -> cst.BaseSuite:
    """A function body whose first statement is ``docstring`` (text compared first)."""
    wanted = _docstring_value(docstring)
    assert wanted is not None
    if isinstance(body, cst.SimpleStatementSuite):
        # `def handle(...): return x` on one line: give it an indented body.
        smalls = list(body.body)
        if smalls and _docstring_value(smalls[0]) is not None:
            smalls = smalls[1:]
        statements: list[cst.BaseStatement] = [docstring]
        if smalls:
            smalls[-1] = smalls[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
            statements.append(
                cst.SimpleStatementLine(body=smalls, trailing_whitespace=body.trailing_whitespace)
            )
        return cst.IndentedBlock(body=statements)
    assert isinstance(body, cst.IndentedBlock)
    statements = list[cst.BaseStatement](body.body)
    current = _docstring_value(statements[0]) if statements else None
    if current is not None:
        if _same_docstring(current, wanted):
            return body
        first = statements[0]
        assert isinstance(first, cst.SimpleStatementLine)
        statements[0] = docstring.with_changes(
            leading_lines=first.leading_lines, trailing_whitespace=first.trailing_whitespace
        )
    else:
        statements.insert(0, docstring)
    return body.with_changes(body=statements)


def _merge_handle(
    existing: cst.FunctionDef, stub: cst.FunctionDef, nsid: str, warnings: list[MergeWarning]
) -> cst.FunctionDef:
    fn = existing
    if (existing.asynchronous is None) != (stub.asynchronous is None):
        fn = fn.with_changes(asynchronous=stub.asynchronous)
    if _signature_dump(existing) != _signature_dump(stub):
        gone = _param_names(existing.params) - _param_names(stub.params)
        still_used = sorted(gone & _names_in(existing.body))
        for name in still_used:
            warnings.append(
                MergeWarning(
                    "signature-changed",
                    f"parameter {name!r} is no longer part of handle()'s signature, "
                    "but the body still uses that name",
                    nsid=nsid,
                )
            )
        fn = fn.with_changes(
            params=stub.params,
            returns=stub.returns,
            whitespace_after_name=stub.whitespace_after_name,
            whitespace_before_params=stub.whitespace_before_params,
            whitespace_before_colon=stub.whitespace_before_colon,
            type_parameters=stub.type_parameters,
            whitespace_after_type_parameters=stub.whitespace_after_type_parameters,
        )
    if stub.decorators:
        fn = fn.with_changes(decorators=_merge_decorators(fn.decorators, stub.decorators))
    stub_body = stub.body
    if isinstance(stub_body, cst.IndentedBlock) and stub_body.body:
        first = stub_body.body[0]
        if _docstring_value(first) is not None:
            assert isinstance(first, cst.SimpleStatementLine)
            fn = fn.with_changes(body=_with_docstring(fn.body, first))
    return fn


# --- imports --------------------------------------------------------------------------


def _strip_imports(body: list[Statement], unused: set[str]) -> list[Statement]:
    """``body`` without the top-level import aliases binding a name in ``unused``."""
    out: list[Statement] = []
    carry: Sequence[cst.EmptyLine] = ()
    for stmt in body:
        if carry:
            stmt = stmt.with_changes(leading_lines=_join_leading(carry, stmt.leading_lines))
            carry = ()
        if (
            isinstance(stmt, cst.SimpleStatementLine)
            and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Import | cst.ImportFrom)
            and not isinstance(stmt.body[0].names, cst.ImportStar)
        ):
            node = stmt.body[0]
            assert not isinstance(node.names, cst.ImportStar)
            aliases = list(node.names)
            keep = [a for a in aliases if _alias_binding(a) not in unused]
            if len(keep) != len(aliases):
                if not keep:
                    carry = stmt.leading_lines
                    continue
                if keep[-1] is not aliases[-1]:
                    keep[-1] = keep[-1].with_changes(comma=aliases[-1].comma)
                stmt = stmt.with_changes(body=[node.with_changes(names=keep)])
        out.append(stmt)
    return out


def _alias_binding(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return _code(alias.name).partition(".")[0]


def _join_leading(
    removed: Sequence[cst.EmptyLine], following: Sequence[cst.EmptyLine]
) -> tuple[cst.EmptyLine, ...]:
    """Leading lines for the statement after a removed one: comments of both, and as
    many blank lines in front as the larger of the two had."""

    def split(lines: Sequence[cst.EmptyLine]) -> tuple[int, list[cst.EmptyLine]]:
        n = 0
        while n < len(lines) and lines[n].comment is None:
            n += 1
        return n, list(lines[n:])

    n1, rest1 = split(removed)
    n2, rest2 = split(following)
    return (*_blank_lines(max(n1, n2)), *rest1, *rest2)


# --- the merge ------------------------------------------------------------------------


def merge_handler(existing_source: str, desired_stub_source: str) -> MergeResult:
    """Bring ``existing_source`` in step with ``desired_stub_source`` (see module doc).

    Raises ``HandlerSourceError`` if the existing module is not valid Python and
    ``StubError`` if the stub is not a handler stub.
    """
    stub = _parse_stub(desired_stub_source)
    try:
        module = cst.parse_module(existing_source)
    except cst.ParserSyntaxError as exc:
        raise HandlerSourceError(f"not valid Python: {exc}") from exc

    bound = _bound_names(module)
    body = list(module.body)
    handle_index: int | None = None
    for i, stmt in enumerate(body):
        assigned = _assigned_name(stmt)
        if assigned is not None and assigned[0] == _NSID:
            value = _string_value(assigned[1])
            if value is not None and value != stub.nsid:
                warning = MergeWarning(
                    "nsid-mismatch",
                    f"the module's NSID is {value!r}, not {stub.nsid!r}; left untouched",
                    nsid=stub.nsid,
                )
                return MergeResult(existing_source, (warning,), skipped=True)
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == _HANDLE:
            handle_index = i
    if handle_index is None and _HANDLE in bound:
        warning = MergeWarning(
            "handler-not-function",
            "`handle` is defined, but not by a def statement; left untouched",
            nsid=stub.nsid,
        )
        return MergeResult(existing_source, (warning,), skipped=True)

    warnings: list[MergeWarning] = []
    has_docstring = bool(body) and _docstring_value(body[0]) is not None

    # The module docstring.
    if stub.docstring is not None:
        wanted = _docstring_value(stub.docstring)
        assert wanted is not None
        if has_docstring:
            current = _docstring_value(body[0])
            assert current is not None
            if not _same_docstring(current, wanted):
                first = body[0]
                assert isinstance(first, cst.SimpleStatementLine)
                body[0] = stub.docstring.with_changes(
                    leading_lines=first.leading_lines,
                    trailing_whitespace=first.trailing_whitespace,
                )
        else:
            if body:
                body[0] = _ensure_blank_before(body[0], 1)
            body.insert(0, stub.docstring.with_changes(leading_lines=()))
            handle_index = None if handle_index is None else handle_index + 1
            has_docstring = True
    block_start = 1 if has_docstring else 0

    # handle() itself.
    if handle_index is not None:
        existing_fn = body[handle_index]
        assert isinstance(existing_fn, cst.FunctionDef)
        body[handle_index] = _merge_handle(existing_fn, stub.handle, stub.nsid, warnings)
    else:
        body.append(_ensure_blank_before(stub.handle.with_changes(leading_lines=()), 2))

    # NSID, when the author's module has none.
    if _NSID not in bound:
        at = block_start
        while at < len(body) and isinstance(body[at], cst.SimpleStatementLine):
            line = body[at]
            assert isinstance(line, cst.SimpleStatementLine)
            if not all(isinstance(s, cst.Import | cst.ImportFrom) for s in line.body):
                break
            at += 1
        nsid_stmt: Statement = stub.nsid_statement.with_changes(leading_lines=())
        if at > 0:
            nsid_stmt = _ensure_blank_before(nsid_stmt, 1)
        if at < len(body):
            body[at] = _ensure_blank_before(body[at], _blanks_for(body[at]))
        body.insert(at, nsid_stmt)

    # Imports: what the new signature needs, minus what only the old one used.
    merged = module.with_changes(body=body)
    used_before = _names_in(module)
    used_after = _names_in(merged)
    wanted_imports = [
        imp for imp in stub.imports if imp.bound in used_after and imp.bound not in bound
    ]
    stub_bound = {imp.bound for imp in stub.imports}
    unused = (used_before - used_after) - stub_bound
    if unused:
        body = _strip_imports(body, unused)
    if wanted_imports:
        body = add_imports(body, block_start, wanted_imports, first_party=stub.first_party)
    # An empty file has no trailing newline to keep; give the new content one.
    newline = module.has_trailing_newline or not existing_source.strip()
    merged = module.with_changes(body=body, has_trailing_newline=newline)
    return MergeResult(merged.code, tuple(warnings))

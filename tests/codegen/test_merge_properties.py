"""Hypothesis properties of the handler merge.

* Whatever the author wrote in the body of ``handle`` (any statements, comments, blank
  lines, odd indentation inside brackets, multi-line strings) survives a merge byte for
  byte, as does every other top-level statement the merge does not manage.
* Merging is idempotent.
* A pristine stub merged with the stub of a changed lexicon (same method and kind)
  becomes exactly that new stub, imports included.
"""

from __future__ import annotations

import libcst as cst
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.codegen.merge import HandlerSpec, TypeRef, merge_handler, render_handler
from lexforge.codegen.merge.spec import HandlerKind

MODELS = "lexforge.generated.models.com.example.thing.do_thing"
NSID = "com.example.thing.doThing"

# --- random handler specs ---------------------------------------------------------------

descriptions = st.none() | st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300
)
body_types = st.sampled_from(
    [
        None,
        TypeRef("bytes"),
        TypeRef("Input", MODELS),
        TypeRef("Output", MODELS),
        TypeRef("RecordView", "lexforge.generated.models.com.example.defs"),
    ]
)


@st.composite
def specs(draw: st.DrawFn, kind: HandlerKind | None = None) -> HandlerSpec:
    kind = kind or draw(st.sampled_from(["query", "procedure", "subscription"]))
    params = TypeRef("Params", MODELS) if draw(st.booleans()) else None
    return HandlerSpec(
        nsid=NSID,
        kind=kind,
        module_parts=("com", "example", "thing", "do_thing"),
        models_module=MODELS,
        params=params,
        input=draw(body_types) if kind == "procedure" else None,
        output=draw(body_types) if kind != "subscription" else None,
        message=TypeRef("Message", MODELS) if kind == "subscription" else None,
        description=draw(descriptions),
        document_description=draw(descriptions),
        errors=tuple(draw(st.lists(st.sampled_from(["BadError", "GoneError"]), unique=True))),
    )


# --- random function bodies ---------------------------------------------------------------

NAMES = st.sampled_from(
    ["x", "total", "record", "ctx", "params", "input", "do_thing", "MethodNotImplemented", "_h"]
)
comment_text = st.text(
    st.characters(
        codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp"), exclude_characters="\x85"
    ),
    max_size=30,
)
strings = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20).map(repr)


def _expressions() -> st.SearchStrategy[str]:
    leaves = st.one_of(
        NAMES,
        st.integers(-(2**70), 2**70).map(str),
        strings,
        NAMES.map(lambda n: f"{n}.attr"),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.tuples(NAMES, st.lists(inner, max_size=3)).map(
                lambda t: f"{t[0]}({', '.join(t[1])})"
            ),
            st.tuples(inner, st.sampled_from(["+", "-", "*", " and ", " or ", " < "]), inner).map(
                lambda t: f"({t[0]}{t[1]}{t[2]})"
            ),
            st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
            inner.map(lambda e: f"(await ({e}))"),
            # A bracketed expression over several lines with odd continuation indents.
            st.tuples(inner, inner, st.integers(0, 9)).map(
                lambda t: f"(\n{' ' * t[2]}{t[0]}\n  , {t[1]}\n)"
            ),
        ),
        max_leaves=6,
    )


EXPR = _expressions()


@st.composite
def blocks(draw: st.DrawFn, depth: int, unit: str, level: int) -> list[str]:
    """Lines of a block at ``level`` (at least one statement)."""
    pad = unit * level
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        choice = draw(st.integers(0, 13 if depth > 0 else 7))
        trailing = draw(st.none() | comment_text)
        tail = f"  # {trailing}" if trailing is not None else ""
        if choice == 0:
            lines.append(f"{pad}{draw(NAMES)} = {draw(EXPR)}{tail}")
        elif choice == 1:
            lines.append(f"{pad}{draw(EXPR)}{tail}")
        elif choice == 2:
            lines.append(f"{pad}# {draw(comment_text)}")
            lines.append(f"{pad}pass")
        elif choice == 3:
            lines.append("")
            lines.append(f"{pad}return {draw(EXPR)}{tail}")
        elif choice == 4:
            lines.append(f"{pad}raise MethodNotImplemented(){tail}")
        elif choice == 5:
            lines.append(f"{pad}a = 1; b = {draw(EXPR)}{tail}")
        elif choice == 6:
            # A multi-line string whose inner lines start at column 0.
            lines.append(f'{pad}s = """first\nsecond {draw(comment_text)!r}\n"""{tail}')
        elif choice == 7:
            lines.append(f"{pad}yield {draw(EXPR)}{tail}")
        elif choice == 8:
            lines.append(f"{pad}if {draw(EXPR)}:{tail}")
            lines += draw(blocks(depth - 1, unit, level + 1))
            if draw(st.booleans()):
                lines.append(f"{pad}else:")
                lines += draw(blocks(depth - 1, unit, level + 1))
        elif choice == 9:
            lines.append(f"{pad}for {draw(NAMES)} in {draw(EXPR)}:")
            lines += draw(blocks(depth - 1, unit, level + 1))
        elif choice == 10:
            lines.append(f"{pad}try:")
            lines += draw(blocks(depth - 1, unit, level + 1))
            lines.append(f"{pad}except Exception as exc:  # {draw(comment_text)}")
            lines += draw(blocks(depth - 1, unit, level + 1))
        elif choice == 11:
            lines.append(f"{pad}async with {draw(EXPR)} as {draw(NAMES)}:")
            lines += draw(blocks(depth - 1, unit, level + 1))
        elif choice == 12:
            lines.append(f"{pad}@{draw(NAMES)}")
            lines.append(f"{pad}def {draw(NAMES)}(*args, **kwargs):")
            lines += draw(blocks(depth - 1, unit, level + 1))
        else:
            lines.append(f"{pad}while {draw(EXPR)}:")
            lines += draw(blocks(depth - 1, unit, level + 1))
    return lines


@st.composite
def handler_modules(draw: st.DrawFn) -> tuple[str, HandlerSpec]:
    """An author's handler module (random body, random old signature) and a new spec."""
    old = draw(specs())
    new = draw(specs())
    unit = draw(st.sampled_from(["    ", "  ", "        ", "\t"]))
    body = draw(blocks(2, unit, 1))
    stub_lines = render_handler(old).splitlines()
    start = next(i for i, line in enumerate(stub_lines) if line.startswith("async def handle"))
    end = next(i for i in range(start, len(stub_lines)) if stub_lines[i].endswith(":"))
    header = "\n".join(stub_lines[: end + 1])
    docstring = draw(st.sampled_from(["", f'{unit}"""An old docstring."""\n']))
    extra_top = draw(st.sampled_from(["", "import os  # the author's\n\nLIMIT = 3\n\n\n"]))
    header = header.replace("\n__all__", f"\n{extra_top}__all__", 1) if extra_top else header
    decorator = draw(st.sampled_from(["", "@my_decorator(level=2)\n"]))
    header = header.replace("\nasync def handle", f"\n{decorator}async def handle", 1)
    helper = "\n\n\ndef helper() -> int:\n    # helper comment\n    return LIMIT\n"
    source = f"{header}\n{docstring}" + "\n".join(body) + "\n" + helper
    return source, new


def _handle(module: cst.Module) -> cst.FunctionDef:
    return next(
        s for s in module.body if isinstance(s, cst.FunctionDef) and s.name.value == "handle"
    )


def _kept_body(module: cst.Module) -> str:
    """The body of ``handle`` after its docstring, as text."""
    fn = _handle(module)
    assert isinstance(fn.body, cst.IndentedBlock)
    statements = list(fn.body.body)
    if statements and _is_docstring(statements[0]):
        statements = statements[1:]
    block = fn.body.with_changes(body=statements)
    return module.code_for_node(block.with_changes(header=cst.TrailingWhitespace()))


def _is_docstring(stmt: cst.BaseStatement) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, cst.SimpleString)
    )


def _unmanaged(module: cst.Module) -> list[str]:
    """Top-level statements the merge never touches (not docstring, imports, handle)."""
    out = []
    for i, stmt in enumerate(module.body):
        if i == 0 and _is_docstring(stmt):
            continue
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == "handle":
            out.append("".join(module.code_for_node(d) for d in stmt.decorators))
            continue
        if isinstance(stmt, cst.SimpleStatementLine) and isinstance(
            stmt.body[0], cst.Import | cst.ImportFrom
        ):
            continue
        out.append(module.code_for_node(stmt.with_changes(leading_lines=())))
    return out


@settings(max_examples=200, deadline=None)
@given(handler_modules())
def test_random_bodies_survive_merging(case: tuple[str, HandlerSpec]) -> None:
    source, new = case
    before = cst.parse_module(source)
    stub = render_handler(new)
    merged = merge_handler(source, stub)
    after = cst.parse_module(merged.source)
    assert _kept_body(after) == _kept_body(before)
    assert _unmanaged(after) == _unmanaged(before)
    # The signature now is the stub's.
    stub_fn, merged_fn = _handle(cst.parse_module(stub)), _handle(after)
    assert after.code_for_node(merged_fn.params) == after.code_for_node(stub_fn.params)
    assert merged_fn.returns is not None
    assert stub_fn.returns is not None
    assert after.code_for_node(merged_fn.returns.annotation) == after.code_for_node(
        stub_fn.returns.annotation
    )
    # Idempotent.
    assert merge_handler(merged.source, stub).source == merged.source
    # Comments anywhere in the author's module are all still there.
    assert _comments(before) - _comments(cst.parse_module(stub)) <= _comments(after)


def _comments(module: cst.Module) -> set[str]:
    found: set[str] = set()

    class _Visitor(cst.CSTVisitor):
        def visit_Comment(self, node: cst.Comment) -> None:
            found.add(node.value)

    module.visit(_Visitor())
    return found


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_pristine_stub_becomes_the_new_stub(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(["query", "procedure", "subscription"]))
    old = data.draw(specs(kind))
    new = data.draw(specs(kind))
    merged = merge_handler(render_handler(old), render_handler(new))
    assert merged.source == render_handler(new)
    assert merged.warnings == ()


@settings(max_examples=200, deadline=None)
@given(specs())
def test_rendered_stub_is_valid_and_stable(spec: HandlerSpec) -> None:
    source = render_handler(spec)
    assert source == render_handler(spec)
    compile(source, "<stub>", "exec")
    assert source.endswith("\n")
    assert not source.endswith("\n\n")
    assert all(len(line) <= 100 or " " not in line.strip() for line in source.splitlines())
    assert merge_handler(source, source).source == source

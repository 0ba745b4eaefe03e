"""The stub renderer: docstrings, signatures, and ruff-cleanliness over every method."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from lexforge.codegen.merge import HandlerSpec, TypeRef, render_handler
from lexforge.codegen.merge.render import docstring_literal
from lexforge.codegen.merge.spec import handler_spec_from_endpoint
from lexforge.codegen.pipeline import compile_lexicons, official_lexicons_dir

ROOT = Path(__file__).resolve().parents[2]
M = "lexforge.generated.models.com.example.thing.get_thing"


def _value(literal: str) -> str:
    node = ast.parse(literal).body[0]
    assert isinstance(node, ast.Expr)
    assert isinstance(node.value, ast.Constant)
    assert isinstance(node.value.value, str)
    return node.value.value


TRICKY = [
    "Plain.",
    'Ends with a quote: "x"',
    'Has """ triple quotes """ inside',
    "Back\\slash and \\n escapes",
    "A \x00 NUL, a \x1b escape, a \u2028 separator and \ud800 half a surrogate",
    "Tabs\tinside\tand trailing spaces   ",
    "x" * 250,
    "word " * 60,
    "First paragraph.\n\n\n\nSecond paragraph after many blank lines.",
    "A list:\n  - first item that is long enough to need wrapping " + "y " * 50 + "\n  - second",
    "Windows\r\nline\rendings",
    "https://example.com/" + "a" * 120 + " is a long URL",
    "Ünïcödé ✓ 日本語 " * 10,
    '"Quoted start and end"',
    "\\",
    "   leading and trailing whitespace   ",
]


@pytest.mark.parametrize("text", TRICKY)
@pytest.mark.parametrize("indent", [0, 4])
def test_docstring_literal_is_valid_and_keeps_the_words(text: str, indent: int) -> None:
    literal = docstring_literal(text, indent=indent)
    value = _value(literal)
    # Words survive (wrapping only changes whitespace; control characters are escaped).
    cleaned = text.replace("\r", "\n")
    visible = [w for w in cleaned.split() if w.isprintable() and "\\" not in w]
    assert [w for w in value.split() if w in visible] == visible
    # The first line follows the indentation; continuation lines carry their own.
    for i, line in enumerate(literal.splitlines()):
        assert (0 if i else indent) + len(line) <= 100 or " " not in line.strip()


def test_docstring_literal_layout() -> None:
    assert docstring_literal("Short.", indent=4) == '"""Short."""'
    assert docstring_literal('Say "hi"', indent=0) == '"""Say "hi\\""""'
    long = docstring_literal("word " * 30, indent=4)
    assert long.startswith('"""word')
    assert long.endswith('\n    """')
    assert _value(long).split() == ["word"] * 30


def _spec(**changes: object) -> HandlerSpec:
    fields: dict[str, object] = {
        "nsid": "com.example.thing.getThing",
        "kind": "query",
        "module_parts": ("com", "example", "thing", "get_thing"),
        "models_module": M,
    }
    fields.update(changes)
    return HandlerSpec(**fields)  # type: ignore[arg-type]


def test_signature_variants() -> None:
    assert "async def handle(ctx: XrpcContext) -> None:" in render_handler(_spec())
    proc = render_handler(
        _spec(kind="procedure", params=TypeRef("Params", M), input=TypeRef("bytes"))
    )
    assert (
        "async def handle(ctx: XrpcContext, params: get_thing.Params, input: bytes) -> None:"
        in (proc)
    )
    other = render_handler(_spec(output=TypeRef("View", "lexforge.generated.models.x.defs")))
    assert "from lexforge.generated.models.x.defs import View" in other
    assert "-> View:" in other
    # The models module is not imported when the signature does not use it.
    assert "import get_thing" not in render_handler(_spec())


def test_models_module_named_like_a_handler_name_is_aliased() -> None:
    m = "mypkg.models.com.example.handle"
    spec = HandlerSpec(
        nsid="com.example.handle",
        kind="query",
        module_parts=("com", "example", "handle"),
        models_module=m,
        output=TypeRef("Output", m),
    )
    source = render_handler(spec)
    assert "from mypkg.models.com.example import handle as handle_models" in source
    assert "-> handle_models.Output:" in source
    # A user's models package is its own isort section after lexforge.
    assert source.index("from lexforge.runtime.xrpc") < source.index("from mypkg.models")


@pytest.mark.parametrize(
    "changes",
    [
        {"module_parts": ()},
        {"module_parts": ("com", "class")},
        {"models_module": "not a module"},
        {"kind": "subscription"},
        {"kind": "query", "input": TypeRef("bytes")},
        {"kind": "query", "message": TypeRef("Message", M)},
        {"kind": "subscription", "message": TypeRef("Message", M), "output": TypeRef("bytes")},
    ],
)
def test_inconsistent_specs_are_rejected(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        _spec(**changes)


def test_type_ref_rejects_non_identifiers() -> None:
    with pytest.raises(ValueError, match="identifier"):
        TypeRef("not valid")
    with pytest.raises(ValueError, match="module"):
        TypeRef("X", "a..b")


def test_stubs_for_every_official_method_are_ruff_clean(tmp_path: Path) -> None:
    """Render the handler of every query, procedure and subscription in the official
    set (real descriptions, real names) and run ruff check and ruff format on them."""
    result = compile_lexicons([official_lexicons_dir()])
    assert result.ok, result.diagnostics[:3]
    descriptions = {m.nsid: m.description for m in result.program.modules}
    endpoints = result.program.endpoints
    assert len(endpoints) > 200
    kinds = set()
    for endpoint in endpoints:
        spec = handler_spec_from_endpoint(
            endpoint, document_description=descriptions[endpoint.nsid]
        )
        kinds.add(spec.kind)
        path = tmp_path.joinpath(*spec.relative_path.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_handler(spec), encoding="utf-8")
    assert kinds == {"query", "procedure", "subscription"}
    config = ["--config", str(ROOT / "pyproject.toml")]
    for args in (["check", "--no-cache"], ["format", "--check", "--no-cache"]):
        proc = subprocess.run(
            [sys.executable, "-m", "ruff", *args, *config, str(tmp_path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]

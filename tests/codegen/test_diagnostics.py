"""Invalid lexicons give diagnostics with stable codes, file, NSID and field path; a bad
document drops only itself and what depends on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lexforge.codegen.diagnostics import CODES, CodegenError, Diagnostic
from lexforge.codegen.lexicon import parse_document
from lexforge.codegen.pipeline import compile_lexicons


def doc(defs: dict[str, Any], nsid: str = "com.example.test", **top: Any) -> dict[str, Any]:
    return {"lexicon": 1, "id": nsid, "defs": defs, **top}


def obj(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def codes(raw: object) -> set[str]:
    parsed, diagnostics = parse_document(raw, "x.json")
    found = {d.code for d in diagnostics if d.severity == "error"}
    assert (parsed is None) == bool(found)
    return found


INVALID: list[tuple[str, object, str]] = [
    ("not an object", [1], "invalid-lexicon"),
    ("lexicon as string", {**doc({"main": obj()}), "lexicon": "one"}, "invalid-lexicon"),
    ("lexicon 2", {**doc({"main": obj()}), "lexicon": 2}, "unsupported-lexicon-version"),
    ("missing lexicon", {"id": "com.example.x", "defs": {"main": obj()}}, "invalid-lexicon"),
    ("id not a string", {**doc({"main": obj()}), "id": 2}, "invalid-nsid"),
    ("id not an nsid", doc({"main": obj()}, nsid="one-two-three"), "invalid-nsid"),
    ("no defs", doc({}), "invalid-lexicon"),
    (
        "non-main record",
        doc({"thing": {"type": "record", "key": "tid", "record": obj()}}),
        "non-main-primary",
    ),
    ("non-main query", doc({"q": {"type": "query"}}), "non-main-primary"),
    ("defined ref", doc({"main": {"type": "ref", "ref": "#x"}}), "invalid-def-type"),
    ("defined union", doc({"u": {"type": "union", "refs": []}}), "invalid-def-type"),
    ("defined unknown", doc({"main": {"type": "unknown"}}), "invalid-def-type"),
    ("defined params", doc({"p": {"type": "params", "properties": {}}}), "invalid-def-type"),
    ("removed null type", doc({"n": {"type": "null"}}), "invalid-def-type"),
    (
        "record without object",
        doc({"main": {"type": "record", "key": "tid", "record": {"type": "string"}}}),
        "invalid-field",
    ),
    ("record without key", doc({"main": {"type": "record", "record": obj()}}), "invalid-field"),
    (
        "bad record key type",
        doc({"main": {"type": "record", "key": "uuid", "record": obj()}}),
        "invalid-field",
    ),
    (
        "bad literal key",
        doc({"main": {"type": "record", "key": "literal:a/b", "record": obj()}}),
        "invalid-field",
    ),
    ("object without properties", doc({"main": {"type": "object"}}), "invalid-field"),
    (
        "required not defined",
        doc({"main": {**obj(a={"type": "string"}), "required": ["b"]}}),
        "required-not-defined",
    ),
    ("unknown field type", doc({"main": obj(a={"type": "float"})}), "invalid-field"),
    ("float in schema", doc({"main": obj(a={"type": "integer", "maximum": 1.5})}), "invalid-field"),
    (
        "min above max",
        doc({"main": obj(a={"type": "integer", "minimum": 5, "maximum": 1})}),
        "invalid-field",
    ),
    ("negative length", doc({"main": obj(a={"type": "string", "maxLength": -1})}), "invalid-field"),
    (
        "const and default",
        doc({"main": obj(a={"type": "boolean", "const": True, "default": True})}),
        "invalid-field",
    ),
    (
        "default above max",
        doc({"main": obj(a={"type": "integer", "maximum": 5, "default": 6})}),
        "invalid-default",
    ),
    (
        "default not in enum",
        doc({"main": obj(a={"type": "string", "enum": ["x"], "default": "y"})}),
        "invalid-default",
    ),
    (
        "default too many graphemes",
        doc({"main": obj(a={"type": "string", "maxGraphemes": 1, "default": "ab"})}),
        "invalid-default",
    ),
    (
        "default wrong type",
        doc({"main": obj(a={"type": "integer", "default": "5"})}),
        "invalid-field",
    ),
    (
        "unknown format",
        doc({"main": obj(a={"type": "string", "format": "email"})}),
        "invalid-field",
    ),
    (
        "bad mime pattern",
        doc({"main": obj(a={"type": "blob", "accept": ["image/ht*"]})}),
        "invalid-field",
    ),
    ("bare star mime", doc({"main": obj(a={"type": "blob", "accept": ["*"]})}), "invalid-field"),
    ("array without items", doc({"main": obj(a={"type": "array"})}), "invalid-field"),
    (
        "array of arrays",
        doc(
            {
                "main": obj(
                    a={"type": "array", "items": {"type": "array", "items": {"type": "string"}}}
                )
            }
        ),
        "invalid-field",
    ),
    (
        "ref with two hashes",
        doc({"main": obj(a={"type": "ref", "ref": "a.b.c#d#e"})}),
        "invalid-ref",
    ),
    ("ref to bad nsid", doc({"main": obj(a={"type": "ref", "ref": "nope#x"})}), "invalid-ref"),
    ("empty ref name", doc({"main": obj(a={"type": "ref", "ref": "#"})}), "invalid-ref"),
    (
        "closed empty union",
        doc({"main": obj(a={"type": "union", "refs": [], "closed": True})}),
        "union-empty",
    ),
    (
        "union refs not strings",
        doc({"main": obj(a={"type": "union", "refs": [1]})}),
        "invalid-field",
    ),
    (
        "params with object",
        doc(
            {
                "main": {
                    "type": "query",
                    "parameters": {"type": "params", "properties": {"a": obj()}},
                }
            }
        ),
        "invalid-field",
    ),
    ("params wrong type", doc({"main": {"type": "query", "parameters": obj()}}), "invalid-field"),
    (
        "body without encoding",
        doc({"main": {"type": "query", "output": {"schema": obj()}}}),
        "invalid-field",
    ),
    (
        "body schema string",
        doc(
            {
                "main": {
                    "type": "procedure",
                    "input": {"encoding": "application/json", "schema": {"type": "string"}},
                }
            }
        ),
        "invalid-field",
    ),
    (
        "error name with space",
        doc({"main": {"type": "query", "errors": [{"name": "Bad Thing"}]}}),
        "invalid-field",
    ),
    ("subscription without message", doc({"main": {"type": "subscription"}}), "invalid-field"),
    (
        "subscription object message",
        doc({"main": {"type": "subscription", "message": {"schema": obj()}}}),
        "invalid-field",
    ),
    (
        "permission set without permissions",
        doc({"main": {"type": "permission-set"}}),
        "invalid-permission",
    ),
    (
        "repo permission wildcard",
        doc(
            {
                "main": {
                    "type": "permission-set",
                    "permissions": [
                        {"type": "permission", "resource": "repo", "collection": ["app.example.*"]}
                    ],
                }
            }
        ),
        "invalid-permission",
    ),
    (
        "repo permission bad action",
        doc(
            {
                "main": {
                    "type": "permission-set",
                    "permissions": [
                        {
                            "type": "permission",
                            "resource": "repo",
                            "collection": ["app.example.post"],
                            "action": ["read"],
                        }
                    ],
                }
            }
        ),
        "invalid-permission",
    ),
    (
        "rpc permission concrete aud",
        doc(
            {
                "main": {
                    "type": "permission-set",
                    "permissions": [
                        {
                            "type": "permission",
                            "resource": "rpc",
                            "lxm": ["app.example.get"],
                            "aud": "did:web:x.com",
                        }
                    ],
                }
            }
        ),
        "invalid-permission",
    ),
    (
        "rpc permission no aud",
        doc(
            {
                "main": {
                    "type": "permission-set",
                    "permissions": [
                        {"type": "permission", "resource": "rpc", "lxm": ["app.example.get"]}
                    ],
                }
            }
        ),
        "invalid-permission",
    ),
    (
        "rpc permission both",
        doc(
            {
                "main": {
                    "type": "permission-set",
                    "permissions": [
                        {
                            "type": "permission",
                            "resource": "rpc",
                            "lxm": ["app.example.get"],
                            "aud": "*",
                            "inheritAud": True,
                        }
                    ],
                }
            }
        ),
        "invalid-permission",
    ),
]


@pytest.mark.parametrize(
    ("raw", "code"), [(r, c) for _, r, c in INVALID], ids=[n for n, _, _ in INVALID]
)
def test_invalid_documents(raw: object, code: str) -> None:
    assert code in CODES
    assert code in codes(raw)


VALID: list[tuple[str, object]] = [
    ("main token", doc({"main": {"type": "token"}})),
    ("defs without main", doc({"a": obj(), "b": {"type": "string", "knownValues": ["x"]}})),
    ("revision and unknown top key", {**doc({"main": obj()}), "revision": 3, "$schema": "x"}),
    ("open empty union", doc({"main": obj(a={"type": "union", "refs": []})})),
    (
        "comma encoding",
        doc({"main": {"type": "procedure", "input": {"encoding": "image/png, image/jpeg"}}}),
    ),
    ("literal key", doc({"main": {"type": "record", "key": "literal:self", "record": obj()}})),
    ("nsid key", doc({"main": {"type": "record", "key": "nsid", "record": obj()}})),
    (
        "permission set",
        doc(
            {
                "main": {
                    "type": "permission-set",
                    "title": "T",
                    "title:lang": {"ja": "t"},
                    "detail": "d",
                    "permissions": [
                        {
                            "type": "permission",
                            "resource": "repo",
                            "collection": ["app.example.post"],
                            "action": ["create"],
                        },
                        {
                            "type": "permission",
                            "resource": "rpc",
                            "lxm": ["app.example.get"],
                            "aud": "*",
                        },
                        {
                            "type": "permission",
                            "resource": "rpc",
                            "lxm": ["app.example.get"],
                            "inheritAud": True,
                        },
                    ],
                }
            }
        ),
    ),
]


@pytest.mark.parametrize("raw", [r for _, r in VALID], ids=[n for n, _ in VALID])
def test_valid_documents(raw: object) -> None:
    assert codes(raw) == set()


def test_unknown_keys_and_disallowed_permissions_are_warnings() -> None:
    raw = doc(
        {
            "main": {
                "type": "permission-set",
                "permissions": [
                    {"type": "permission", "resource": "blob", "accept": ["*/*"]},
                    {"type": "permission", "resource": "teleport"},
                ],
            },
            "x": obj(a={"type": "string", "maxLenght": 3}),
        }
    )
    parsed, diagnostics = parse_document(raw, "x.json")
    assert parsed is not None
    assert {(d.code, d.severity) for d in diagnostics} == {
        ("invalid-permission", "warning"),
        ("invalid-field", "warning"),
    }
    perms = parsed.defs["main"]
    assert perms.permissions == ()  # type: ignore[union-attr]


def test_diagnostic_carries_location() -> None:
    raw = doc({"main": obj(a={"type": "integer", "minimum": 5, "maximum": 1})})
    _, diagnostics = parse_document(raw, "lexicons/com/example/test.json")
    (d,) = diagnostics
    assert (d.path, d.nsid, d.def_name, d.field_path) == (
        "lexicons/com/example/test.json",
        "com.example.test",
        "main",
        "properties/a",
    )
    assert str(d).startswith(
        "lexicons/com/example/test.json: com.example.test#main/properties/a: error[invalid-field]"
    )
    assert d.to_json()["code"] == "invalid-field"


# --- whole-set behaviour -------------------------------------------------------------------------


def write(root: Path, nsid: str, raw: object) -> Path:
    path = root.joinpath(*nsid.split(".")).with_suffix(".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(raw if isinstance(raw, str) else json.dumps(raw, indent=2), encoding="utf-8")
    return path


def diagnostics_by_nsid(found: list[Diagnostic]) -> dict[str | None, set[str]]:
    out: dict[str | None, set[str]] = {}
    for d in found:
        out.setdefault(d.nsid, set()).add(d.code)
    return out


def test_bad_document_drops_only_itself_and_dependants(tmp_path: Path) -> None:
    write(
        tmp_path, "com.example.bad", doc({"main": obj(a={"type": "float"})}, nsid="com.example.bad")
    )
    write(
        tmp_path,
        "com.example.user",
        doc({"main": obj(b={"type": "ref", "ref": "com.example.bad"})}, nsid="com.example.user"),
    )
    write(
        tmp_path,
        "com.example.chain",
        doc({"main": obj(c={"type": "ref", "ref": "com.example.user"})}, nsid="com.example.chain"),
    )
    write(
        tmp_path,
        "com.example.fine",
        doc({"main": obj(d={"type": "string"})}, nsid="com.example.fine"),
    )
    result = compile_lexicons([tmp_path], package="pkg")
    assert [m.nsid for m in result.program.modules] == ["com.example.fine"]
    found = diagnostics_by_nsid(result.diagnostics)
    assert found["com.example.bad"] == {"invalid-field"}
    assert found["com.example.user"] == {"dependency-failed"}
    assert found["com.example.chain"] == {"dependency-failed"}
    assert "com.example.fine" not in found
    with pytest.raises(CodegenError) as info:
        result.raise_for_errors()
    assert "invalid-field" in str(info.value)


def test_unresolved_and_bad_targets(tmp_path: Path) -> None:
    write(
        tmp_path,
        "com.example.a",
        doc(
            {
                "main": obj(
                    missingDoc={"type": "ref", "ref": "com.example.nothere"},
                ),
            },
            nsid="com.example.a",
        ),
    )
    write(
        tmp_path,
        "com.example.b",
        doc(
            {
                "main": obj(missingDef={"type": "ref", "ref": "#nothere"}),
            },
            nsid="com.example.b",
        ),
    )
    write(
        tmp_path,
        "com.example.c",
        doc(
            {
                "tok": {"type": "token"},
                "main": obj(t={"type": "ref", "ref": "#tok"}),
            },
            nsid="com.example.c",
        ),
    )
    write(
        tmp_path,
        "com.example.d",
        doc(
            {
                "str": {"type": "string"},
                "main": obj(u={"type": "union", "refs": ["#str"]}),
            },
            nsid="com.example.d",
        ),
    )
    write(
        tmp_path,
        "com.example.e",
        doc(
            {
                "main": obj(q={"type": "ref", "ref": "com.example.q"}),
            },
            nsid="com.example.e",
        ),
    )
    write(tmp_path, "com.example.q", doc({"main": {"type": "query"}}, nsid="com.example.q"))
    result = compile_lexicons([tmp_path], package="pkg")
    found = diagnostics_by_nsid(result.diagnostics)
    assert found["com.example.a"] == {"unresolved-ref"}
    assert found["com.example.b"] == {"unresolved-ref"}
    assert found["com.example.c"] == {"bad-ref-target"}
    assert found["com.example.d"] == {"bad-ref-target"}
    assert found["com.example.e"] == {"bad-ref-target"}
    assert [m.nsid for m in result.program.modules] == ["com.example.q"]
    (d,) = [d for d in result.diagnostics if d.nsid == "com.example.a"]
    assert (d.def_name, d.field_path) == ("main", "properties/missingDoc")


def test_json_problems(tmp_path: Path) -> None:
    write(
        tmp_path,
        "com.example.dup",
        '{"lexicon": 1, "lexicon": 1, "id": "com.example.dup", "defs": {}}',
    )
    write(tmp_path, "com.example.flt", '{"lexicon": 1.0, "id": "com.example.flt", "defs": {}}')
    write(tmp_path, "com.example.broken", '{"lexicon": 1, "id": "com.example.broken",\n "defs": {')
    result = compile_lexicons([tmp_path], package="pkg")
    assert [d.code for d in result.diagnostics] == ["invalid-json"] * 3
    broken = next(d for d in result.diagnostics if "broken" in (d.path or ""))
    assert broken.line == 2


def test_duplicate_nsid_and_file_name(tmp_path: Path) -> None:
    write(tmp_path / "one", "com.example.same", doc({"main": obj()}, nsid="com.example.same"))
    write(tmp_path / "two", "com.example.other", doc({"main": obj()}, nsid="com.example.same"))
    result = compile_lexicons([tmp_path / "one", tmp_path / "two"], package="pkg")
    found = {(d.code, d.severity) for d in result.diagnostics}
    assert found == {("duplicate-nsid", "error"), ("file-name-mismatch", "warning")}
    assert [m.nsid for m in result.program.modules] == ["com.example.same"]


def test_name_collision_drops_the_document(tmp_path: Path) -> None:
    write(
        tmp_path,
        "com.example.clash",
        doc(
            {"main": obj(fooBar={"type": "string"}, foo_bar={"type": "string"})},
            nsid="com.example.clash",
        ),
    )
    write(tmp_path, "com.example.getX", doc({"main": {"type": "query"}}, nsid="com.example.getX"))
    write(tmp_path, "com.example.getx", doc({"main": {"type": "query"}}, nsid="com.example.getx"))
    write(tmp_path, "com.example.get_x", doc({"main": {"type": "query"}}, nsid="com.example.getX2"))
    result = compile_lexicons([tmp_path], package="pkg")
    found = diagnostics_by_nsid(result.diagnostics)
    assert "name-collision" in found["com.example.clash"]
    assert [m.nsid for m in result.program.modules] == [
        "com.example.getX",
        "com.example.getX2",
        "com.example.getx",
    ]


def test_module_collision(tmp_path: Path) -> None:
    write(
        tmp_path, "com.example.getFoo", doc({"main": {"type": "query"}}, nsid="com.example.getFoo")
    )
    write(
        tmp_path, "com.example.getFOO", doc({"main": {"type": "query"}}, nsid="com.example.getFOO")
    )
    write(tmp_path, "com.example.feed", doc({"main": obj()}, nsid="com.example.feed"))
    write(tmp_path, "com.example.feed.post", doc({"main": obj()}, nsid="com.example.feed.post"))
    result = compile_lexicons([tmp_path], package="pkg")
    assert {d.code for d in result.diagnostics} == {"module-collision"}
    assert len(result.program.modules) == 2


def test_official_set_is_clean() -> None:
    from tests.codegen.conftest import OFFICIAL

    result = compile_lexicons([OFFICIAL])
    assert result.diagnostics == []
    assert len(result.program.modules) == 402


def test_eager_import_cycle_is_reported(tmp_path: Path) -> None:
    for me, other in (("a", "b"), ("b", "a")):
        write(
            tmp_path,
            f"com.example.{me}",
            doc(
                {
                    "main": {
                        "type": "query",
                        "output": {
                            "encoding": "application/json",
                            "schema": {"type": "ref", "ref": f"com.example.{other}#thing"},
                        },
                    },
                    "thing": obj(x={"type": "integer"}),
                },
                nsid=f"com.example.{me}",
            ),
        )
    result = compile_lexicons([tmp_path], package="pkg")
    assert {(d.code, d.nsid) for d in result.diagnostics} == {
        ("import-cycle", "com.example.a"),
        ("import-cycle", "com.example.b"),
    }


def test_lazy_references_may_form_cycles(tmp_path: Path) -> None:
    write(
        tmp_path,
        "com.example.a",
        doc({"main": obj(b={"type": "ref", "ref": "com.example.b"})}, nsid="com.example.a"),
    )
    write(
        tmp_path,
        "com.example.b",
        doc({"main": obj(a={"type": "ref", "ref": "com.example.a"})}, nsid="com.example.b"),
    )
    assert compile_lexicons([tmp_path], package="pkg").diagnostics == []

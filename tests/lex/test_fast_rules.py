"""The fast shapes of ``lexforge.runtime.lex.formats``: each accepts only valid values,
unchanged, and Python's ``re`` and pydantic-core's Rust ``regex`` agree on every one.

The full validator checks a rule with ``re``, the fast validator with pydantic-core's
``pattern`` (Rust): both must decide the same, or the two validators would disagree.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import SchemaValidator, core_schema

from lexforge.runtime import syntax
from lexforge.runtime.lex.formats import FAST_RULES, FastRule
from lexforge.runtime.syntax._base import SyntaxStr

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "syntax"
PREFIXES = {
    syntax.AtIdentifier: "atidentifier",
    syntax.AtUri: "aturi",
    syntax.CidString: "cid",
    syntax.Datetime: "datetime",
    syntax.Did: "did",
    syntax.Handle: "handle",
    syntax.Language: "language",
    syntax.Nsid: "nsid",
    syntax.RecordKey: "recordkey",
    syntax.Tid: "tid",
    syntax.Uri: "uri",
}
CLASSES = sorted(FAST_RULES, key=lambda c: c.__name__)

#: Values real records carry, which the fast shapes exist for.
COMMON = {
    syntax.AtIdentifier: ["did:plc:ewvi7nxzyoun6zhxrhs64oiz", "alice.bsky.social"],
    syntax.AtUri: [
        "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3kqjs5lbz7s2a",
        "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.generator/whats-hot",
        "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz",
    ],
    syntax.CidString: ["bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"],
    syntax.Datetime: [
        "2024-05-01T12:00:00.000Z",
        "2024-01-31T23:59:59Z",
        "2023-12-30T08:15:00.123456Z",
        "2024-05-01T12:00:00.000+09:00",
        "2024-05-01T12:00:00.000-07:00",
    ],
    syntax.Did: ["did:plc:ewvi7nxzyoun6zhxrhs64oiz", "did:web:example.com"],
    syntax.Handle: ["alice.bsky.social", "bob-smith.example.com"],
    syntax.Language: ["en", "ja", "pt-BR", "en-US", "zh-Hant", "es-419", "ban"],
    syntax.Nsid: ["app.bsky.feed.post", "com.atproto.repo.strongRef"],
    syntax.RecordKey: ["3kqjs5lbz7s2a", "self"],
    syntax.Tid: ["3kqjs5lbz7s2a"],
    syntax.Uri: [
        "https://example.com/a?b=c#d",
        "http://localhost:2583",
        "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3kqjs5lbz7s2a",
        "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
    ],
}


@cache
def rust(cls: type[SyntaxStr]) -> SchemaValidator:
    rule = FAST_RULES[cls]
    return SchemaValidator(
        core_schema.str_schema(
            pattern=f"^(?:{rule.pattern})$",
            min_length=rule.min_length,
            max_length=rule.max_length,
            strict=True,
        )
    )


def python_accepts(rule: FastRule, value: str) -> bool:
    return (
        rule.min_length <= len(value) <= rule.max_length
        and re.fullmatch(rule.pattern, value) is not None
    )


def full_parse(cls: type[SyntaxStr], value: str) -> str | None:
    """The full parser's value for ``value`` (as a plain ``str``), or None if invalid."""
    try:
        return str.__str__(cls.parse(value))
    except syntax.InvalidSyntaxError:
        return None


def check(cls: type[SyntaxStr], value: str) -> bool:
    """Both engines agree on ``value``; if they accept it, it is valid and unchanged."""
    accepted = rust(cls).isinstance_python(value)
    assert accepted == python_accepts(FAST_RULES[cls], value), value
    if accepted:
        assert full_parse(cls, value) == value, value
    return accepted


def vector_lines(cls: type[SyntaxStr]) -> list[str]:
    lines = []
    for path in sorted(VECTORS.glob(f"{PREFIXES[cls]}_*.txt")):
        for line in path.read_text(encoding="utf-8").split("\n"):
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_rules_on_interop_vectors(cls: type[SyntaxStr]) -> None:
    lines = vector_lines(cls)
    assert lines
    for line in lines:
        check(cls, line)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_rules_take_common_values(cls: type[SyntaxStr]) -> None:
    for value in COMMON[cls]:
        assert check(cls, value), value


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_rules_agree_and_stay_valid(cls: type[SyntaxStr], data: st.DataObject) -> None:
    """Strings of the pattern's own shape, the same cut or extended, and arbitrary text."""
    rule = FAST_RULES[cls]
    shaped = data.draw(st.from_regex(re.compile(rule.pattern), fullmatch=True))
    check(cls, shaped)
    cut = data.draw(st.integers(0, len(shaped)))
    check(cls, shaped[:cut])
    check(cls, shaped + data.draw(st.text(max_size=3)))
    check(cls, data.draw(st.text(max_size=40)))
    base = data.draw(st.sampled_from(COMMON[cls]))
    at = data.draw(st.integers(0, len(base)))
    check(cls, base[:at] + data.draw(st.characters()) + base[at + 1 :])

"""The compiler's Lexicon text checks agree with the runtime's.

``lexforge.codegen.lexicon.text`` restates the runtime's NSID, record-key, MIME-pattern
and string-length rules so ``lexforge gen`` does not import pydantic; these tests hold
the two to the same answers on the interop vectors and on generated strings.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.codegen.lexicon import text as codegen_text
from lexforge.runtime.lex import mime as runtime_mime
from lexforge.runtime.lex import text as runtime_text
from lexforge.runtime.syntax.nsid import is_valid_nsid
from lexforge.runtime.syntax.recordkey import is_valid_record_key

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "syntax"


def _vectors(name: str) -> list[str]:
    lines = (VECTORS / name).read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


@pytest.mark.parametrize("kind", ["valid", "invalid"])
def test_nsid_vectors(kind: str) -> None:
    values = _vectors(f"nsid_syntax_{kind}.txt")
    assert values
    for value in values:
        assert codegen_text.is_valid_nsid(value) is (kind == "valid"), value
        assert codegen_text.is_valid_nsid(value) is is_valid_nsid(value), value


@pytest.mark.parametrize("kind", ["valid", "invalid"])
def test_record_key_vectors(kind: str) -> None:
    values = _vectors(f"recordkey_syntax_{kind}.txt")
    assert values
    for value in values:
        assert codegen_text.is_valid_record_key(value) is (kind == "valid"), value
        assert codegen_text.is_valid_record_key(value) is is_valid_record_key(value), value


_NSID_CHARS = st.sampled_from("aZ09-.*_é ")
_KEY_CHARS = st.sampled_from("aZ09-._:~/ é")
_MIME_CHARS = st.sampled_from("aZ09/*-+.!#$&^_; é")


@settings(max_examples=500)
@given(st.text(_NSID_CHARS, max_size=20) | st.text(max_size=10))
def test_nsid_agrees(value: str) -> None:
    assert codegen_text.is_valid_nsid(value) is is_valid_nsid(value)


@settings(max_examples=300)
@given(st.integers(250, 330), st.sampled_from("ab1-."))
def test_nsid_length_limit_agrees(length: int, fill: str) -> None:
    value = "com.example." + "a" * 60 + ("." + "b" * 60) * 4
    value = (value + fill * length)[:length].rstrip(".-") + ".x"
    assert codegen_text.is_valid_nsid(value) is is_valid_nsid(value)


@settings(max_examples=500)
@given(st.text(_KEY_CHARS, max_size=6) | st.sampled_from([".", "..", "a" * 512, "a" * 513]))
def test_record_key_agrees(value: str) -> None:
    assert codegen_text.is_valid_record_key(value) is is_valid_record_key(value)


@settings(max_examples=500)
@given(st.text(_MIME_CHARS, max_size=14))
def test_mime_pattern_agrees(value: str) -> None:
    assert codegen_text.is_valid_mime_pattern(value) is runtime_mime.is_valid_mime_pattern(value)


@settings(max_examples=300)
@given(st.text(max_size=12) | st.sampled_from(["\r\n", "👨‍👩‍👧", "e\u0301", "\ud800x"]))
def test_string_measures_agree(value: str) -> None:
    assert codegen_text.utf8_len(value) == runtime_text.utf8_len(value)
    assert codegen_text.count_graphemes(value) == runtime_text.count_graphemes(value)


def test_non_strings_are_not_identifiers() -> None:
    for value in (None, 3, b"com.example.foo", ["a"]):
        assert not codegen_text.is_valid_nsid(value)
        assert not codegen_text.is_valid_record_key(value)

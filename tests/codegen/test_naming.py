"""Naming vectors: the one module that makes Python names."""

from __future__ import annotations

import keyword

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.codegen.naming import (
    RESERVED_FIELD_NAMES,
    error_class_name,
    field_name,
    module_alias,
    module_parts,
    pascal_case,
    snake_case,
    upper_snake,
)


@pytest.mark.parametrize(
    ("nsid", "parts"),
    [
        ("app.bsky.feed.getTimeline", ("app", "bsky", "feed", "get_timeline")),
        ("com.atproto.repo.strongRef", ("com", "atproto", "repo", "strong_ref")),
        ("com.atproto.identity.resolveDID", ("com", "atproto", "identity", "resolve_did")),
        ("app.bsky.unspecced.searchPostsV2", ("app", "bsky", "unspecced", "search_posts_v2")),
        ("uk.ac.school.lab.COOL.project", ("uk", "ac", "school", "lab", "cool", "project")),
        ("com.example-site.my-app.getX", ("com", "example_site", "my_app", "get_x")),
        ("com.3com.thing.get", ("com", "_3com", "thing", "get")),
        ("com.example.class.import", ("com", "example", "class_", "import_")),
    ],
)
def test_module_parts(nsid: str, parts: tuple[str, ...]) -> None:
    assert module_parts(nsid) == parts
    assert all(p.isidentifier() and not keyword.iskeyword(p) for p in parts)


def test_module_alias() -> None:
    assert module_alias(("app", "bsky", "feed", "defs")) == "app_bsky_feed_defs"
    assert module_alias(("com", "_3com", "x")) == "com_3com_x"


@pytest.mark.parametrize(
    ("wire", "name"),
    [
        ("createdAt", "created_at"),
        ("$type", "py_type"),
        ("pyType", "py_type_"),
        ("from", "from_"),
        ("validate", "validate_"),
        ("schema", "schema_"),
        ("json", "json_"),
        ("modelConfig", "model_config_"),
        ("list", "list_"),
        ("str", "str_"),
        ("id", "id"),
        ("type", "type"),
        ("cid-link", "cid_link"),
        ("_private", "private_"),
        ("__proto__", "proto_"),
        ("9lives", "f_9lives"),
        ("XMLHttpRequest", "xml_http_request"),
        ("byteStart", "byte_start"),
        ("did", "did"),
        ("$", "field_"),
    ],
)
def test_field_name(wire: str, name: str) -> None:
    assert field_name(wire) == name


@given(st.text(min_size=1, max_size=30))
@settings(max_examples=300)
def test_field_names_are_always_safe_identifiers(wire: str) -> None:
    name = field_name(wire)
    assert name.isidentifier()
    assert name.isascii()
    assert not keyword.iskeyword(name)
    assert not name.startswith("_")
    assert name not in RESERVED_FIELD_NAMES or wire == "$type"


@pytest.mark.parametrize(
    ("name", "pascal", "upper"),
    [
        ("replyRef", "ReplyRef", "REPLY_REF"),
        ("postView", "PostView", "POST_VIEW"),
        ("requestLess", "RequestLess", "REQUEST_LESS"),
        ("foo_bar", "FooBar", "FOO_BAR"),
        ("foo-bar", "FooBar", "FOO_BAR"),
        ("labelerV2", "LabelerV2", "LABELER_V2"),
        ("main", "Main", "MAIN"),
    ],
)
def test_class_and_constant_names(name: str, pascal: str, upper: str) -> None:
    assert pascal_case(name) == pascal
    assert upper_snake(name) == upper


def test_snake_case() -> None:
    assert snake_case("getDIDDocument") == "get_did_document"
    assert snake_case("HTTPServer") == "http_server"


def test_error_class_names() -> None:
    assert error_class_name("RecordNotFound") == "RecordNotFoundError"
    assert error_class_name("InternalError") == "InternalError"
    assert error_class_name("invalid-swap") == "InvalidSwapError"

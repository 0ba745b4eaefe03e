"""The fast JSON data-value schema (``lexforge.runtime.lex.datamodel``) against
``from_json``: whatever the fast schema accepts, ``from_json`` accepts with the same
value (links as CIDs, bytes as bytes, the same maps and lists), at every nesting depth."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import SchemaValidator, ValidationError, core_schema

from lexforge.runtime.data import CID
from lexforge.runtime.data.cbor_limits import MAX_DEPTH
from lexforge.runtime.data.errors import DataModelError
from lexforge.runtime.data.json import from_json
from lexforge.runtime.lex import datamodel

CID_TEXT = "bafyreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"
BLOB = {
    "$type": "blob",
    "ref": {"$link": "bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"},
    "mimeType": "image/png",
    "size": 10,
}

FAST = SchemaValidator(
    core_schema.definitions_schema(
        core_schema.definition_reference_schema(datamodel.DATA_VALUE_REF),
        list(datamodel.data_value_definitions()),
    )
)


def typed(value: Any) -> Any:
    """``value`` with the type of every node next to it (``==`` alone would equate
    ``1`` and ``True``)."""
    if isinstance(value, dict):
        return ("dict", {k: typed(v) for k, v in value.items()})
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    return (type(value).__name__, value)


def compare(text: str) -> bool:
    """Fast and full readings of the JSON ``text`` agree; returns whether fast took it."""
    try:
        fast = FAST.validate_json(text)
    except ValidationError:
        return False
    full = from_json(json.loads(text))
    assert typed(fast) == typed(full), text
    return True


KEYS = st.sampled_from(["a", "b", "", "$type", "$link", "$bytes", "$other", "x" * 2049])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**60), 2**60),
    st.sampled_from([2**53 - 1, -(2**53 - 1), 2**53, 1.0, 1.5, -0.0, CID_TEXT, "blob", "AAEC"]),
    st.text(max_size=5),
)
SPECIAL = st.sampled_from(
    [
        {"$link": CID_TEXT},
        {"$link": "nope"},
        {"$bytes": "AAEC"},
        {"$bytes": "A"},
        {"$link": CID_TEXT, "x": 1},
        BLOB,
        {**BLOB, "size": -1},
        {**BLOB, "extra": 1},
        {"$type": ""},
        {"$type": 1},
        {"$type": "app.bsky.feed.post", "text": "x"},
    ]
)
VALUES = st.recursive(
    st.one_of(SCALARS, SPECIAL),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=500, deadline=None)
@given(VALUES)
def test_fast_values_read_as_from_json(value: Any) -> None:
    compare(json.dumps(value))


def nested(kind: str, depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value] if kind == "list" else {"k": value}
    return value


@pytest.mark.parametrize("kind", ["list", "dict"])
@pytest.mark.parametrize("depth", [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 5])
def test_depth_limit_is_from_jsons(kind: str, depth: int) -> None:
    for leaf in (1, {"$link": CID_TEXT}, []):
        text = json.dumps(nested(kind, depth, leaf))
        try:
            from_json(json.loads(text))
            ok = True
        except DataModelError:
            ok = False
        if compare(text):
            assert ok


def test_common_values_take_the_fast_path() -> None:
    record = {
        "$type": "app.bsky.feed.post",
        "text": "hello",
        "langs": ["en"],
        "embed": {"$type": "app.bsky.embed.images", "images": [{"alt": "", "image": BLOB}]},
        "facets": [{"index": {"byteStart": 0, "byteEnd": 1}, "features": []}],
        "count": 3,
        "flag": True,
        "none": None,
        "link": {"$link": CID_TEXT},
    }
    assert compare(json.dumps(record))
    assert isinstance(FAST.validate_json(json.dumps(record))["link"], CID)


def test_failing_deep_values_cost_linear_time() -> None:
    """Nested objects whose innermost value fails (a float): each level is tried once.
    (Two object branches per level would retry every subtree: 2^depth.)"""
    import time

    value: Any = 1.5
    for _ in range(MAX_DEPTH - 1):
        value = {"a": value, "$type": "x.y.z", "b": [value] if isinstance(value, float) else []}
    text = json.dumps(value)
    start = time.perf_counter()
    assert not compare(text)
    assert time.perf_counter() - start < 1.0

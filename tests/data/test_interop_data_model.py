"""The atproto interop data-model vectors (tests/vectors/data-model, CC0).

Fixtures: JSON -> data model -> DAG-CBOR must give exactly the fixture bytes and CID, and
the fixture bytes -> data model -> JSON must give back the fixture JSON. Valid values
must be accepted and invalid ones rejected, both as parsed JSON (``from_json``) and as
JSON text (``loads_json``). Records are top-level objects, hence ``require_object=True``.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from lexforge.runtime.data import (
    CID,
    InvalidJsonError,
    decode,
    dumps_json,
    encode,
    from_json,
    loads_json,
    to_json,
)
from tests.conftest import VECTORS

DIR = VECTORS / "data-model"


def _load(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((DIR / name).read_text(encoding="utf-8"))
    return data


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


FIXTURES = _load("data-model-fixtures.json")
VALID = _load("data-model-valid.json")
INVALID = _load("data-model-invalid.json")


def _b64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def test_vector_counts() -> None:
    # Guards against an accidentally emptied or truncated copy.
    assert (len(FIXTURES), len(VALID), len(INVALID)) == (3, 5, 12)


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f["cid"] for f in FIXTURES])
def test_fixture_json_to_cbor(fixture: dict[str, Any]) -> None:
    value = from_json(fixture["json"], require_object=True)
    block = encode(value)
    assert block == _b64(fixture["cbor_base64"])
    assert str(CID.for_cbor(block)) == fixture["cid"]


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f["cid"] for f in FIXTURES])
def test_fixture_cbor_to_json(fixture: dict[str, Any]) -> None:
    value = decode(_b64(fixture["cbor_base64"]))
    assert to_json(value) == fixture["json"]
    # And through text, both ways.
    assert json.loads(dumps_json(value)) == fixture["json"]
    assert loads_json(json.dumps(fixture["json"])) == value


@pytest.mark.parametrize("case", VALID, ids=[_slug(c["note"]) for c in VALID])
def test_valid(case: dict[str, Any]) -> None:
    value = from_json(case["json"], require_object=True)
    assert loads_json(json.dumps(case["json"]), require_object=True) == value
    # Anything accepted can be encoded, and survives the round trip unchanged.
    assert decode(encode(value)) == value
    assert from_json(to_json(value)) == value


@pytest.mark.parametrize("case", INVALID, ids=[_slug(c["note"]) for c in INVALID])
def test_invalid(case: dict[str, Any]) -> None:
    with pytest.raises(InvalidJsonError):
        from_json(case["json"], require_object=True)
    with pytest.raises(InvalidJsonError):
        loads_json(json.dumps(case["json"]), require_object=True)


def test_integer_like_float_reads_as_int() -> None:
    case = next(c for c in VALID if c["note"] == "float, but integer-like")
    value = from_json(case["json"])
    assert value["rcrd"]["a"] == 123
    assert type(value["rcrd"]["a"]) is int
    # Encoded as the integer 123 (0x18 0x7b), never as a CBOR float.
    assert encode(value) == encode({"rcrd": {"$type": "com.example.blah", "a": 123, "b": "blah"}})

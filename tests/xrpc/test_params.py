"""Query parameters: kinds from annotations, encoding, decoding (spec/xrpc.md §2)."""

from __future__ import annotations

from typing import Annotated, Literal

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lexforge.runtime.lex import Omittable
from lexforge.runtime.syntax import Did
from lexforge.runtime.xrpc import XrpcBadRequest
from lexforge.runtime.xrpc.params import (
    ParamSpec,
    decode_params,
    encode_params,
    param_specs,
    validate_params,
)


class Params(BaseModel):
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, strict=True)

    did: Did
    text: Omittable[str] = None
    limit: int = Field(50, ge=1, le=100)
    big: Omittable[int] = None
    flag: Omittable[bool] = None
    include_all: bool = Field(False, alias="includeAll")
    tags: Omittable[list[str]] = None
    nums: list[Annotated[int, Field(ge=0)]] | None = None
    mode: Literal["a", "b"] | None = None
    levels: Literal[1, 2] | None = None


def test_kinds_come_from_annotations() -> None:
    specs = {s.name: s for s in param_specs(Params)}
    assert specs["did"] == ParamSpec("did", "did", "string", False)
    assert specs["limit"].kind == "integer"
    assert specs["big"].kind == "integer"
    assert specs["flag"].kind == "boolean"
    assert specs["include_all"] == ParamSpec("include_all", "includeAll", "boolean", False)
    assert (specs["tags"].kind, specs["tags"].array) == ("string", True)
    assert (specs["nums"].kind, specs["nums"].array) == ("integer", True)
    assert specs["mode"].kind == "string"
    assert specs["levels"].kind == "integer"


def test_encoding_rules() -> None:
    params = Params(did=Did("did:plc:abc"), tags=["a", "b"], flag=False, nums=[0, 3])
    assert encode_params(params) == [
        ("did", "did:plc:abc"),
        ("limit", "50"),  # the default is sent
        ("flag", "false"),
        ("includeAll", "false"),
        ("tags", "a"),
        ("tags", "b"),
        ("nums", "0"),
        ("nums", "3"),
    ]
    assert encode_params(None) == []
    assert encode_params({"a": True, "b": None, "c": [1, None, 2]}) == [
        ("a", "true"),
        ("c", "1"),
        ("c", "2"),
    ]
    with pytest.raises(TypeError):
        encode_params({"x": 1.5})


def test_validate_params_treats_none_as_absent() -> None:
    params = validate_params(Params, {"did": "did:plc:abc", "text": None, "limit": 7})
    assert params.text is None
    assert params.limit == 7
    assert "text" not in params.model_fields_set
    with pytest.raises(ValidationError):
        validate_params(Params, {"did": "nope"})


@pytest.mark.parametrize(
    "items",
    [
        [("did", "did:plc:abc"), ("limit", "007")],
        [("did", "did:plc:abc"), ("nums", "-0")],
    ],
)
def test_decimal_integers_with_signs_or_zeros(items: list[tuple[str, str]]) -> None:
    decode_params(Params, items)  # decimal: accepted, range-checked by the model


def test_decoding_rejects() -> None:
    base = [("did", "did:plc:abc")]
    for extra in (
        [("limit", "0x10")],
        [("limit", "1e3")],
        [("limit", " 5")],
        [("limit", "")],
        [("flag", "1")],
        [("flag", "")],
        [("did", "did:plc:def")],  # repeated scalar
        [("nums", "-1")],  # item constraint
        [("mode", "c")],
        [("levels", "3")],
    ):
        with pytest.raises(XrpcBadRequest):
            decode_params(Params, base + extra)
    with pytest.raises(XrpcBadRequest) as info:
        decode_params(Params, [])
    assert "did" in (info.value.message or "")


def test_message_never_echoes_the_value() -> None:
    secret = "s3cr3t-value-that-must-not-leak" * 3
    with pytest.raises(XrpcBadRequest) as info:
        decode_params(Params, [("did", secret)])
    assert secret not in (info.value.message or "")


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@settings(max_examples=200, deadline=None)
@given(
    text=st.none() | texts,
    limit=st.integers(1, 100),
    big=st.none() | st.integers(-(2**53), 2**53),
    flag=st.none() | st.booleans(),
    tags=st.none() | st.lists(texts, max_size=4),
    nums=st.none() | st.lists(st.integers(0, 2**40), max_size=4),
)
def test_round_trip_through_a_real_query_string(
    *,
    text: str | None,
    limit: int,
    big: int | None,
    flag: bool | None,
    tags: list[str] | None,
    nums: list[int] | None,
) -> None:
    values = {"did": "did:plc:abc", "text": text, "limit": limit, "big": big, "flag": flag}
    values |= {"tags": tags or None, "nums": nums or None}
    params = validate_params(Params, values)
    url = httpx.URL("http://x.test/xrpc/a.b.c", params=encode_params(params))
    decoded = decode_params(Params, httpx.URL(str(url)).params.multi_items())
    assert decoded == params

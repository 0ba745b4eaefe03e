"""The atproto JSON form: strict reading (from_json, loads_json) and writing (to_json,
dumps_json). Reliability rows R2 (floats, NaN, unsafe integers) and R12 (NaN, duplicate
keys, lone surrogates, huge integers, deep nesting) each have a test here."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.runtime.data import (
    CID,
    EncodeError,
    InvalidJsonError,
    decode,
    dumps_json,
    encode,
    from_json,
    loads_json,
    to_json,
)
from lexforge.runtime.data.cbor_limits import MAX_CONTAINER_LEN, MAX_DEPTH, MAX_KEY_LEN
from lexforge.runtime.data.json import MAX_JSON_DEPTH, MAX_SAFE_INTEGER

CBOR_CID = "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a"
RAW_CID = "bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity"
BYTES_B64 = "nFERjvLLiw9qm45JrqH9QTzyC2Lu1Xb4ne6+sBrCzI0"


def blob_json(**changes: Any) -> dict[str, Any]:
    blob: dict[str, Any] = {
        "$type": "blob",
        "ref": {"$link": RAW_CID},
        "mimeType": "image/jpeg",
        "size": 10000,
    }
    blob.update(changes)
    return {key: value for key, value in blob.items() if value is not ...}


# ---------------------------------------------------------------------------------------
# from_json: conversions


def test_link_and_bytes_convert() -> None:
    value = from_json({"a": {"$link": CBOR_CID}, "b": {"$bytes": BYTES_B64}})
    assert value["a"] == CID.parse(CBOR_CID)
    assert isinstance(value["b"], bytes)
    assert len(value["b"]) == 32


@pytest.mark.parametrize("padded", ["QQ==", "QUI=", BYTES_B64 + "="])
def test_padded_bytes_rejected(padded: str) -> None:
    """Issue 2: "$bytes (strict base64: no padding, ...)": one text form per value."""
    with pytest.raises(InvalidJsonError, match="padding") as info:
        from_json({"b": {"$bytes": padded}})
    assert info.value.path == ("b", "$bytes")
    with pytest.raises(InvalidJsonError, match="padding"):
        loads_json(json.dumps({"b": {"$bytes": padded}}))
    unpadded = padded.rstrip("=")
    assert to_json(from_json({"$bytes": unpadded})) == {"$bytes": unpadded}


def test_scalars_pass_through() -> None:
    value = from_json({"n": None, "t": True, "f": False, "z": 0, "e": "", "l": [], "o": {}})
    assert value == {"n": None, "t": True, "f": False, "z": 0, "e": "", "l": [], "o": {}}
    assert value["t"] is True  # booleans are not turned into integers
    assert value["z"] is not False


def test_null_absent_and_falsy_are_distinct() -> None:
    # null, missing and false/0/[]/{} survive JSON -> CBOR -> JSON as three states.
    for obj in ({"a": None}, {}, {"a": False}, {"a": 0}, {"a": []}, {"a": {}}):
        assert to_json(decode(encode(from_json(obj)))) == obj


@pytest.mark.parametrize(
    ("number", "expected"),
    [(123.0, 123), (-5.0, -5), (0.0, 0), (-0.0, 0), (float(MAX_SAFE_INTEGER), MAX_SAFE_INTEGER)],
)
def test_integral_python_float_becomes_int(number: float, expected: int) -> None:
    value = from_json({"a": number})
    assert value["a"] == expected
    assert type(value["a"]) is int


@pytest.mark.parametrize(
    "number", [1.5, 123.456, float("nan"), float("inf"), float("-inf"), 2.0**53, 1e300]
)
def test_bad_python_floats_rejected(number: float) -> None:
    with pytest.raises(InvalidJsonError):
        from_json({"a": number})


@pytest.mark.parametrize("number", [MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 0, 1, -1])
def test_safe_integers_accepted(number: int) -> None:
    assert from_json([number]) == [number]
    assert loads_json(json.dumps([number])) == [number]


@pytest.mark.parametrize("number", [2**53, -(2**53), 2**63, 2**64, -(2**64), 10**400])
def test_unsafe_integers_rejected(number: int) -> None:
    with pytest.raises(InvalidJsonError, match="safe range"):
        from_json([number])
    with pytest.raises(InvalidJsonError, match="safe range"):
        loads_json(f"[{number}]")


@pytest.mark.parametrize(
    "obj",
    [
        {"$link": CBOR_CID, "other": 1},
        {"$link": 1234},
        {"$link": None},
        {"$link": "."},
        {"$link": ""},
        {"$link": "QmQg1v4o9xdT3Q14wh4S7dxZkDjyZ9ssFzFzyep1YrVJBY"},  # CIDv0
        {"$bytes": BYTES_B64, "other": 1},
        {"$bytes": [1, 2, 3]},
        {"$bytes": "nFERjvLLiw9qm45JrqH9QTzyC2Lu1Xb4ne6-sBrCzI0"},  # URL-safe alphabet
        {"$bytes": "nFERjvLLiw9qm45J rqH9QTzyC2Lu1Xb4ne6+sBrCzI0"},  # whitespace
        {"$bytes": "QR"},  # non-zero trailing bits
        {"$bytes": "QQ="},  # wrong padding
        {"$bytes": "QQ=="},  # correct padding: still refused (no padding at all)
        {"$bytes": "QUJD\n"},  # trailing newline
        {"$bytes": "QUJD!"},  # junk
        {"$link": CBOR_CID, "$bytes": BYTES_B64},
    ],
    ids=lambda obj: json.dumps(obj)[:60],
)
def test_bad_link_and_bytes_objects_rejected(obj: dict[str, Any]) -> None:
    with pytest.raises(InvalidJsonError):
        from_json({"x": obj})


@pytest.mark.parametrize("type_", [None, 123, "", [], {}, True])
def test_bad_type_rejected(type_: object) -> None:
    with pytest.raises(InvalidJsonError, match=r"\$type"):
        from_json({"$type": type_, "a": 1})


def test_blob_converted_and_kept_as_plain_dict() -> None:
    value = from_json({"img": blob_json()})
    assert value["img"] == {
        "$type": "blob",
        "ref": CID.parse(RAW_CID),
        "mimeType": "image/jpeg",
        "size": 10000,
    }
    assert type(value["img"]) is dict


@pytest.mark.parametrize(
    "blob",
    [
        pytest.param(blob_json(size="10000"), id="size-string"),
        pytest.param(blob_json(size=-1), id="size-negative"),
        pytest.param(blob_json(size=True), id="size-bool"),
        pytest.param(blob_json(size=1.5), id="size-fraction"),
        pytest.param(blob_json(size=...), id="size-missing"),
        pytest.param(blob_json(ref=...), id="ref-missing"),
        pytest.param(blob_json(mimeType=...), id="mime-missing"),
        pytest.param(blob_json(mimeType=""), id="mime-empty"),
        pytest.param(blob_json(mimeType="jpeg"), id="mime-no-slash"),
        pytest.param(blob_json(mimeType=7), id="mime-number"),
        pytest.param(blob_json(ref={"$link": CBOR_CID}), id="ref-dag-cbor-codec"),
        pytest.param(blob_json(ref=RAW_CID), id="ref-plain-string"),
        pytest.param(blob_json(extra="x"), id="extra-key"),
    ],
)
def test_bad_blobs_rejected(blob: dict[str, Any]) -> None:
    with pytest.raises(InvalidJsonError) as info:
        from_json({"img": blob})
    assert info.value.path[:1] == ("img",)


def test_zero_size_blob_and_integral_float_size_accepted() -> None:
    assert from_json(blob_json(size=0))["size"] == 0
    assert from_json(blob_json(size=10000.0))["size"] == 10000


def test_legacy_blob_is_an_ordinary_object() -> None:
    legacy = {"cid": RAW_CID, "mimeType": "image/png"}
    assert from_json({"img": legacy}) == {"img": legacy}
    assert to_json(from_json({"img": legacy})) == {"img": legacy}


def test_lone_surrogates_rejected_in_values_and_keys() -> None:
    with pytest.raises(InvalidJsonError, match="surrogate"):
        from_json({"a": "x\ud800"})
    with pytest.raises(InvalidJsonError, match="surrogate"):
        from_json({"\udfff": 1})
    with pytest.raises(InvalidJsonError, match="surrogate"):
        loads_json('{"a": "\\ud800"}')
    with pytest.raises(InvalidJsonError, match="surrogate"):
        loads_json('{"\\udc00x": 1}')


def test_surrogate_pair_escape_is_fine() -> None:
    assert loads_json('["\\ud83d\\ude00"]') == ["\U0001f600"]


def test_non_json_python_values_rejected() -> None:
    for bad in ((1, 2), b"x", CID.parse(CBOR_CID), {1: "a"}, {1.5}, object()):
        with pytest.raises(InvalidJsonError):
            from_json({"a": bad})


def test_error_path_locates_the_value() -> None:
    with pytest.raises(InvalidJsonError) as info:
        from_json({"a": [{"b": 1}, {"b": 1.5}]})
    assert info.value.path == ("a", 1, "b")
    assert "['a'][1]['b']" in str(info.value)
    with pytest.raises(InvalidJsonError) as info:
        from_json({"a": {"$link": 5}})
    assert info.value.path == ("a", "$link")


def test_require_object() -> None:
    assert from_json("blah") == "blah"
    assert loads_json("[1]") == [1]
    for text in ('"blah"', "[1]", "1", "null"):
        with pytest.raises(InvalidJsonError, match="top-level"):
            loads_json(text, require_object=True)


def test_depth_matches_the_cbor_codec() -> None:
    ok: Any = 1
    for _ in range(MAX_DEPTH):
        ok = [ok]
    assert from_json(ok) == ok
    assert decode(encode(ok)) == ok
    with pytest.raises(InvalidJsonError, match="deeper"):
        from_json([ok])
    with pytest.raises(EncodeError):
        encode([ok])
    # A $link wrapper at the deepest level is a scalar in the data model.
    deepest: Any = {"$link": CBOR_CID}
    for _ in range(MAX_DEPTH):
        deepest = {"a": deepest}
    assert encode(loads_json(json.dumps(deepest)))


def test_container_and_key_limits_match_the_cbor_codec() -> None:
    with pytest.raises(InvalidJsonError, match="limit"):
        from_json([0] * (MAX_CONTAINER_LEN + 1))
    assert len(from_json([0] * MAX_CONTAINER_LEN)) == MAX_CONTAINER_LEN
    with pytest.raises(InvalidJsonError, match="key longer"):
        from_json({"k" * (MAX_KEY_LEN + 1): 1})
    with pytest.raises(InvalidJsonError, match="key longer"):
        from_json({"é" * (MAX_KEY_LEN // 2 + 1): 1})  # counted in UTF-8 bytes
    assert from_json({"k" * MAX_KEY_LEN: 1})


# ---------------------------------------------------------------------------------------
# loads_json: strict text parsing


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "a": 2}',
        '{"a": 1, "b": {"c": 1, "c": 1}}',
        '[{"x": 1, "y": 2, "x": 3}]',
    ],
)
def test_duplicate_keys_rejected(text: str) -> None:
    with pytest.raises(InvalidJsonError, match="duplicate"):
        loads_json(text)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_rejected(literal: str) -> None:
    with pytest.raises(InvalidJsonError, match="NaN or Infinity"):
        loads_json(f'{{"a": {literal}}}')


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.0", 1), ("123.0", 123), ("1e2", 100), ("-2.50E1", -25), ("0.0", 0), ("-0", 0)],
)
def test_integral_numbers_read_as_int(text: str, expected: int) -> None:
    value = loads_json(f"[{text}]")
    assert value == [expected]
    assert type(value[0]) is int


@pytest.mark.parametrize(
    "text",
    [
        "1.5",
        "123.456",
        "1e-1",
        "1.00000000000000001",  # a float would round this to 1.0; exact arithmetic does not
        "9007199254740991.5",
        "9007199254740992.0",
        "1e16",
        "1e400",
        "-1e400",
        "1" * 5000,  # beyond Python's int-digits limit: a typed error, not ValueError
        "1" * 17,
    ],
    ids=lambda t: t[:30],
)
def test_bad_numbers_rejected(text: str) -> None:
    with pytest.raises(InvalidJsonError):
        loads_json(f"[{text}]")


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deep_nesting_is_a_typed_error_not_recursion(opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    start = time.perf_counter()
    for depth in (10**5, 10**6):
        with pytest.raises(InvalidJsonError, match="nesting"):
            loads_json(opener * depth + "1" + closer * depth)
    assert time.perf_counter() - start < 5


def test_json_depth_boundary() -> None:
    ok = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert loads_json(ok)
    with pytest.raises(InvalidJsonError):
        loads_json("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))


@pytest.mark.parametrize(
    "text",
    [
        '"' + '\\"' * 200_000 + "[" * 40,  # one unterminated string of escaped quotes
        '"' * 200_000 + "[" * 40,
        '["' + "\\" * 200_000 + "[" * 40,
        "[" + '"\\"",' * 100_000 + "[" * 40,  # many terminated strings: still linear
    ],
    ids=["unterminated-escaped-quotes", "quotes", "backslashes", "many-strings"],
)
def test_depth_scan_is_linear_on_hostile_strings(text: str) -> None:
    """The pre-parse depth scan skips string literals; an unterminated one must not make
    it rescan the rest of the text from every quote (quadratic: 80 KB took 30 s)."""
    start = time.perf_counter()
    with pytest.raises(InvalidJsonError):
        loads_json(text)
    assert time.perf_counter() - start < 1


def test_brackets_inside_strings_do_not_count_toward_depth() -> None:
    text = json.dumps({"a": "[" * 1000 + "{" * 1000, "b": 'x\\"[[[', "c": ["]" * 50]})
    assert loads_json(text)["a"].startswith("[[[")


def test_bytes_input_must_be_utf8() -> None:
    assert loads_json('{"a": "é"}'.encode()) == {"a": "é"}
    assert loads_json(bytearray(b"[1]")) == [1]
    with pytest.raises(InvalidJsonError, match="UTF-8"):
        loads_json(b'{"a": "\xff"}')
    with pytest.raises(InvalidJsonError):
        loads_json(b"\xef\xbb\xbf[1]")  # byte-order mark
    with pytest.raises(InvalidJsonError, match="UTF-8"):
        loads_json('["\ud800"]'.encode("utf-8", "surrogatepass"))  # CESU-style surrogate


@pytest.mark.parametrize("text", ["", "{", "[1,]", "{'a': 1}", "[1] x", "tru", '{"a" 1}'])
def test_syntax_errors_are_typed(text: str) -> None:
    with pytest.raises(InvalidJsonError, match="invalid JSON"):
        loads_json(text)


def test_non_text_input_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        loads_json(123)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------
# to_json / dumps_json


def test_to_json_conversions() -> None:
    cid = CID.parse(CBOR_CID)
    value = {"l": cid, "b": b"\x00\x01\x02\x03", "ba": bytearray(b"A"), "t": (1, 2)}
    assert to_json(value) == {
        "l": {"$link": CBOR_CID},
        "b": {"$bytes": "AAECAw"},
        "ba": {"$bytes": "QQ"},
        "t": [1, 2],
    }


@pytest.mark.parametrize(
    "value",
    [
        {"a": 1.0},
        {"a": float("nan")},
        {"a": 2**53},
        {"a": -(2**53)},
        {1: "x"},
        {"a": {1, 2}},
        {"a": "x\ud800"},
        {"\ud800": 1},
        {"$link": CBOR_CID},  # a map that would read back as a link
        {"$bytes": "QQ", "x": 1},
        {"$type": ""},
        {"$type": 5},
        {"$type": "blob", "ref": CID.parse(RAW_CID), "mimeType": "image/png", "size": -1},
        {"$type": "blob", "ref": CID.parse(CBOR_CID), "mimeType": "image/png", "size": 1},
        {"$type": "blob", "ref": CID.parse(RAW_CID), "mimeType": "image/png"},
    ],
    ids=repr,
)
def test_to_json_refuses(value: object) -> None:
    with pytest.raises(EncodeError):
        to_json(value)


def test_to_json_depth_limit() -> None:
    deep: Any = 1
    for _ in range(MAX_DEPTH + 1):
        deep = {"a": deep}
    with pytest.raises(EncodeError, match="deeper"):
        to_json(deep)


def test_to_json_error_path() -> None:
    with pytest.raises(EncodeError) as info:
        to_json({"a": [1, {"b": 0.5}]})
    assert info.value.path == ("a", 1, "b")


def test_dumps_json_is_compact_and_keeps_unicode() -> None:
    value = {"text": "héllo ✨", "n": [1, None, True], "l": CID.parse(CBOR_CID)}
    assert dumps_json(value) == (
        '{"text":"héllo ✨","n":[1,null,true],"l":{"$link":"' + CBOR_CID + '"}}'
    )


# ---------------------------------------------------------------------------------------
# properties

_keys = st.text(max_size=8).filter(lambda k: k not in ("$link", "$bytes", "$type"))
_text = st.text().filter(lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s))
_cids = st.binary(min_size=32, max_size=32).map(lambda d: CID.from_bytes(b"\x01\x71\x12\x20" + d))
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | _text
    | st.binary(max_size=40)
    | _cids
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_keys, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_json_round_trip(value: object) -> None:
    assert from_json(to_json(value)) == value
    assert loads_json(dumps_json(value)) == value
    assert decode(encode(from_json(to_json(value)))) == value


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='[]{}":,1 \\ab', max_size=60))
def test_arbitrary_text_never_escapes_typed_errors(text: str) -> None:
    try:
        value = loads_json(text)
    except InvalidJsonError:
        return
    assert value == json.loads(text)  # what we accept, we read as the stdlib does

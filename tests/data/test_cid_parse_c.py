"""``_cbor.cid_parse_b32`` (what ``CID.parse`` runs for base32 text when the C accelerator
is active) against the pure-Python base32 path: the same CID (bytes, parts, cached text)
or the same error class and message, on valid CIDs and on near misses."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.runtime.data import CID, cid
from lexforge.runtime.data.errors import InvalidCidError

_cbor = pytest.importorskip("lexforge.runtime.data._cbor")


def _python_parse(text: str) -> CID:
    """CID.parse's base32 path in pure Python (the reference)."""
    if not text:
        raise InvalidCidError("empty CID text")
    if len(text) > cid._TEXT_CAPS["b"]:
        raise InvalidCidError(f"CID text is {len(text)} characters, too long")
    binary = cid._b32_decode_py(text[1:])
    return cid._make(binary, cid._parse_binary(binary, allow_v0=False), text)


def _outcome(parse: Any, text: str) -> tuple[object, ...]:
    try:
        out = parse(text)
    except (InvalidCidError, TypeError) as exc:
        return ("error", type(exc), str(exc))
    assert type(out) is CID
    return ("ok", out.bytes, out._parts, out._str is text, str(out) == text)


def _b32(data: bytes) -> str:
    return "b" + base64.b32encode(data).decode().rstrip("=").lower()


binaries = st.binary(max_size=110) | st.builds(
    lambda head, body: head + body,
    st.sampled_from(
        [b"\x01\x71\x12\x20", b"\x01\x55\x12\x20", b"\x01\x80\x01\x12\x21", b"\x12\x20"]
    ),
    st.binary(min_size=30, max_size=34),
)
texts = (
    binaries.map(_b32)
    | st.text(alphabet="abcdefghijklmnopqrstuvwxyz234567AZ018=é-", max_size=170).map(
        lambda t: "b" + t
    )
    | st.builds(
        lambda text, i, c: text[:i] + c + text[i + 1 :],
        binaries.map(_b32),
        st.integers(1, 80),
        st.sampled_from(["A", "1", "=", "é", "\ud800", "", "a", "q"]),
    )
)


@settings(max_examples=500, deadline=None)
@given(text=texts)
def test_same_cid_or_same_error(text: str) -> None:
    expected = _outcome(_python_parse, text)
    assert _outcome(_cbor.cid_parse_b32, text) == expected
    assert _outcome(CID.parse, text) == expected


def test_edge_cases() -> None:
    valid = _b32(b"\x01\x55\x12\x20" + bytes(range(32)))
    longest = _b32(b"\x01\x80\x01\x12\x5f" + bytes(95))  # exactly MAX_CID_BYTES bytes
    assert len(longest) == cid._TEXT_CAPS["b"]
    for text in ["", "b", "ba", "bafy", valid, valid + "a", longest, longest + "a", "b" * 400]:
        assert _outcome(_cbor.cid_parse_b32, text) == _outcome(_python_parse, text), text
    assert _cbor.cid_parse_b32(valid) == CID.from_bytes(b"\x01\x55\x12\x20" + bytes(range(32)))


def test_text_is_kept_as_given() -> None:
    class Text(str):
        pass

    text = Text(_b32(b"\x01\x71\x12\x20" + bytes(32)))
    parsed = _cbor.cid_parse_b32(text)
    assert parsed._str is text
    assert _outcome(_cbor.cid_parse_b32, text) == _outcome(_python_parse, text)


def test_refusals() -> None:
    with pytest.raises(TypeError, match="CID text must be str, not bytes"):
        _cbor.cid_parse_b32(b"bafy")  # type: ignore[arg-type]
    with pytest.raises(InvalidCidError, match="no 'b' prefix"):
        _cbor.cid_parse_b32("zQm")


def test_cid_parse_uses_it_when_active() -> None:
    if cid._C_BASE is None:
        assert cid._c_parse_b32 is None
    else:
        assert cid._c_parse_b32 is _cbor.cid_parse_b32

"""Strict standard base64 for ``$bytes`` (reliability row R11: padding, trailing bits,
junk characters). Every accepted text must be the canonical encoding of its bytes,
give or take RFC 4648 padding."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.runtime.data import InvalidBase64Error
from lexforge.runtime.data.b64 import b64decode_strict, b64encode_unpadded


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", b""),
        ("QQ", b"A"),
        ("QQ==", b"A"),
        ("QUI", b"AB"),
        ("QUI=", b"AB"),
        ("QUJD", b"ABC"),
        ("+/+/", b"\xfb\xff\xbf"),
        ("nFERjvLLiw9qm45JrqH9QTzyC2Lu1Xb4ne6+sBrCzI0", None),
    ],
)
def test_accepted(text: str, expected: bytes | None) -> None:
    data = b64decode_strict(text)
    if expected is not None:
        assert data == expected
    assert b64encode_unpadded(data) == text.rstrip("=")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("-_-_", "URL-safe"),
        ("QUJ_", "URL-safe"),
        ("QU JD", "whitespace"),
        ("QUJD\n", "whitespace"),
        ("\tQUJD", "whitespace"),
        ("QU*D", "outside the base64 alphabet"),
        ("QUJ.", "outside the base64 alphabet"),
        ("QUJé", "outside the base64 alphabet"),
        ("QQ=", "padding"),
        ("QQ===", "padding"),
        ("QUI==", "padding"),
        ("Q===", "padding"),
        ("=QQ=", "padding"),
        ("QQ=A", "padding"),
        ("QUJD=", "padding"),
        ("QUJD====", "padding"),
        ("====", "padding"),
        ("=", "padding"),
        ("Q", "length"),
        ("QUJDQ", "length"),
        ("QR", "trailing bits"),
        ("QR==", "trailing bits"),
        ("QUJ", "trailing bits"),
        ("QUJ=", "trailing bits"),
        ("//9", "trailing bits"),
    ],
)
def test_rejected(text: str, why: str) -> None:
    with pytest.raises(InvalidBase64Error, match=why):
        b64decode_strict(text)


def test_non_string_rejected() -> None:
    with pytest.raises(InvalidBase64Error):
        b64decode_strict(b"QUJD")  # type: ignore[arg-type]


def test_python_is_lenient_where_we_are_not() -> None:
    # The traps this module exists for (reliability.md section 5 item 4).
    assert base64.b64decode("QR==") == base64.b64decode("QQ==")
    assert base64.b64decode("Q*U*J*D") == b"ABC"
    for text in ("QR==", "Q*U*J*D"):
        with pytest.raises(InvalidBase64Error):
            b64decode_strict(text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_round_trip(data: bytes) -> None:
    text = b64encode_unpadded(data)
    assert "=" not in text
    assert b64decode_strict(text) == data
    assert b64decode_strict(base64.b64encode(data).decode()) == data  # padded form


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ABCDQRSab01+/=-_ \n", max_size=16))
def test_accepted_text_is_canonical(text: str) -> None:
    try:
        data = b64decode_strict(text)
    except InvalidBase64Error:
        return
    # Accepted only if it is exactly the encoding of its bytes, padded or not.
    assert text in (b64encode_unpadded(data), base64.b64encode(data).decode())

"""Strict unpadded base64 (reliability row R11: padding, trailing bits, junk characters).

Every accepted text must be exactly the unpadded encoding of its bytes. The standard
alphabet is what ``$bytes`` uses (checked here through ``from_json`` too); the URL-safe
one is shared with PLC signatures.
"""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.runtime.data import InvalidBase64Error, InvalidJsonError, from_json
from lexforge.runtime.data.b64 import (
    b64decode_strict,
    b64encode_unpadded,
    b64url_decode_strict,
    b64url_encode_unpadded,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", b""),
        ("QQ", b"A"),
        ("QUI", b"AB"),
        ("QUJD", b"ABC"),
        ("+/+/", b"\xfb\xff\xbf"),
        ("nFERjvLLiw9qm45JrqH9QTzyC2Lu1Xb4ne6+sBrCzI0", None),
    ],
)
def test_accepted(text: str, expected: bytes | None) -> None:
    data = b64decode_strict(text)
    if expected is not None:
        assert data == expected
    assert b64encode_unpadded(data) == text
    assert from_json({"$bytes": text}) == data


STANDARD_REJECTED = [
    ("-_-_", "URL-safe"),
    ("QUJ_", "URL-safe"),
    ("QU JD", "whitespace"),
    ("QUJD\n", "whitespace"),
    ("\tQUJD", "whitespace"),
    ("QU*D", "outside the base64 alphabet"),
    ("QUJ.", "outside the base64 alphabet"),
    ("QUJé", "outside the base64 alphabet"),
    # padding of any kind, correct or not
    ("QQ==", "padding"),
    ("QUI=", "padding"),
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
    ("QR==", "padding"),
    ("Q", "length"),
    ("QUJDQ", "length"),
    ("QR", "trailing bits"),
    ("QUJ", "trailing bits"),
    ("//9", "trailing bits"),
    ("QUJDQf", "trailing bits"),
]


@pytest.mark.parametrize(("text", "why"), STANDARD_REJECTED)
def test_rejected(text: str, why: str) -> None:
    with pytest.raises(InvalidBase64Error, match=why):
        b64decode_strict(text)
    # The same refusal through the public JSON entry point, as a typed JSON error.
    with pytest.raises(InvalidJsonError, match=why):
        from_json({"$bytes": text})


def test_non_string_rejected() -> None:
    with pytest.raises(InvalidBase64Error):
        b64decode_strict(b"QUJD")  # type: ignore[arg-type]
    with pytest.raises(InvalidBase64Error):
        b64url_decode_strict(None)  # type: ignore[arg-type]


def test_python_is_lenient_where_we_are_not() -> None:
    # The traps this module exists for (reliability.md section 5 item 4).
    assert base64.b64decode("QR==") == base64.b64decode("QQ==")
    assert base64.b64decode("Q*U*J*D") == b"ABC"
    assert base64.urlsafe_b64decode("QR==") == b"A"
    for text in ("QR==", "Q*U*J*D", "QQ=="):
        with pytest.raises(InvalidBase64Error):
            b64decode_strict(text)
        with pytest.raises(InvalidBase64Error):
            b64url_decode_strict(text)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("+/+/", "standard-alphabet character '+'"),
        ("QUJ/", "standard-alphabet character '/'"),
        ("QQ==", "padding"),
        ("QQ", None),  # accepted: shared characters
        ("-_-_", None),
        ("QR", "trailing bits"),
        ("QUJ", "trailing bits"),
        ("Q", "length"),
        ("QU JD", "whitespace"),
        ("QU*D", "outside the base64url alphabet"),
    ],
)
def test_url_safe_alphabet(text: str, why: str | None) -> None:
    if why is None:
        assert b64url_encode_unpadded(b64url_decode_strict(text)) == text
        return
    with pytest.raises(InvalidBase64Error, match=re.escape(why)):
        b64url_decode_strict(text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_round_trip(data: bytes) -> None:
    text = b64encode_unpadded(data)
    assert "=" not in text
    assert text == base64.b64encode(data).decode().rstrip("=")
    assert b64decode_strict(text) == data
    url = b64url_encode_unpadded(data)
    assert url == base64.urlsafe_b64encode(data).decode().rstrip("=")
    assert b64url_decode_strict(url) == data
    if len(data) % 3:  # the padded spelling exists and is refused
        with pytest.raises(InvalidBase64Error, match="padding"):
            b64decode_strict(base64.b64encode(data).decode())


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ABCDQRSab01+/=-_ \n", max_size=16))
def test_accepted_text_is_canonical(text: str) -> None:
    try:
        data = b64decode_strict(text)
    except InvalidBase64Error:
        pass
    else:
        assert b64encode_unpadded(data) == text
    try:
        data = b64url_decode_strict(text)
    except InvalidBase64Error:
        pass
    else:
        assert b64url_encode_unpadded(data) == text

"""base58btc codec, checked against multiformats as an independent oracle."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multiformats import multibase

from lexforge.runtime.crypto import InvalidBase58Error
from lexforge.runtime.crypto.base58 import ALPHABET, b58decode, b58encode


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"", ""),
        (b"\x00", "1"),
        (b"\x00\x00", "11"),
        (b"\x00\x01", "12"),
        (b"\x39", "z"),
        (b"\x3a", "21"),
        (b"hello world", "StV1DL6CwTryKyV"),
    ],
)
def test_known_values(data: bytes, text: str) -> None:
    assert b58encode(data) == text
    assert b58decode(text) == data


@settings(max_examples=500)
@given(st.binary(max_size=80))
def test_round_trip_matches_multiformats(data: bytes) -> None:
    text = b58encode(data)
    assert b58decode(text) == data
    if data:  # multiformats refuses to encode b""
        assert "z" + text == multibase.encode(data, "base58btc")


@settings(max_examples=300)
@given(st.text(alphabet=ALPHABET, max_size=60))
def test_decode_is_canonical(text: str) -> None:
    """Every string over the alphabet decodes, and re-encodes to itself."""
    assert b58encode(b58decode(text)) == text


@pytest.mark.parametrize(
    "char", ["0", "O", "I", "l", "+", "/", "=", " ", "\n", "é", "\x00", "z\u0301"]
)
def test_invalid_characters(char: str) -> None:
    with pytest.raises(InvalidBase58Error):
        b58decode("abc" + char)


def test_max_length() -> None:
    assert b58decode("2" * 10, max_length=10)
    with pytest.raises(InvalidBase58Error):
        b58decode("2" * 11, max_length=10)

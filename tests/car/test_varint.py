"""Multiformats unsigned varints: minimal, at most 9 bytes (below 2^63)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lexforge.runtime.car import CarTruncatedError, CarVarintError
from lexforge.runtime.car.varint import decode_varint, encode_varint


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"\x00"),
        (1, b"\x01"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (300, b"\xac\x02"),
        (16383, b"\xff\x7f"),
        (16384, b"\x80\x80\x01"),
        (2**63 - 1, b"\xff" * 8 + b"\x7f"),
    ],
)
def test_known_encodings(value: int, encoded: bytes) -> None:
    assert encode_varint(value) == encoded
    assert decode_varint(encoded, 0) == (value, len(encoded))


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_round_trip(value: int) -> None:
    encoded = encode_varint(value)
    assert decode_varint(b"pre" + encoded + b"post", 3) == (value, 3 + len(encoded))


@pytest.mark.parametrize("value", [-1, 2**63, 2**64])
def test_encode_range(value: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        encode_varint(value)


def test_encode_type() -> None:
    with pytest.raises(TypeError):
        encode_varint(True)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", CarTruncatedError),
        (b"\x80", CarTruncatedError),
        (b"\xff\xff", CarTruncatedError),
        (b"\x80\x00", CarVarintError),
        (b"\x81\x80\x00", CarVarintError),
        (b"\x80" * 9 + b"\x01", CarVarintError),  # 2^63: ten bytes
        (b"\xff" * 10, CarVarintError),
    ],
)
def test_decode_rejects(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode_varint(data, 0)


def test_error_offsets_include_base() -> None:
    with pytest.raises(CarVarintError) as info:
        decode_varint(b"xx\x80\x00", 2, base=100)
    assert info.value.offset == 102

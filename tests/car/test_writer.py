"""CarWriter / write_car: canonical header, refusal of what atproto readers reject."""

from __future__ import annotations

import io

import pytest

from lexforge.runtime.car import (
    CarBlockMismatchError,
    CarCidError,
    CarLimitError,
    CarWriter,
    read_car,
    write_car,
)
from lexforge.runtime.car.varint import decode_varint, encode_varint
from lexforge.runtime.data import CID
from tests.car.builders import RecordingWriter, block, cid_v1, sha256

A = block(1)
B = block(2)


def test_header_bytes_are_canonical() -> None:
    car = write_car([A[0]], [])
    # a2 (map of 2), "roots" first (shorter key), then "version": 1.
    expected = (
        b"\xa2" + b"\x65roots" + b"\x81\xd8\x2a\x58\x25\x00" + A[0].bytes + b"\x67version\x01"
    )
    assert car == encode_varint(len(expected)) + expected


def test_empty_car_round_trips() -> None:
    assert read_car(write_car([], [])) == ([], {})


def test_write_car_accepts_mapping_and_pairs() -> None:
    assert write_car([A[0]], {A[0]: A[1], B[0]: B[1]}) == write_car([A[0]], [A, B])


def test_section_layout() -> None:
    car = write_car([], [A])
    head_len, pos = decode_varint(car, 0)
    pos += head_len
    length, pos = decode_varint(car, pos)
    assert length == 36 + len(A[1])
    assert car[pos : pos + 36] == A[0].bytes  # binary CID, no 0x00 tag-42 prefix
    assert car[pos + 36 :] == A[1]


def test_refuses_mismatched_block_and_writes_nothing() -> None:
    sink = RecordingWriter()
    writer = CarWriter(sink, [])
    before = sink.getvalue()
    with pytest.raises(CarBlockMismatchError):
        writer.write(A[0], B[1])
    assert sink.getvalue() == before
    assert writer.blocks_written == 0


def test_verify_false_trusts_the_caller() -> None:
    out = io.BytesIO()
    CarWriter(out, [], verify=False).write(A[0], B[1])
    assert out.getvalue().endswith(A[0].bytes + B[1])


@pytest.mark.parametrize(
    "binary",
    [
        cid_v1(0x70, 0x12, sha256(A[1])),  # dag-pb
        cid_v1(0x71, 0x13, bytes(64)),  # sha2-512
        cid_v1(0x0129, 0x12, sha256(A[1])),  # dag-json
    ],
    ids=["dag-pb", "sha512", "dag-json"],
)
def test_refuses_non_atproto_cids(binary: bytes) -> None:
    cid = CID.from_bytes(binary)
    with pytest.raises(CarCidError):
        write_car([], [(cid, A[1])])
    with pytest.raises(CarCidError):
        write_car([cid], [])


def test_refuses_cidv0_root() -> None:
    v0 = CID.from_bytes(b"\x12\x20" + sha256(A[1]), allow_v0=True)
    with pytest.raises(CarCidError):
        write_car([v0], [])


def test_type_errors() -> None:
    with pytest.raises(TypeError):
        write_car(A[0], [])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        write_car([str(A[0])], [])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        write_car([], [(str(A[0]), A[1])])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        write_car([], [(A[0], "text")])  # type: ignore[list-item]


def test_section_cap() -> None:
    big = block(0, 1000)
    with pytest.raises(CarLimitError):
        CarWriter(io.BytesIO(), [], max_section_size=36 + len(big[1]) - 1).write(*big)
    CarWriter(io.BytesIO(), [], max_section_size=36 + len(big[1])).write(*big)


def test_bytes_like_block_data() -> None:
    out = io.BytesIO()
    writer = CarWriter(out, [])
    writer.write(A[0], bytearray(A[1]))
    writer.write(B[0], memoryview(B[1]))
    assert read_car(out.getvalue())[1] == {A[0]: A[1], B[0]: B[1]}


def test_large_varint_length() -> None:
    big = block(0, 20_000)  # section length needs a three-byte varint
    _, blocks = read_car(write_car([big[0]], [big]))
    assert blocks == {big[0]: big[1]}

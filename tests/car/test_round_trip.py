"""CAR write -> read round trips, through bytes, streams and files."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.runtime.car import CarReader, CarRootsError, read_car, write_car
from lexforge.runtime.data import CID
from tests.car.builders import RecordingReader, block


def test_round_trip_bytes() -> None:
    blocks = dict(block(i, i * 10) for i in range(50))
    root = next(iter(blocks))
    car = write_car([root], blocks)
    roots, got = read_car(car, require_single_root=True)
    assert roots == [root]
    assert got == blocks
    assert list(got) == list(blocks)  # file order kept


def test_round_trip_stream_and_file(tmp_path: Path) -> None:
    blocks = [block(i, 3000) for i in range(100)]  # spans several read chunks
    car = write_car([blocks[0][0]], blocks)
    assert list(CarReader(io.BytesIO(car))) == blocks
    path = tmp_path / "repo.car"
    path.write_bytes(car)
    with path.open("rb") as fh:
        reader = CarReader(fh)
        assert reader.roots == [blocks[0][0]]
        assert list(reader) == blocks
    with path.open("rb", buffering=0) as raw:
        assert read_car(raw) == ([blocks[0][0]], dict(blocks))


def test_bytes_like_inputs() -> None:
    blocks = [block(1), block(2)]
    car = write_car([], blocks)
    for source in (car, bytearray(car), memoryview(car)):
        assert read_car(source) == ([], dict(blocks))


def test_raw_and_empty_blocks() -> None:
    empty = (CID.for_raw(b""), b"")
    blob = (CID.for_raw(b"\x89PNG..."), b"\x89PNG...")
    car = write_car([blob[0]], [empty, blob])
    assert list(CarReader(car)) == [empty, blob]


def test_large_block_across_chunks() -> None:
    big = block(0, 1_000_000)
    car = write_car([big[0]], [block(1), big, block(2)])
    assert list(CarReader(RecordingReader(car, max_read=7000))) == [block(1), big, block(2)]


def test_roots() -> None:
    a, b = block(1), block(2)
    for roots in ([], [a[0]], [a[0], b[0]]):
        car = write_car(roots, [a, b])
        reader = CarReader(car)
        assert reader.roots == roots
        reader.roots.append(a[0])  # a copy: the reader is not affected
        assert reader.roots == roots
    for roots in ([], [a[0], b[0]]):
        with pytest.raises(CarRootsError, match="exactly one root"):
            read_car(write_car(roots, [a]), require_single_root=True)


def test_iterating_twice_is_an_error() -> None:
    reader = CarReader(write_car([], [block(1)]))
    assert len(list(reader)) == 1
    with pytest.raises(RuntimeError):
        iter(reader)


def test_duplicate_identical_blocks_collapse() -> None:
    a, b = block(1), block(2)
    car = write_car([a[0]], [a, b, a])
    assert list(CarReader(car)) == [a, b, a]
    assert read_car(car)[1] == {a[0]: a[1], b[0]: b[1]}


@settings(max_examples=100, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=70_000), max_size=12),
    max_read=st.integers(min_value=1, max_value=100_000),
)
def test_streaming_equals_bytes(sizes: list[int], max_read: int) -> None:
    blocks = [block(i, size) for i, size in enumerate(sizes)]
    car = write_car([], blocks)
    # Short reads of any size (like a socket) give the same blocks as the bytes path.
    assert list(CarReader(RecordingReader(car, max_read=max_read))) == blocks
    assert list(CarReader(car)) == blocks

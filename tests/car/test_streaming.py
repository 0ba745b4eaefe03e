"""The writer writes as it goes and the reader reads only a bounded window ahead."""

from __future__ import annotations

import pytest

from lexforge.runtime.car import CarReader, CarWriter, write_car
from lexforge.runtime.car.reader import READ_CHUNK_SIZE
from lexforge.runtime.car.varint import encode_varint
from lexforge.runtime.data import encode
from tests.car.builders import RecordingReader, RecordingWriter, block


def test_writer_streams_each_block_immediately() -> None:
    blocks = [block(i, 500) for i in range(20)]
    sink = RecordingWriter()
    writer = CarWriter(sink, [blocks[0][0]])
    head = encode({"roots": [blocks[0][0]], "version": 1})
    assert sink.getvalue() == encode_varint(len(head)) + head  # header on construction
    expected = sink.getvalue()
    for cid, data in blocks:
        before = len(sink.writes)
        writer.write(cid, data)
        assert len(sink.writes) > before  # written now, not buffered
        expected += encode_varint(36 + len(data)) + cid.bytes + data
        assert sink.getvalue() == expected  # exactly what has been written so far
    assert writer.blocks_written == len(blocks)
    assert sink.getvalue() == write_car([blocks[0][0]], blocks)


def test_reader_reads_a_bounded_window_ahead() -> None:
    blocks = [block(i, 1000) for i in range(2000)]  # about 2 MB
    car = write_car([blocks[0][0]], blocks)
    stream = RecordingReader(car)
    reader = CarReader(stream)
    assert stream.served <= READ_CHUNK_SIZE
    consumed = len(car) - sum(len(encode_varint(36 + len(d))) + 36 + len(d) for _, d in blocks)
    for cid, data in reader:
        consumed += len(encode_varint(36 + len(data))) + 36 + len(data)
        # Never more than one chunk beyond what has been handed to the caller.
        assert stream.served - consumed <= READ_CHUNK_SIZE
        if cid == blocks[10][0]:
            assert stream.served < len(car) // 4
    assert consumed == len(car) == stream.served
    assert max(stream.requests) <= READ_CHUNK_SIZE


def test_large_section_is_read_by_exact_size() -> None:
    big = block(0, 2_000_000)
    car = write_car([], [block(1), big, block(2)])
    stream = RecordingReader(car)
    assert list(CarReader(stream)) == [block(1), big, block(2)]
    # One request for the rest of the big section, never more than the section itself.
    assert max(stream.requests) <= 36 + len(big[1])
    assert stream.served == len(car)


@pytest.mark.parametrize("max_read", [1, 3, 37, 4096])
def test_short_reads_everywhere(max_read: int) -> None:
    blocks = [block(i, i * 37) for i in range(30)]
    car = write_car([blocks[0][0]], blocks)
    assert list(CarReader(RecordingReader(car, max_read=max_read))) == blocks

"""Malformed and hostile CARs (reliability rows R7 and R8): each must fail with the
right typed error, through both the bytes and the streaming path, quickly."""

from __future__ import annotations

import io
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.runtime.car import (
    CarBlockMismatchError,
    CarCidError,
    CarError,
    CarHeaderError,
    CarLimitError,
    CarReader,
    CarRootsError,
    CarTruncatedError,
    CarVarintError,
    read_car,
    write_car,
)
from lexforge.runtime.car.varint import encode_varint
from lexforge.runtime.data import CID, encode
from tests.car.builders import (
    RecordingReader,
    block,
    car_bytes,
    cid_v1,
    header,
    section,
    sha256,
)

A = block(1)
B = block(2, 40)
ROOT = A[0]
GOOD_HEADER = header([ROOT])
GOOD = car_bytes(GOOD_HEADER, section(A[0].bytes, A[1]), section(B[0].bytes, B[1]))
_A = (A[0].bytes, A[1])

CASES: list[tuple[str, bytes, type[CarError], str]] = [
    # -- block contents versus CID ------------------------------------------------------
    (
        "swapped-bytes",
        car_bytes(GOOD_HEADER, section(A[0].bytes, B[1]), section(B[0].bytes, A[1])),
        CarBlockMismatchError,
        "do not match",
    ),
    (
        "flipped-data-byte",
        car_bytes(GOOD_HEADER, section(A[0].bytes, A[1][:-1] + bytes([A[1][-1] ^ 1]))),
        CarBlockMismatchError,
        str(A[0]),
    ),
    (
        "flipped-digest-byte",
        car_bytes(GOOD_HEADER, section(A[0].bytes[:-1] + b"\x00", A[1])),
        CarBlockMismatchError,
        "do not match",
    ),
    (
        "raw-block-flipped-byte",
        car_bytes(GOOD_HEADER, section(CID.for_raw(b"blob bytes").bytes, b"blob bytez")),
        CarBlockMismatchError,
        "do not match",
    ),
    (
        "duplicate-cid-different-bytes",
        car_bytes(GOOD_HEADER, section(A[0].bytes, A[1]), section(A[0].bytes, B[1])),
        CarBlockMismatchError,
        "do not match",
    ),
    # -- refused CIDs --------------------------------------------------------------------
    (
        "cidv0",
        car_bytes(GOOD_HEADER, section(b"\x12\x20" + sha256(A[1]), A[1])),
        CarCidError,
        "CIDv0",
    ),
    (
        "sha512-multihash",
        car_bytes(GOOD_HEADER, section(cid_v1(0x71, 0x13, bytes(64)), A[1])),
        CarCidError,
        "multihash 0x13",
    ),
    (
        "identity-multihash",
        car_bytes(GOOD_HEADER, section(cid_v1(0x71, 0x00, A[1]), A[1])),
        CarCidError,
        "multihash 0x0",
    ),
    (
        "short-sha256-digest",
        car_bytes(GOOD_HEADER, section(cid_v1(0x71, 0x12, sha256(A[1])[:16]), A[1])),
        CarCidError,
        "digest length 16",
    ),
    (
        "dag-pb-codec",
        car_bytes(GOOD_HEADER, section(cid_v1(0x70, 0x12, sha256(A[1])), A[1])),
        CarCidError,
        "codec 0x70",
    ),
    (
        "dag-json-codec-two-byte-varint",
        car_bytes(GOOD_HEADER, section(cid_v1(0x0129, 0x12, sha256(A[1])), A[1])),
        CarCidError,
        "codec 0x129",
    ),
    (
        "cid-version-2",
        car_bytes(GOOD_HEADER, section(b"\x02" + A[0].bytes[1:], A[1])),
        CarCidError,
        "version 2",
    ),
    (
        "tag42-zero-prefix-on-cid",
        car_bytes(GOOD_HEADER, section(b"\x00" + A[0].bytes, A[1])),
        CarCidError,
        "version 0",
    ),
    (
        "cid-non-minimal-codec-varint",
        car_bytes(GOOD_HEADER, section(b"\x01\xf1\x00\x12\x20" + sha256(A[1]), A[1])),
        CarCidError,
        "minimal",
    ),
    (
        "section-shorter-than-cid",
        car_bytes(GOOD_HEADER, section(A[0].bytes[:20], b"")),
        CarCidError,
        "shorter than its CID",
    ),
    ("zero-length-section", car_bytes(GOOD_HEADER, b"\x00"), CarCidError, "empty block section"),
    # -- varints -------------------------------------------------------------------------
    ("empty-input", b"", CarTruncatedError, "no CAR header"),
    ("truncated-header-varint", b"\x80", CarTruncatedError, "inside a varint"),
    ("truncated-section-varint", GOOD + b"\xff\xff", CarTruncatedError, "inside a varint"),
    (
        "header-varint-over-2^63",
        b"\x80" * 9 + b"\x01" + GOOD_HEADER,
        CarVarintError,
        "longer than 9 bytes",
    ),
    ("section-varint-over-2^63", GOOD + b"\xff" * 10 + b"\x01", CarVarintError, "9 bytes"),
    ("non-minimal-header-varint", b"\xbf\x80\x00" + GOOD[1:], CarVarintError, "minimal"),
    ("non-minimal-section-varint", GOOD + b"\x81\x00", CarVarintError, "minimal"),
    # -- caps before allocation -------------------------------------------------------------
    ("header-2^62-bytes", encode_varint(2**62) + b"\xa2", CarLimitError, "header length"),
    ("header-max-varint", b"\xff" * 8 + b"\x7f", CarLimitError, "header length"),
    ("section-2^62-bytes", GOOD + encode_varint(2**62) + b"\x01", CarLimitError, "section length"),
    (
        "section-over-8MiB",
        GOOD + encode_varint(8 * 1024 * 1024 + 1) + A[0].bytes,
        CarLimitError,
        "exceeds the cap",
    ),
    # -- header ------------------------------------------------------------------------
    ("header-zero-length", b"\x00", CarHeaderError, "zero"),
    ("header-not-cbor", car_bytes(b"\xff\xff"), CarHeaderError, "not valid DAG-CBOR"),
    ("header-list", car_bytes(encode([ROOT, 1])), CarHeaderError, "must be a map"),
    ("header-int", car_bytes(encode(1)), CarHeaderError, "must be a map"),
    ("header-string", car_bytes(encode("roots")), CarHeaderError, "must be a map"),
    ("header-version-2", car_bytes(header([ROOT], 2)), CarHeaderError, "version 2"),
    ("header-version-true", car_bytes(header([ROOT], True)), CarHeaderError, "version True"),
    ("header-version-str", car_bytes(header([ROOT], "1")), CarHeaderError, "version"),
    ("header-no-version", car_bytes(encode({"roots": [ROOT]})), CarHeaderError, "keys"),
    ("header-no-roots", car_bytes(encode({"version": 1})), CarHeaderError, "keys"),
    (
        "header-extra-key",
        car_bytes(encode({"roots": [ROOT], "version": 1, "x": 0})),
        CarHeaderError,
        "keys",
    ),
    ("header-roots-not-list", car_bytes(header(ROOT)), CarHeaderError, "list of CIDs"),  # type: ignore[arg-type]
    (
        "header-roots-strings",
        car_bytes(encode({"roots": [str(ROOT)], "version": 1})),
        CarHeaderError,
        "list of CIDs",
    ),
    (
        "header-root-sha512",
        car_bytes(header([CID.from_bytes(cid_v1(0x71, 0x13, bytes(64)))])),
        CarHeaderError,
        "not a CIDv1 sha2-256",
    ),
    (
        "header-root-dag-pb",
        car_bytes(header([CID.from_bytes(cid_v1(0x70, 0x12, sha256(A[1])))]), section(*_A)),
        CarHeaderError,
        "dag-cbor/raw",
    ),
    (
        "header-root-cidv0",
        car_bytes(b"\xa2eroots\x81\xd8\x2a\x58\x23\x00\x12\x20" + sha256(A[1]) + b"gversion\x01"),
        CarHeaderError,
        "CIDv0",
    ),
    (
        "header-non-canonical-key-order",
        car_bytes(b"\xa2gversion\x01eroots\x81" + encode(ROOT)),
        CarHeaderError,
        "not valid DAG-CBOR",
    ),
    (
        "header-trailing-bytes",
        car_bytes(GOOD_HEADER + b"\x00"),
        CarHeaderError,
        "trailing",
    ),
    ("header-truncated", GOOD[: len(GOOD_HEADER) - 5], CarTruncatedError, "inside the header"),
    # -- trailing partial data -----------------------------------------------------------
    ("trailing-partial-section", GOOD + section(A[0].bytes, A[1])[:-3], CarTruncatedError, "block"),
    (
        "trailing-section-length-only",
        GOOD + encode_varint(100),
        CarTruncatedError,
        "declared 100 bytes",
    ),
]


def _read_all(source: object) -> None:
    reader = CarReader(source)  # type: ignore[arg-type]
    for _ in reader:
        pass


@pytest.mark.parametrize(
    ("car", "error", "match"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_rejected_from_bytes(car: bytes, error: type[CarError], match: str) -> None:
    start = time.perf_counter()
    with pytest.raises(error, match=match):
        _read_all(car)
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize(
    ("car", "error", "match"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_rejected_from_stream(car: bytes, error: type[CarError], match: str) -> None:
    with pytest.raises(error, match=match):
        _read_all(RecordingReader(car, max_read=5))
    with pytest.raises(error, match=match):
        read_car(io.BytesIO(car))


def test_good_car_is_accepted() -> None:
    assert read_car(GOOD) == ([ROOT], {A[0]: A[1], B[0]: B[1]})


def test_mismatch_error_names_offset_of_section() -> None:
    car = car_bytes(GOOD_HEADER, section(A[0].bytes, A[1]), section(B[0].bytes, A[1]))
    second = len(car_bytes(GOOD_HEADER, section(A[0].bytes, A[1])))
    with pytest.raises(CarBlockMismatchError) as info:
        read_car(car)
    assert info.value.offset == second
    assert str(B[0]) in str(info.value)


def test_roots_requirement() -> None:
    two = car_bytes(header([A[0], B[0]]), section(A[0].bytes, A[1]))
    none = car_bytes(header([]), section(A[0].bytes, A[1]))
    assert read_car(two)[0] == [A[0], B[0]]
    assert read_car(none)[0] == []
    for car in (two, none):
        with pytest.raises(CarRootsError):
            read_car(car, require_single_root=True)


def test_block_cap_100k_one_byte_blocks() -> None:
    tiny = (CID.for_raw(b"x"), b"x")
    one = section(tiny[0].bytes, tiny[1])
    car = car_bytes(header([tiny[0]])) + one * 100_001
    start = time.perf_counter()
    with pytest.raises(CarLimitError, match="more than 100000 blocks"):
        read_car(car, max_blocks=100_000)
    with pytest.raises(CarLimitError, match="more than 10000 blocks"):
        read_car(car, max_blocks=10_000)
    _, blocks = read_car(car)  # the default cap (2,000,000) lets it through
    assert len(blocks) == 1
    assert time.perf_counter() - start < 10


def test_block_cap_is_checked_before_reading_the_extra_block() -> None:
    car = write_car([], [block(1), block(2)]) + encode_varint(1000)  # no bytes follow
    with pytest.raises(CarLimitError):
        read_car(car, max_blocks=2)


def test_section_cap_boundary() -> None:
    big = block(0, 200)
    car = write_car([], [big])
    length = 36 + len(big[1])
    assert read_car(car, max_section_size=length)[1] == {big[0]: big[1]}
    with pytest.raises(CarLimitError):
        read_car(car, max_section_size=length - 1)


def test_header_cap_boundary() -> None:
    car = write_car([ROOT], [A])
    assert read_car(car, max_header_size=len(GOOD_HEADER))[0] == [ROOT]
    with pytest.raises(CarLimitError):
        read_car(car, max_header_size=len(GOOD_HEADER) - 1)


def test_huge_declared_header_is_refused_before_reading_it() -> None:
    stream = RecordingReader(encode_varint(2**40) + b"\x00" * 100_000)
    with pytest.raises(CarLimitError):
        CarReader(stream)
    assert stream.served <= 64 * 1024 + 16


@pytest.mark.parametrize("bad", [-1, 1.5, True, None])
def test_cap_arguments_are_validated(bad: object) -> None:
    with pytest.raises(ValueError, match="non-negative int"):
        CarReader(GOOD, max_blocks=bad)  # type: ignore[arg-type]


class _NoneStream:
    def read(self, size: int = -1, /) -> None:
        return None


def test_non_blocking_stream_is_refused() -> None:
    with pytest.raises(CarError, match="non-blocking"):
        CarReader(_NoneStream())


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_cars_fail_typed_or_verify(data: st.DataObject) -> None:
    car = bytearray(write_car([ROOT], [A, B, block(3, 300)]))
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        action = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        pos = data.draw(st.integers(min_value=0, max_value=max(len(car) - 1, 0)))
        if action == "flip" and car:
            car[pos] ^= 1 << data.draw(st.integers(min_value=0, max_value=7))
        elif action == "cut":
            del car[pos:]
        elif action == "insert":
            car[pos:pos] = data.draw(st.binary(min_size=1, max_size=4))
        elif car:
            del car[pos]
    try:
        roots, blocks = read_car(bytes(car))
    except CarError:
        return
    # Whatever survives mutation must still be self-consistent.
    for cid, payload in blocks.items():
        assert cid.digest == sha256(payload)
    assert all(isinstance(r, CID) for r in roots)


class _OverlongStream:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, size: int = -1, /) -> bytes:
        return self._data  # ignores size: a broken file-like object


def test_stream_returning_more_than_asked_is_refused() -> None:
    with pytest.raises(CarError, match="when asked for at most"):
        CarReader(_OverlongStream(b"\x05" + b"\x00" * 100_000))

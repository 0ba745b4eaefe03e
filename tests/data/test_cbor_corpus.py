"""DAG-CBOR corpus: one named case per forbidden form, and the canonical forms we accept.

Every case runs against both backends (pure Python and the C accelerator). Rows of
shared/spec/reliability.md section 3 covered here: R1 (non-canonical forms), R2 (floats
and integer range), R8 (allocation bombs), R9 (deep nesting), R10 (big maps, non-string
keys), R12 (lone surrogates on the CBOR side), R14 (the encoder never writes what the
decoder refuses).
"""

from __future__ import annotations

import base64
import json
import math
import time
import tracemalloc
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lexforge.runtime.data import CID, DecodeError, EncodeError, cbor_pure
from tests.timing import fastest

try:
    from lexforge.runtime.data import _cbor as c_backend
except ImportError:  # pragma: no cover - covered by test_cbor_backend.py
    c_backend = None  # type: ignore[assignment]

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "data-model"

BACKENDS = [
    pytest.param(cbor_pure, id="python"),
    pytest.param(
        c_backend,
        id="c",
        marks=pytest.mark.skipif(c_backend is None, reason="C accelerator not built"),
    ),
]

DIGEST = bytes(range(32))
CID_DAG = b"\x01\x71\x12\x20" + DIGEST
CID_RAW = b"\x01\x55\x12\x20" + DIGEST
LINK = b"\xd8\x2a\x58\x25\x00" + CID_DAG  # canonical tag 42 over a dag-cbor CID


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# (name, encoded bytes, substring of the DecodeError message)
INVALID: list[tuple[str, bytes, str]] = [
    # --- R1: map keys
    ("keys_unsorted_bytewise", h("a2 6162 01 6161 02"), "canonical order"),
    ("keys_unsorted_length_first", h("a2 626161 01 6162 02"), "canonical order"),
    ("keys_alphabetical_not_length_first", h("a2 652474797065 01 6473697a65 02"), "order"),
    ("keys_uppercase_after_lowercase", h("a2 6161 01 6142 02"), "canonical order"),
    ("keys_duplicate", h("a2 6161 01 6161 02"), "duplicate map key"),
    ("keys_duplicate_not_adjacent_values", h("a3 6161 01 6162 02 6161 03"), "canonical order"),
    ("key_int", h("a1 01 02"), "map key is not a text string"),
    ("key_bytes", h("a1 4161 02"), "map key is not a text string"),
    ("key_array", h("a1 80 02"), "map key is not a text string"),
    ("key_map", h("a1 a0 02"), "map key is not a text string"),
    ("key_null", h("a1 f6 02"), "map key is not a text string"),
    ("key_bool", h("a1 f5 02"), "map key is not a text string"),
    ("key_cid", h("a1") + LINK + h("02"), "map key is not a text string"),
    ("key_float", h("a1 f93c00 02"), "map key is not a text string"),
    ("key_indefinite_text", h("a1 7f6161ff 02"), "indefinite-length text string"),
    ("key_nonminimal_length", h("a1 780161 02"), "non-minimal text string head"),
    ("key_invalid_utf8", h("a1 61ff 02"), "invalid UTF-8 in map key"),
    ("key_surrogate", h("a1 63eda080 02"), "invalid UTF-8 in map key"),
    # --- R1: non-minimal heads
    ("uint_nonminimal_1", h("1801"), "non-minimal unsigned int head (1-byte form)"),
    ("uint_nonminimal_1_max", h("1817"), "non-minimal unsigned int head (1-byte form)"),
    ("uint_nonminimal_2", h("1900ff"), "non-minimal unsigned int head (2-byte form)"),
    ("uint_nonminimal_4", h("1a0000ffff"), "non-minimal unsigned int head (4-byte form)"),
    ("uint_nonminimal_8", h("1b00000000ffffffff"), "(8-byte form)"),
    ("negint_nonminimal", h("3800"), "non-minimal negative int head"),
    ("negint_nonminimal_8", h("3b0000000000000000"), "non-minimal negative int head"),
    ("bytes_len_nonminimal", h("580100"), "non-minimal byte string head"),
    ("text_len_nonminimal", h("780161"), "non-minimal text string head"),
    ("text_len_nonminimal_2", h("79000161"), "non-minimal text string head"),
    ("array_len_nonminimal", h("980100"), "non-minimal array head"),
    ("map_len_nonminimal", h("b801616100"), "non-minimal map head"),
    ("tag_nonminimal", h("d9002a5825") + b"\x00" + CID_DAG, "non-minimal tag head"),
    ("tag42_payload_len_nonminimal", h("d82a590025") + b"\x00" + CID_DAG, "non-minimal"),
    # --- R1: indefinite lengths and stray breaks
    ("indefinite_bytes", h("5f4100ff"), "indefinite-length byte string"),
    ("indefinite_text", h("7f6161ff"), "indefinite-length text string"),
    ("indefinite_array", h("9fff"), "indefinite-length array"),
    ("indefinite_array_items", h("9f0102ff"), "indefinite-length array"),
    ("indefinite_map", h("bfff"), "indefinite-length map"),
    ("indefinite_uint", h("1f"), "indefinite-length unsigned int"),
    ("break_code", h("ff"), "break code"),
    ("break_in_array", h("81ff"), "break code"),
    # --- R1/R2: floats of every width, NaN, infinities
    ("float16_one", h("f93c00"), "half-precision float"),
    ("float16_zero", h("f90000"), "half-precision float"),
    ("float16_nan", h("f97e00"), "half-precision float"),
    ("float16_inf", h("f97c00"), "half-precision float"),
    ("float32_one", h("fa3f800000"), "float is not allowed"),
    ("float32_nan", h("fa7fc00000"), "float is not allowed"),
    ("float64_one", h("fb3ff0000000000000"), "double float"),
    ("float64_integral_123", h("fb405ec00000000000"), "double float"),
    ("float64_nan", h("fb7ff8000000000000"), "double float"),
    ("float64_neg_inf", h("fbfff0000000000000"), "double float"),
    ("float_in_map", h("a16161fb3ff0000000000000"), "double float"),
    ("float_truncated", h("fb3ff0"), "double float"),
    # --- R1: simple values
    ("undefined", h("f7"), "undefined"),
    ("simple_0", h("e0"), "simple value"),
    ("simple_19", h("f3"), "simple value"),
    ("simple_1byte_32", h("f820"), "simple value"),
    ("simple_1byte_false", h("f814"), "simple value"),
    ("simple_reserved_28", h("fc"), "simple value"),
    # --- R1: reserved additional information
    ("reserved_ai_28", h("1c"), "reserved additional information 28"),
    ("reserved_ai_29_text", h("7d"), "reserved additional information 29"),
    ("reserved_ai_30_map", h("be"), "reserved additional information 30"),
    # --- R1: tags other than 42
    ("tag_0_datetime", h("c074323031332d30332d32315432303a30343a30305a"), "CBOR tag 0"),
    ("tag_1_epoch", h("c11a514b67b0"), "CBOR tag 1"),
    ("tag_2_bignum", h("c249010000000000000000"), "CBOR tag 2"),
    ("tag_3_negbignum", h("c349010000000000000000"), "CBOR tag 3"),
    ("tag_24_embedded", h("d81843a10102"), "CBOR tag 24"),
    ("tag_28_shareable", h("d81c80"), "CBOR tag 28"),
    ("tag_29_sharedref", h("d81d00"), "CBOR tag 29"),
    ("tag_43", h("d82b5825") + b"\x00" + CID_DAG, "CBOR tag 43"),
    ("tag_258_set", h("d9010280"), "CBOR tag 258"),
    ("tag_55799_self_describe", h("d9d9f7a0"), "CBOR tag 55799"),
    ("tag_huge", h("dbffffffffffffffff00"), "CBOR tag 18446744073709551615"),
    ("tag_indefinite", h("df"), "indefinite-length tag"),
    # --- R1: tag 42 payloads
    ("tag42_over_text", h("d82a6161"), "tag 42 must wrap a byte string"),
    ("tag42_over_int", h("d82a01"), "tag 42 must wrap a byte string"),
    ("tag42_over_tag42", h("d82a") + LINK, "tag 42 must wrap a byte string"),
    ("tag42_over_array", h("d82a80"), "tag 42 must wrap a byte string"),
    ("tag42_at_end", h("d82a"), "unexpected end of input after tag 42"),
    ("tag42_empty_payload", h("d82a40"), "cannot hold a valid CID"),
    ("tag42_only_prefix", h("d82a4100"), "empty binary CID"),
    ("tag42_no_prefix", h("d82a5824") + CID_DAG, "0x00 multibase prefix"),
    ("tag42_prefix_01", h("d82a5825") + b"\x01" + CID_DAG, "0x00 multibase prefix"),
    ("tag42_double_prefix", h("d82a5826") + b"\x00\x00" + CID_DAG, "version byte 0x00"),
    ("tag42_cidv0", h("d82a5823") + b"\x00\x12\x20" + DIGEST, "CIDv0"),
    ("tag42_cid_version_2", h("d82a5825") + b"\x00\x02\x71\x12\x20" + DIGEST, "version"),
    ("tag42_digest_short", h("d82a5824") + b"\x00" + CID_DAG[:-1], "digest"),
    ("tag42_digest_long", h("d82a5826") + b"\x00" + CID_DAG + b"\x00", "digest"),
    ("tag42_truncated_varint", h("d82a4300") + b"\x01\x80", "truncated codec varint"),
    ("tag42_nonminimal_varint", h("d82a4800") + b"\x01\xf1\x00\x12\x02\x00\x00", "non-minimal"),
    ("tag42_cid_over_100_bytes", h("d82a5866") + b"\x00\x01\x71\x12\x61" + bytes(97), "102"),
    ("tag42_payload_runs_past_end", h("d82a5825") + b"\x00" + CID_DAG[:10], "past the end"),
    # --- R1: trailing bytes and truncation
    ("trailing_byte", h("0000"), "1 trailing bytes"),
    ("trailing_null", h("f6f6"), "1 trailing bytes"),
    ("trailing_after_map", h("a0ff"), "1 trailing bytes"),
    ("trailing_many", h("a0") + bytes(10), "10 trailing bytes"),
    ("empty_input", b"", "empty input"),
    ("truncated_head_1", h("18"), "truncated CBOR head"),
    ("truncated_head_2", h("1901"), "truncated CBOR head"),
    ("truncated_head_4", h("1a0102"), "truncated CBOR head"),
    ("truncated_head_8", h("1b01020304"), "truncated CBOR head"),
    ("truncated_text", h("626161")[:2], "past the end"),
    ("truncated_bytes", h("4301"), "past the end"),
    ("truncated_array", h("820101")[:2], "past the end"),
    ("truncated_array_nested", h("81 81"), "past the end"),
    ("truncated_map_value", h("a16161"), "unexpected end of input"),
    ("truncated_map_key", h("a2626161 01"), "unexpected end of input"),
    ("truncated_map_count", h("a2616101"), "map of 2 entries runs past the end"),
    # --- R2 (CBOR side): integers outside int64
    ("uint_2_63", h("1b8000000000000000"), "above the int64 range"),
    ("uint_2_64_minus_1", h("1bffffffffffffffff"), "above the int64 range"),
    ("negint_below_int64", h("3b8000000000000000"), "below the int64 range"),
    ("negint_min_cbor", h("3bffffffffffffffff"), "below the int64 range"),
    # --- strings: invalid UTF-8 and encoded surrogates (R12 on the CBOR side)
    ("text_invalid_byte", h("61ff"), "invalid UTF-8 in text string"),
    ("text_truncated_sequence", h("62c328"), "invalid UTF-8 in text string"),
    ("text_overlong_slash", h("62c0af"), "invalid UTF-8 in text string"),
    ("text_overlong_nul", h("62c080"), "invalid UTF-8 in text string"),
    ("text_lone_high_surrogate", h("63eda080"), "invalid UTF-8 in text string"),
    ("text_lone_low_surrogate", h("63edb080"), "invalid UTF-8 in text string"),
    ("text_surrogate_pair_cesu8", h("66eda0bdedb2a9"), "invalid UTF-8 in text string"),
    ("text_above_max_code_point", h("64f4908080"), "invalid UTF-8 in text string"),
    ("text_cut_multibyte", h("62e282"), "invalid UTF-8 in text string"),
    # --- R8: declared lengths far beyond the input
    ("bytes_len_2_31", h("5a80000000"), "2147483648 bytes runs past the end"),
    ("bytes_len_2_62", h("5b4000000000000000"), "runs past the end"),
    ("bytes_len_2_64_minus_1", h("5bffffffffffffffff"), "runs past the end"),
    ("text_len_2_31", h("7a80000000"), "runs past the end"),
    ("text_len_2_62", h("7b4000000000000000"), "runs past the end"),
    ("text_len_2_64_minus_1", h("7bffffffffffffffff"), "runs past the end"),
    ("array_len_2_31", h("9a80000000"), "exceeds the 131072 limit"),
    ("array_len_2_64_minus_1", h("9bffffffffffffffff"), "exceeds the 131072 limit"),
    ("map_len_2_31", h("ba80000000"), "exceeds the 131072 limit"),
    ("map_len_2_62", h("bb4000000000000000"), "exceeds the 131072 limit"),
    ("array_len_within_limit_past_end", h("9a00020000") + bytes(100), "runs past the end"),
    ("map_len_within_limit_past_end", h("b9ffff") + bytes(100), "runs past the end"),
    ("array_len_131073", h("9a00020001") + bytes(131073), "exceeds the 131072 limit"),
    ("key_len_2_62", h("a17b4000000000000000"), "exceeds the 8192 limit"),
    ("key_len_8193", h("a1792001") + b"a" * 8193 + h("00"), "map key of 8193 bytes"),
    # --- R9: nesting
    ("depth_33_arrays", h("81") * 33 + h("00"), "nesting deeper than 32 levels"),
    ("depth_33_maps", h("a16161") * 33 + h("00"), "nesting deeper than 32 levels"),
    ("depth_33_mixed", (h("81") + h("a16161")) * 17, "nesting deeper than 32 levels"),
    ("depth_1000", h("81") * 1000 + h("00"), "nesting deeper than 32 levels"),
    ("depth_1000000", h("81") * 1_000_000 + h("00"), "nesting deeper than 32 levels"),
    ("depth_1000000_maps", h("a16161") * 1_000_000 + h("00"), "nesting deeper"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("name", "data", "why"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_corpus(backend: ModuleType, name: str, data: bytes, why: str) -> None:
    with pytest.raises(DecodeError) as info:
        backend.decode(data)
    assert why in str(info.value), f"{name}: {info.value}"
    assert info.value.offset is not None
    assert 0 <= info.value.offset <= len(data)

    def reject() -> None:
        with pytest.raises(DecodeError):
            backend.decode(data)

    elapsed = fastest(reject, budget=0.1)
    assert elapsed < 0.1, f"{name} took {elapsed * 1000:.1f} ms"


@pytest.mark.parametrize("backend", BACKENDS)
def test_invalid_corpus_memory_is_bounded(backend: ModuleType) -> None:
    """R8: refusing any corpus input allocates at most the input's size plus a little,
    whatever length it declares (e.g. a 131,072-element array with 100 bytes behind it
    must fail before a 1 MiB list is allocated). tracemalloc sees the C accelerator's
    allocations too: it allocates through the Python allocators."""
    tracemalloc.start()
    try:
        for name, data, _ in INVALID:
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            with pytest.raises(DecodeError):
                backend.decode(data)
            peak = tracemalloc.get_traced_memory()[1] - before
            assert peak <= len(data) + 64 * 1024, f"{name}: peak {peak} bytes"
    finally:
        tracemalloc.stop()


def test_invalid_corpus_names_are_unique() -> None:
    names = [c[0] for c in INVALID]
    assert len(names) == len(set(names))


# (name, encoded bytes, decoded value)
VALID: list[tuple[str, bytes, Any]] = [
    ("uint_0", h("00"), 0),
    ("uint_23", h("17"), 23),
    ("uint_24", h("1818"), 24),
    ("uint_255", h("18ff"), 255),
    ("uint_256", h("190100"), 256),
    ("uint_65535", h("19ffff"), 65535),
    ("uint_65536", h("1a00010000"), 65536),
    ("uint_2_32", h("1b0000000100000000"), 2**32),
    ("uint_js_max_safe", h("1b001fffffffffffff"), 2**53 - 1),
    ("uint_2_53", h("1b0020000000000000"), 2**53),
    ("uint_int64_max", h("1b7fffffffffffffff"), 2**63 - 1),
    ("negint_1", h("20"), -1),
    ("negint_24", h("37"), -24),
    ("negint_25", h("3818"), -25),
    ("negint_js_min_safe", h("3b001ffffffffffffe"), -(2**53) + 1),
    ("negint_int64_min", h("3b7fffffffffffffff"), -(2**63)),
    ("false", h("f4"), False),
    ("true", h("f5"), True),
    ("null", h("f6"), None),
    ("empty_bytes", h("40"), b""),
    ("bytes", h("43010203"), b"\x01\x02\x03"),
    ("bytes_look_like_cid", h("5824") + CID_DAG, CID_DAG),
    ("empty_text", h("60"), ""),
    ("text", h("6161"), "a"),
    ("text_unicode", h("63e282ac"), "\u20ac"),
    ("text_astral", h("64f09f9880"), "\U0001f600"),
    ("text_nul", h("6100"), "\x00"),
    ("empty_array", h("80"), []),
    ("empty_map", h("a0"), {}),
    ("empty_key", h("a16001"), {"": 1}),
    ("link_dag_cbor", LINK, CID.from_bytes(CID_DAG)),
    ("link_raw", h("d82a5825") + b"\x00" + CID_RAW, CID.from_bytes(CID_RAW)),
    (
        "link_sha512_not_blessed",
        h("d82a5845") + b"\x00\x01\x71\x13\x40" + bytes(64),
        CID.from_bytes(b"\x01\x71\x13\x40" + bytes(64)),
    ),
    (
        "keys_length_first",
        h("a4 63726566 01 6473697a65 02 652474797065 03 686d696d6554797065 04"),
        {"ref": 1, "size": 2, "$type": 3, "mimeType": 4},
    ),
    ("keys_bytewise", h("a3 6142 01 6161 02 6162 03"), {"B": 1, "a": 2, "b": 3}),
    ("depth_32_arrays", h("81") * 31 + h("80"), [[]] if False else None),  # replaced below
    ("key_len_8192", h("a1792000") + b"a" * 8192 + h("00"), {"a" * 8192: 0}),
]


def _nest(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


VALID = [(n, d, _nest(32) if n == "depth_32_arrays" else v) for n, d, v in VALID]


def same(a: Any, b: Any) -> bool:
    """Equality that also compares types (True == 1 and b"" == bytearray() in Python)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("name", "data", "value"), VALID, ids=[c[0] for c in VALID])
def test_valid_corpus(backend: ModuleType, name: str, data: bytes, value: Any) -> None:
    decoded = backend.decode(data)
    assert same(decoded, value), f"{name}: {decoded!r}"
    assert backend.encode(value) == data
    assert backend.encode(decoded) == data


@pytest.mark.parametrize("backend", BACKENDS)
def test_bytes_that_look_like_a_cid_stay_bytes(backend: ModuleType) -> None:
    value = backend.decode(h("5824") + CID_DAG)
    assert type(value) is bytes
    assert backend.encode({"a": CID_DAG}) != backend.encode({"a": CID.from_bytes(CID_DAG)})


@pytest.mark.parametrize("backend", BACKENDS)
def test_interop_fixtures(backend: ModuleType) -> None:
    """data-model-fixtures.json: bytes decode, re-encode identically and hash to the CID.

    The Python value is built by hand here (the JSON layer has its own test), so this
    checks the CBOR side alone: link/bytes/blob encoding and key order.
    """
    fixtures = json.loads((VECTORS / "data-model-fixtures.json").read_text())
    assert len(fixtures) == 3
    for fixture in fixtures:
        data = base64.b64decode(fixture["cbor_base64"] + "==")
        value = backend.decode(data)
        assert backend.encode(value) == data
        assert str(CID.for_cbor(data)) == fixture["cid"]
        assert same(value, _from_fixture_json(fixture["json"]))
        assert backend.encode(_from_fixture_json(fixture["json"])) == data


def _from_fixture_json(obj: Any) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"$link"}:
            return CID.parse(obj["$link"])
        if set(obj) == {"$bytes"}:
            return base64.b64decode(obj["$bytes"] + "==")
        return {k: _from_fixture_json(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_from_fixture_json(v) for v in obj]
    return obj


@pytest.mark.parametrize("backend", BACKENDS)
def test_depth_limits(backend: ModuleType) -> None:
    for depth in (1, 31, 32):
        data = h("81") * (depth - 1) + h("80")
        assert backend.decode(data) == _nest(depth)
        assert backend.encode(_nest(depth)) == data
    with pytest.raises(EncodeError, match="nesting deeper than 32"):
        backend.encode(_nest(33))
    assert backend.decode(h("81") * 40 + h("00"), max_depth=41) is not None
    with pytest.raises(DecodeError, match="nesting deeper than 3 levels"):
        backend.decode(h("818181 80"), max_depth=3)
    assert backend.decode(h("8181 80"), max_depth=3) == [[[]]]
    assert backend.decode(h("07"), max_depth=0) == 7
    with pytest.raises(DecodeError):
        backend.decode(h("80"), max_depth=0)
    with pytest.raises(ValueError, match="max_depth"):
        backend.decode(h("00"), max_depth=257)
    with pytest.raises(ValueError, match="max_depth"):
        backend.encode(0, max_depth=-1)
    with pytest.raises(TypeError):
        backend.decode(h("00"), max_depth="3")
    with pytest.raises(TypeError):
        backend.decode(h("00"), max_depth=True)
    with pytest.raises(TypeError):
        backend.decode(h("00"), no_such_option=1)
    with pytest.raises(TypeError):
        backend.encode(0, require_blessed_cids=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cycles_fail_cleanly(backend: ModuleType) -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(EncodeError, match="or a cycle"):
        backend.encode(loop)
    mapping: dict[str, Any] = {}
    mapping["self"] = mapping
    with pytest.raises(EncodeError, match="or a cycle"):
        backend.encode(mapping)


@pytest.mark.parametrize("backend", BACKENDS)
def test_container_and_key_limits(backend: ModuleType) -> None:
    big = list(range(131_072))
    data = backend.encode(big)
    assert backend.decode(data) == big
    with pytest.raises(EncodeError, match="131073 elements"):
        backend.encode([0] * 131_073)
    with pytest.raises(DecodeError, match="exceeds the 10 limit"):
        backend.decode(backend.encode(list(range(11))), max_container_len=10)
    with pytest.raises(EncodeError, match="map key of 8193 bytes"):
        backend.encode({"a" * 8193: 1})
    with pytest.raises(DecodeError, match="map key of 4 bytes exceeds the 3 limit"):
        backend.decode(backend.encode({"abcd": 1}), max_key_len=3)
    assert backend.decode(backend.encode({"abcd": 1}), max_key_len=4) == {"abcd": 1}
    # limits are counted in UTF-8 bytes, not characters
    with pytest.raises(EncodeError, match="map key of 6 bytes"):
        backend.encode({"\u20ac\u20ac": 1}, max_key_len=5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_r10_big_map_is_fast(backend: ModuleType) -> None:
    """131,072 keys (the container cap) decode and encode in linear time."""
    mapping = {f"k{i:06d}": i for i in range(131_072)}
    data = backend.encode(mapping)
    start = time.perf_counter()
    assert backend.decode(data) == mapping
    elapsed = time.perf_counter() - start
    assert elapsed < (0.5 if backend is c_backend else 3.0)
    assert backend.encode(dict(reversed(mapping.items()))) == data


@pytest.mark.parametrize("backend", BACKENDS)
def test_r8_huge_declared_lengths_fail_without_allocating(backend: ModuleType) -> None:
    for data in (h("5b4000000000000000"), h("7bffffffffffffffff"), h("9a00020000")):

        def reject(data: bytes = data) -> None:
            with pytest.raises(DecodeError):
                backend.decode(data, max_container_len=2**32)

        assert fastest(reject, budget=0.01) < 0.01


@pytest.mark.parametrize("backend", BACKENDS)
def test_require_blessed_cids(backend: ModuleType) -> None:
    sha512 = h("d82a5845") + b"\x00\x01\x71\x13\x40" + bytes(64)
    dag_pb = h("d82a5825") + b"\x00\x01\x70\x12\x20" + DIGEST
    short = h("d82a55") + b"\x00\x01\x71\x12\x10" + bytes(16)
    for data in (sha512, dag_pb, short):
        assert isinstance(backend.decode(data), CID)
        with pytest.raises(DecodeError, match="require_blessed_cids"):
            backend.decode(data, require_blessed_cids=True)
    assert isinstance(backend.decode(LINK, require_blessed_cids=True), CID)


# --- encoding -------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("value", "why"),
    [
        (1.0, "float 1.0 is not allowed"),
        (123.0, "float 123.0"),
        (1.5, "float 1.5"),
        (math.nan, "float nan"),
        (math.inf, "float inf"),
        (-math.inf, "float -inf"),
        (-0.0, "float -0.0"),
        (2**63, "above the int64 range"),
        (2**64, "above the int64 range"),
        (-(2**63) - 1, "below the int64 range"),
        (10**100, "above the int64 range"),
        ({1: "a"}, "map key 1 is a int, not a str"),
        ({b"a": 1}, "map key b'a' is a bytes, not a str"),
        ({None: 1}, "not a str"),
        ({("a",): 1}, "not a str"),
        ("\ud800", "lone surrogate"),
        ({"\udfff": 1}, "map key is not valid Unicode"),
        (set(), "cannot encode a value of type builtins.set"),
        (frozenset(), "builtins.frozenset"),
        (object(), "builtins.object"),
        (memoryview(b"a"), "builtins.memoryview"),
        (complex(1, 2), "builtins.complex"),
        (range(3), "builtins.range"),
        (iter([]), "builtins.list_iterator"),
        (
            CID.parse("QmNLei78zWmzUdbeRB3CiUfAizWUrbeeZh5K1rhAQKCh51", allow_v0=True),
            "CIDv0 links cannot be written",
        ),
    ],
)
def test_encode_rejects(backend: ModuleType, value: object, why: str) -> None:
    with pytest.raises(EncodeError, match=None) as info:
        backend.encode(value)
    assert why in str(info.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_encode_error_path(backend: ModuleType) -> None:
    value = {"embed": {"images": [{"alt": "x"}, {"alt": 1.5}]}}
    with pytest.raises(EncodeError) as info:
        backend.encode(value)
    assert info.value.path == ("embed", "images", 1, "alt")
    assert info.value.reason.startswith("float 1.5")
    assert "['embed']['images'][1]['alt']" in str(info.value)
    with pytest.raises(EncodeError) as info:
        backend.encode([0, [1, {"k": object()}]])
    assert info.value.path == (1, 1, "k")


@pytest.mark.parametrize("backend", BACKENDS)
def test_bool_is_not_int(backend: ModuleType) -> None:
    assert backend.encode(True) == h("f5")
    assert backend.encode(False) == h("f4")
    assert backend.encode(1) == h("01")
    assert backend.encode(0) == h("00")
    assert backend.encode([True, 1, False, 0]) == h("84f501f400")
    assert backend.decode(h("f5")) is True
    assert type(backend.decode(h("01"))) is int


@pytest.mark.parametrize("backend", BACKENDS)
def test_encode_subclasses_and_tuples(backend: ModuleType) -> None:
    class Did(str):
        def __str__(self) -> str:  # must not be used by the encoder
            return "overridden"

    class Count(int):
        def __int__(self) -> int:
            return 99

    class Blob(bytes):
        pass

    class Record(dict):  # type: ignore[type-arg]
        def items(self) -> Any:
            raise AssertionError("must not be called")

    class Items(list):  # type: ignore[type-arg]
        pass

    assert backend.encode(Did("did:plc:x")) == backend.encode("did:plc:x")
    assert backend.encode(Count(5)) == h("05")
    assert backend.encode(Blob(b"ab")) == h("426162")
    assert backend.encode(bytearray(b"ab")) == h("426162")
    assert backend.encode(Record(b=1, a=2)) == backend.encode({"a": 2, "b": 1})
    assert backend.encode(Items([1, 2])) == h("820102")
    assert backend.encode((1, (2,))) == h("82018102")
    assert backend.encode({Did("k"): 1}) == h("a1616b01")
    with pytest.raises(EncodeError, match="above the int64 range"):
        backend.encode(Count(2**64))


@pytest.mark.parametrize("backend", BACKENDS)
def test_encode_sorts_keys_length_first(backend: ModuleType) -> None:
    blob = {
        "$type": "blob",
        "mimeType": "image/jpeg",
        "size": 10000,
        "ref": CID.from_bytes(CID_RAW),
    }
    data = backend.encode(blob)
    assert list(backend.decode(data)) == ["ref", "size", "$type", "mimeType"]
    order = ["integer", "unicode", "bool", "object", "null", "array", "string"]
    data = backend.encode(dict.fromkeys(order, 0))
    assert list(backend.decode(data)) == [
        "bool",
        "null",
        "array",
        "object",
        "string",
        "integer",
        "unicode",
    ]
    # UTF-8 length decides, not the number of characters: "é" (2 bytes) after "z"
    assert list(backend.decode(backend.encode({"\u00e9": 1, "z": 2, "ab": 3}))) == [
        "z",
        "ab",
        "\u00e9",
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_decode_input_types(backend: ModuleType) -> None:
    data = h("a16161820102")
    assert backend.decode(bytearray(data)) == {"a": [1, 2]}
    assert backend.decode(memoryview(data)) == {"a": [1, 2]}
    assert backend.decode(memoryview(b"xx" + data)[2:]) == {"a": [1, 2]}
    assert type(backend.decode(bytearray(h("4161")))) is bytes
    with pytest.raises(TypeError):
        backend.decode("a16161")
    with pytest.raises(TypeError):
        backend.decode(None)


@pytest.mark.parametrize("backend", BACKENDS)
def test_decode_prefix(backend: ModuleType) -> None:
    header = backend.encode({"op": 1, "t": "#commit"})
    body = backend.encode({"seq": 5, "blocks": b"\x00" * 40, "link": CID.from_bytes(CID_DAG)})
    frame = header + body
    value, end = backend.decode_prefix(frame)
    assert value == {"op": 1, "t": "#commit"}
    assert end == len(header)
    value2, end2 = backend.decode_prefix(frame, end)
    assert value2["seq"] == 5
    assert end2 == len(frame)
    assert backend.decode_prefix(frame, offset=end) == (value2, end2)
    with pytest.raises(DecodeError, match="empty input") as info:
        backend.decode_prefix(frame, end2)
    assert info.value.offset == len(frame)
    with pytest.raises(ValueError, match="outside the input"):
        backend.decode_prefix(frame, len(frame) + 1)
    with pytest.raises(ValueError, match="outside the input"):
        backend.decode_prefix(frame, -1)
    with pytest.raises(TypeError):
        backend.decode_prefix(frame, 1.0)
    # errors report absolute offsets into the whole buffer
    with pytest.raises(DecodeError) as info:
        backend.decode_prefix(header + h("1801"), len(header))
    assert info.value.offset == len(header)


@pytest.mark.parametrize("backend", BACKENDS)
def test_decode_error_offsets(backend: ModuleType) -> None:
    cases = [
        (h("a2 6161 01 6161 02"), 4),  # the second key
        (h("83 01 02 1801"), 3),
        (h("a1 6161 63 61 ff 61"), 5),  # invalid byte inside the string
        (h("d82a5824") + CID_DAG, 4),
    ]
    for data, offset in cases:
        with pytest.raises(DecodeError) as info:
            backend.decode(data)
        assert info.value.offset == offset, (data.hex(), str(info.value))


@pytest.mark.parametrize("backend", BACKENDS)
def test_short_string_cache_never_confuses_strings(backend: ModuleType) -> None:
    """The C decoder caches short ASCII strings keyed by length, head and tail bytes:
    strings that agree on all three but differ in the middle must still decode apart."""
    middle = [f"{'h' * 8}{i:0{n - 16}d}{'t' * 8}" for n in (17, 24, 32) for i in range(50)]
    short = [f"k{i}" for i in range(3000)] + ["", "a", "a" * 8, "a" * 16, "a" * 32, "a" * 33]
    for strings in (middle, short, list(reversed(middle)), middle):
        data = backend.encode(strings)
        assert backend.decode(data) == strings
        mapping = {s: i for i, s in enumerate(strings)}
        assert backend.decode(backend.encode(mapping)) == mapping

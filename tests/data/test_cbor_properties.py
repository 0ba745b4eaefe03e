"""Hypothesis properties of the DAG-CBOR codec (reliability.md 7.2.1), on both backends.

- decode(encode(v)) == v (with types: True is not 1) for generated data-model values;
- encode does not depend on dict insertion order;
- for arbitrary bytes b (random, and mutations of valid encodings): decode(b) either
  raises DecodeError or encode(decode(b)) == b, i.e. only canonical bytes decode.
"""

from __future__ import annotations

import random
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lexforge.runtime.data import CID, DecodeError, cbor_pure, decode, encode

try:
    from lexforge.runtime.data import _cbor as c_backend
except ImportError:  # pragma: no cover - covered by test_cbor_backend.py
    c_backend = None  # type: ignore[assignment]

BACKENDS = [
    pytest.param(cbor_pure, id="python"),
    pytest.param(
        c_backend,
        id="c",
        marks=pytest.mark.skipif(c_backend is None, reason="C accelerator not built"),
    ),
]

INT64 = st.integers(-(2**63), 2**63 - 1)
SMALL_INTS = st.integers(-300, 70_000)  # crosses every head-size boundary often

blessed_cids = st.builds(
    lambda codec, digest: CID.from_bytes(bytes([1, codec, 0x12, 0x20]) + digest),
    st.sampled_from([0x71, 0x55]),
    st.binary(min_size=32, max_size=32),
)
other_cids = st.builds(
    lambda codec, code, digest: CID.from_bytes(
        b"\x01" + _varint(codec) + _varint(code) + _varint(len(digest)) + digest
    ),
    st.integers(0, 2**20),
    st.integers(0, 2**20),
    st.binary(max_size=64),
)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


scalars = (
    st.none()
    | st.booleans()
    | INT64
    | SMALL_INTS
    | st.text(max_size=40)
    | st.binary(max_size=40)
    | blessed_cids
    | other_cids
)
keys = st.text(max_size=12) | st.sampled_from(["$type", "ref", "size", "text", "a", "b", ""])
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=6) | st.dictionaries(keys, children, max_size=6),
    max_leaves=40,
)


def same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def depth(v: Any) -> int:
    if isinstance(v, dict):
        return 1 + max((depth(x) for x in v.values()), default=0)
    if isinstance(v, list):
        return 1 + max((depth(x) for x in v), default=0)
    return 0


def shuffled(v: Any, rnd: random.Random) -> Any:
    if isinstance(v, dict):
        items = list(v.items())
        rnd.shuffle(items)
        return {k: shuffled(x, rnd) for k, x in items}
    if isinstance(v, list):
        return [shuffled(x, rnd) for x in v]
    return v


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=values)
def test_roundtrip(backend: ModuleType, value: Any) -> None:
    if depth(value) > 32:
        return
    data = backend.encode(value)
    assert same(backend.decode(data), value)
    assert backend.decode_prefix(data + b"\xf6") == (backend.decode(data), len(data))


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=200, deadline=None)
@given(value=values, seed=st.integers(0, 2**32))
def test_encoding_ignores_insertion_order(backend: ModuleType, value: Any, seed: int) -> None:
    if depth(value) > 32:
        return
    assert backend.encode(shuffled(value, random.Random(seed))) == backend.encode(value)


def check_canonical(backend: ModuleType, data: bytes) -> None:
    try:
        value = backend.decode(data)
    except DecodeError:
        return
    assert backend.encode(value) == data


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=64))
def test_random_bytes_decode_only_if_canonical(backend: ModuleType, data: bytes) -> None:
    check_canonical(backend, data)


def mutate(data: bytes, rnd: random.Random, rounds: int) -> bytes:
    buf = bytearray(data)
    for _ in range(rounds):
        op = rnd.randrange(6)
        pos = rnd.randrange(len(buf) + 1)
        if op == 0 and buf and pos < len(buf):
            buf[pos] ^= 1 << rnd.randrange(8)
        elif op == 1:
            buf.insert(pos, rnd.randrange(256))
        elif op == 2 and pos < len(buf):
            del buf[pos]
        elif op == 3 and pos < len(buf):
            buf[pos] = rnd.choice([0x18, 0x19, 0x1A, 0x1B, 0x1F, 0x5F, 0x7F, 0x9F, 0xBF, 0xF7])
        elif op == 4:
            del buf[pos:]
        else:
            buf[pos:pos] = buf[pos : pos + rnd.randrange(1, 8)]
    return bytes(buf)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=values, seed=st.integers(0, 2**32), rounds=st.integers(1, 3))
def test_mutated_encodings_decode_only_if_canonical(
    backend: ModuleType, value: Any, seed: int, rounds: int
) -> None:
    if depth(value) > 32:
        return
    data = mutate(backend.encode(value), random.Random(seed), rounds)
    check_canonical(backend, data)


@settings(max_examples=100, deadline=None)
@given(value=values)
def test_cid_is_a_pure_function_of_the_value(value: Any) -> None:
    """The facade (whatever backend is active) gives one CID per value."""
    if depth(value) > 32:
        return
    rnd = random.Random(0)
    assert CID.for_cbor(encode(shuffled(value, rnd))) == CID.for_cbor(encode(value))
    assert same(decode(encode(value)), value)

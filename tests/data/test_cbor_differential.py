"""Differential tests: the C accelerator and cbor_pure must behave identically.

Same input, same outcome: the same value, or the same error class with the same message
(which carries the same offset or path). Inputs: random bytes, mutations of valid
encodings (which reach deep into the decoder), generated values (valid and invalid)
for the encoder, the whole forbidden-forms corpus, and CID base32 text.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lexforge.runtime.data import CID, cbor_pure
from lexforge.runtime.data.cid import _b32_decode_py, _b32_encode_py
from tests.data.test_cbor_corpus import INVALID, VALID
from tests.data.test_cbor_properties import mutate, same, values

_cbor = pytest.importorskip("lexforge.runtime.data._cbor")


def outcome(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    try:
        return ("ok", fn(*args, **kwargs))
    except Exception as exc:  # compare whatever was raised, by class and message
        return ("error", type(exc), str(exc), getattr(exc, "offset", None))


def assert_same_outcome(a: tuple[Any, ...], b: tuple[Any, ...]) -> None:
    if a[0] == "ok" and b[0] == "ok":
        assert same(a[1], b[1]), (a, b)
    else:
        assert a == b


def compare_decode(data: bytes, **kwargs: Any) -> None:
    assert_same_outcome(
        outcome(cbor_pure.decode, data, **kwargs), outcome(_cbor.decode, data, **kwargs)
    )


@pytest.mark.parametrize(("name", "data", "why"), INVALID, ids=[c[0] for c in INVALID])
def test_corpus_invalid_same_error(name: str, data: bytes, why: str) -> None:
    compare_decode(data)


@pytest.mark.parametrize(("name", "data", "value"), VALID, ids=[c[0] for c in VALID])
def test_corpus_valid_same_value(name: str, data: bytes, value: Any) -> None:
    compare_decode(data)
    assert _cbor.encode(value) == cbor_pure.encode(value)


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=80))
def test_random_bytes(data: bytes) -> None:
    compare_decode(data)


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=40),
    max_depth=st.integers(0, 4),
    max_container_len=st.integers(0, 4),
    max_key_len=st.integers(0, 4),
    blessed=st.booleans(),
)
def test_random_bytes_with_limits(
    data: bytes, max_depth: int, max_container_len: int, max_key_len: int, blessed: bool
) -> None:
    compare_decode(
        data,
        max_depth=max_depth,
        max_container_len=max_container_len,
        max_key_len=max_key_len,
        require_blessed_cids=blessed,
    )


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=values, seed=st.integers(0, 2**32), rounds=st.integers(1, 4))
def test_mutated_encodings(value: Any, seed: int, rounds: int) -> None:
    try:
        data = cbor_pure.encode(value)
    except Exception:  # too deep for the default limit: nothing to mutate
        return
    mutated = mutate(data, random.Random(seed), rounds)
    compare_decode(mutated)
    offset = random.Random(seed).randrange(len(mutated) + 1)
    assert_same_outcome(
        outcome(cbor_pure.decode_prefix, mutated, offset),
        outcome(_cbor.decode_prefix, mutated, offset),
    )


bad_scalars = (
    st.floats(allow_nan=True)
    | st.integers(2**63 - 5, 2**70)
    | st.integers(-(2**70), -(2**63) + 5)
    | st.text(alphabet=st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010), max_size=3)
    | st.sampled_from([set(), object, 1j, range(2), memoryview(b"")])
)
bad_values = st.recursive(
    st.one_of(bad_scalars, values),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=4) | st.integers(0, 3), children, max_size=4)
        | st.tuples(children, children)
    ),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=bad_values, max_depth=st.integers(0, 40))
def test_encode_same_bytes_or_same_error(value: Any, max_depth: int) -> None:
    a = outcome(cbor_pure.encode, value, max_depth=max_depth)
    b = outcome(_cbor.encode, value, max_depth=max_depth)
    assert a == b
    if a[0] == "error":
        pure_exc = _raised(cbor_pure.encode, value, max_depth=max_depth)
        c_exc = _raised(_cbor.encode, value, max_depth=max_depth)
        assert getattr(pure_exc, "path", None) == getattr(c_exc, "path", None)


def _raised(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> BaseException:
    try:
        fn(*args, **kwargs)
    except Exception as exc:
        return exc
    raise AssertionError("expected an exception")


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=120))
def test_b32_encode(data: bytes) -> None:
    text = _cbor.b32_encode(data)
    assert text == _b32_encode_py(data)
    if data:
        assert _cbor.b32_decode(text) == data


b32_text = st.text(alphabet="abcdefghijklmnopqrstuvwxyz234567", max_size=70) | st.text(
    alphabet="abcxyz27ABZ=1 \u00e9", max_size=20
)


@settings(max_examples=500, deadline=None)
@given(text=b32_text)
def test_b32_decode(text: str) -> None:
    a = outcome(_b32_decode_py, text)
    b = outcome(_cbor.b32_decode, text)
    if a[0] == "ok":
        assert b == a
    else:  # the pure version raises InvalidCidError, the C one ValueError: same message
        assert b[0] == "error"
        assert a[2] == b[2]
        assert issubclass(a[1], ValueError)
        assert b[1] is ValueError


def test_cid_objects_from_both_backends_are_interchangeable() -> None:
    link = b"\xd8\x2a\x58\x25\x00\x01\x71\x12\x20" + bytes(32)
    a = cbor_pure.decode(link)
    b = _cbor.decode(link)
    assert type(a) is type(b) is CID
    assert a == b
    assert hash(a) == hash(b)
    assert a.codec == b.codec == 0x71
    assert str(a) == str(b)
    other = b"\xd8\x2a\x58\x27\x00\x01\x80\x01\x12\x21" + bytes(33)
    c = _cbor.decode(other)
    assert c == cbor_pure.decode(other)
    assert (c.version, c.codec, c.hash_code, c.digest) == (1, 0x80, 0x12, bytes(33))
    assert c.multihash == b"\x12\x21" + bytes(33)

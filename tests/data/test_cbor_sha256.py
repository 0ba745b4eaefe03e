"""The C codec's own SHA-256 and blessed-CID constructors against hashlib and ``CID``.

The codec hashes every block of a CAR slice, every MST node it writes and every key whose
layer it checks. Both block functions are checked (SHA-NI where the CPU has it, and the
portable one, which ``portable=True`` forces) on every length around the padding
boundaries, on long inputs and on random contents.
"""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.runtime.data import CID
from lexforge.runtime.data.cid import _for_cbor_py, _for_raw_py, _from_bytes_py
from lexforge.runtime.data.errors import InvalidCidError

_cbor = pytest.importorskip("lexforge.runtime.data._cbor")


def test_implementation_is_named() -> None:
    assert _cbor.sha256_implementation() in {"sha-ni", "portable"}


@pytest.mark.parametrize("portable", [False, True])
def test_every_length_up_to_several_blocks(portable: bool) -> None:
    rnd = random.Random(1234)
    for n in range(300):
        for fill in (b"\x00", b"\xff", None):
            data = rnd.randbytes(n) if fill is None else fill * n
            assert _cbor.sha256_digest(data, portable=portable) == hashlib.sha256(data).digest()


@pytest.mark.parametrize("portable", [False, True])
def test_long_inputs(portable: bool) -> None:
    rnd = random.Random(99)
    for n in (1000, 4095, 4096, 4097, 65_535, 65_536, 1 << 20, (1 << 20) + 55):
        data = rnd.randbytes(n)
        assert _cbor.sha256_digest(data, portable=portable) == hashlib.sha256(data).digest()


def test_known_answers() -> None:
    # FIPS 180-2 appendix B vectors
    assert (
        _cbor.sha256_digest(b"abc").hex()
        == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    two_blocks = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
    assert (
        _cbor.sha256_digest(two_blocks, portable=True).hex()
        == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    )
    assert _cbor.sha256_digest(b"") == hashlib.sha256(b"").digest()


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=600))
def test_random_contents(data: bytes) -> None:
    expected = hashlib.sha256(data).digest()
    assert _cbor.sha256_digest(data) == expected
    assert _cbor.sha256_digest(data, portable=True) == expected


def test_argument_checks() -> None:
    with pytest.raises(TypeError):
        _cbor.sha256_digest("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _cbor.sha256_digest(b"x", fast=True)  # type: ignore[call-arg]


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300))
def test_cid_constructors_match_cid(data: bytes) -> None:
    cbor = _cbor.cid_for_cbor(data)
    raw = _cbor.cid_for_raw(data)
    assert type(cbor) is type(raw) is CID
    assert cbor == _for_cbor_py(data) == CID.for_cbor(data)
    assert raw == _for_raw_py(data) == CID.for_raw(data)
    assert hash(cbor) == hash(_for_cbor_py(data))
    assert str(cbor) == str(_for_cbor_py(data))
    assert (cbor.codec, raw.codec, cbor.version, cbor.hash_code) == (0x71, 0x55, 1, 0x12)
    assert cbor.digest == raw.digest == hashlib.sha256(data).digest()
    assert _cbor.cid_from_bytes(cbor.bytes) == cbor
    assert _cbor.cid_from_bytes(raw.bytes) == raw


def _outcome(binary: bytes) -> tuple[object, ...]:
    try:
        cid = _from_bytes_py(binary, allow_v0=False)
    except InvalidCidError as exc:
        return ("error", str(exc))
    return ("ok", cid.bytes, cid.version, cid.codec, cid.hash_code, cid.multihash, cid.digest)


def _c_outcome(binary: bytes) -> tuple[object, ...]:
    try:
        cid = _cbor.cid_from_bytes(binary)
    except InvalidCidError as exc:
        return ("error", str(exc))
    return ("ok", cid.bytes, cid.version, cid.codec, cid.hash_code, cid.multihash, cid.digest)


cid_like = st.binary(max_size=110) | st.builds(
    lambda head, body: head + body,
    st.sampled_from(
        [b"\x01\x71\x12\x20", b"\x01\x55\x12\x20", b"\x01\x80\x01\x12\x21", b"\x12\x20"]
    ),
    st.binary(min_size=30, max_size=34),
)


@settings(max_examples=500, deadline=None)
@given(binary=cid_like)
def test_cid_from_bytes_same_result_or_error(binary: bytes) -> None:
    assert _c_outcome(binary) == _outcome(binary)


def test_cid_constructors_refuse_non_bytes() -> None:
    for fn in (_cbor.cid_for_cbor, _cbor.cid_for_raw, _cbor.cid_from_bytes):
        with pytest.raises(TypeError):
            fn(bytearray(b"x"))  # type: ignore[arg-type]


def _public_outcome(binary: bytes) -> tuple[object, ...]:
    try:
        cid = CID.from_bytes(binary)
    except InvalidCidError as exc:
        return ("error", str(exc))
    parsed = CID.parse(str(cid))
    assert parsed == cid
    assert str(parsed) == str(cid)
    return ("ok", cid.bytes, cid.version, cid.codec, cid.hash_code, cid.multihash, cid.digest)


@settings(max_examples=300, deadline=None)
@given(binary=cid_like)
def test_cid_parse_and_from_bytes_agree_with_the_python_reference(binary: bytes) -> None:
    """`CID.from_bytes`/`CID.parse` (C fast path when active) answer as the Python path does."""
    assert _public_outcome(binary) == _outcome(binary)

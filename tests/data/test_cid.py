"""CID: parsing, binary form, text form, equality, and the refusal of malformed CIDs."""

from __future__ import annotations

import base64
import copy
import hashlib
import pickle

import pytest

from lexforge.runtime.data import CID, InvalidCidError
from lexforge.runtime.data.cid import MAX_CID_BYTES, _b32_decode_py, _b32_encode_py
from tests.timing import fastest

DAG_CBOR = "bafyreihldkhcwijkde7gx4rpkkuw7pl6lbyu5gieunyc7ihactn5bkd2nm"
RAW = "bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity"
V0 = "QmNLei78zWmzUdbeRB3CiUfAizWUrbeeZh5K1rhAQKCh51"


def test_parse_base32_roundtrip() -> None:
    cid = CID.parse(DAG_CBOR)
    assert str(cid) == DAG_CBOR
    assert cid.version == 1
    assert cid.codec == 0x71
    assert cid.hash_code == 0x12
    assert len(cid.digest) == 32
    assert cid.bytes[:4] == b"\x01\x71\x12\x20"
    assert cid.multihash == cid.bytes[2:]
    assert cid.is_blessed
    assert repr(cid) == f"CID({DAG_CBOR!r})"
    raw = CID.parse(RAW)
    assert raw.codec == 0x55
    assert raw.is_blessed


def test_from_bytes_and_equality() -> None:
    cid = CID.parse(DAG_CBOR)
    again = CID.from_bytes(cid.bytes)
    assert again == cid
    assert hash(again) == hash(cid)
    assert str(again) == DAG_CBOR
    assert cid != CID.parse(RAW)
    assert {cid: 1}[again] == 1


def test_not_bytes() -> None:
    cid = CID.parse(DAG_CBOR)
    assert not isinstance(cid, bytes)
    assert cid != cid.bytes
    assert cid.bytes != cid


def test_for_cbor_and_raw() -> None:
    block = b"\xa1aa\x01"
    digest = hashlib.sha256(block).digest()
    assert CID.for_cbor(block).bytes == b"\x01\x71\x12\x20" + digest
    assert CID.for_raw(block).bytes == b"\x01\x55\x12\x20" + digest
    assert str(CID.for_cbor(block)).startswith("bafyrei")
    assert str(CID.for_raw(block)).startswith("bafkrei")


def test_immutable_and_copyable() -> None:
    cid = CID.parse(DAG_CBOR)
    with pytest.raises(AttributeError):
        cid._bytes = b""  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del cid._bytes
    with pytest.raises(AttributeError):
        cid.foo = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        CID(DAG_CBOR)
    assert pickle.loads(pickle.dumps(cid)) == cid
    assert copy.copy(cid) is cid
    assert copy.deepcopy([cid])[0] is cid


def test_v0_refused_by_default() -> None:
    with pytest.raises(InvalidCidError, match="CIDv0"):
        CID.parse(V0)
    cid = CID.parse(V0, allow_v0=True)
    assert cid.version == 0
    assert cid.codec == 0x70
    assert str(cid) == V0
    assert not cid.is_blessed
    with pytest.raises(InvalidCidError, match="CIDv0"):
        CID.from_bytes(cid.bytes)
    assert CID.from_bytes(cid.bytes, allow_v0=True) == cid
    assert pickle.loads(pickle.dumps(cid)) == cid


def test_other_multibases() -> None:
    cid = CID.parse(DAG_CBOR)
    assert CID.parse("f" + cid.bytes.hex()) == cid
    assert CID.parse("B" + DAG_CBOR[1:].upper()) == cid
    assert CID.parse("m" + base64.b64encode(cid.bytes).decode().rstrip("=")) == cid
    # text form is always base32 whatever the input used
    assert str(CID.parse("f" + cid.bytes.hex())) == DAG_CBOR


def test_non_blessed_cids_are_valid_but_not_blessed() -> None:
    sha512 = b"\x01\x71\x13\x40" + bytes(64)
    assert not CID.from_bytes(sha512).is_blessed
    dag_pb = b"\x01\x70\x12\x20" + bytes(32)
    assert not CID.from_bytes(dag_pb).is_blessed
    short = b"\x01\x71\x12\x10" + bytes(16)
    assert not CID.from_bytes(short).is_blessed
    multibyte_codec = b"\x01\x80\x01\x12\x20" + bytes(32)  # codec 0x80 needs two bytes
    cid = CID.from_bytes(multibyte_codec)
    assert cid.codec == 0x80
    assert cid.digest == bytes(32)
    assert CID.parse(str(cid)) == cid


@pytest.mark.parametrize(
    ("binary", "why"),
    [
        (b"", "empty"),
        (b"\x00\x01\x71\x12\x20" + bytes(32), "version byte 0x00"),
        (b"\x02\x71\x12\x20" + bytes(32), "version"),
        (b"\x01\x71\x12\x20" + bytes(31), "digest"),
        (b"\x01\x71\x12\x20" + bytes(33), "digest"),
        (b"\x01\x71\x12", "truncated"),
        (b"\x01\xf1\x00\x12\x20" + bytes(32), "non-minimal"),
        (b"\x01" + b"\xff" * 9 + b"\x01", "longer than 9"),
        (b"\x01\x71\x12\x61" + bytes(97), "more than 100"),
        (b"\x12\x20" + bytes(31), "version"),
    ],
)
def test_from_bytes_rejects(binary: bytes, why: str) -> None:
    with pytest.raises(InvalidCidError, match=why):
        CID.from_bytes(binary)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "b",
        "bafyreihldkhcwijkde7gx4rpkkuw7pl6lbyu5gieunyc7ihactn5bkd2n",  # truncated
        "bafyreihldkhcwijkde7gx4rpkkuw7pl6lbyu5gieunyc7ihactn5bkd2no",  # trailing bits
        "bafyreihldkhcwijkde7gx4rpkkuw7pl6lbyu5gieunyc7ihactn5bkd2nm=",  # padding
        "bAFYREIHLDKHCWIJKDE7GX4RPKKUW7PL6LBYU5GIEUNYC7IHACTN5BKD2NM",  # mixed case
        "bafyreihldkhcwijkde7gx4rpkkuw7pl6lbyu5gieunyc7ihactn5bkd2n1",  # bad char
        "bafyreihldkhcwijkde7gx4rpkkuw7pl6lbyu5gieunyc7ihactn5bkd2nmé",
        "x" + "a" * 40,  # unknown multibase
        "b" + "a" * 2000,  # too long
        "z" + "1" * 10,
        "b22==",  # "=" must not pass as padding
        "baa=a",
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(InvalidCidError):
        CID.parse(text)


def test_parse_rejects_wrong_types() -> None:
    with pytest.raises(TypeError):
        CID.parse(b"bafy")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        CID.from_bytes("bafy")  # type: ignore[arg-type]


def test_from_bytes_accepts_bytes_like() -> None:
    cid = CID.parse(DAG_CBOR)
    assert CID.from_bytes(bytearray(cid.bytes)) == cid
    assert CID.from_bytes(memoryview(cid.bytes)) == cid
    assert type(CID.from_bytes(memoryview(cid.bytes)).bytes) is bytes


@pytest.mark.parametrize("n", range(41))
def test_pure_base32_matches_stdlib(n: int) -> None:
    data = bytes(range(256))[:n] if n else b""
    text = base64.b32encode(data).decode().rstrip("=").lower()
    assert _b32_encode_py(data) == text
    if n:
        assert _b32_decode_py(text) == data


_LONGEST = [b"\x01\x71\x13\x60" + d for d in (b"\xff" * 96, bytes(96), bytes(range(96)))]


@pytest.mark.parametrize("binary", _LONGEST, ids=["ff", "zero", "ramp"])
def test_every_multibase_reads_a_cid_of_the_maximum_size(binary: bytes) -> None:
    """The per-base text caps never refuse a CID we accept: a MAX_CID_BYTES CID in every
    multibase multiformats knows parses back to the same bytes."""
    from multiformats import multibase

    assert len(binary) == MAX_CID_BYTES
    for base in multibase.table():
        if base.name in {"identity", "proquint", "base256emoji"}:
            continue
        text = multibase.encode(binary, base.name)
        assert CID.parse(text).bytes == binary, base.name


def test_long_text_is_refused_before_the_slow_decoders() -> None:
    """base58/base36/base10 decoding is quadratic: text longer than a 100-byte CID can be
    in its base is refused at once (a 1,024-character base58 string took 50 ms)."""
    for first in "z9kK0Zf":
        text = first + "2" * 1023

        def refuse(text: str = text) -> None:
            for _ in range(20):
                with pytest.raises(InvalidCidError, match="too long"):
                    CID.parse(text)

        assert fastest(refuse, budget=0.02) < 0.02, first

"""did:key, Multikey and legacy DID-document key forms."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.runtime.crypto import (
    MULTIKEY_TYPE,
    Curve,
    InvalidKeyEncodingError,
    InvalidKeyError,
    Keypair,
    UnsupportedKeyTypeError,
    keypair_from_private_bytes,
    parse_did_key,
    parse_legacy_key,
    parse_multikey,
    parse_verification_method,
)
from lexforge.runtime.crypto.base58 import b58decode, b58encode

K256_LEGACY = "EcdsaSecp256k1VerificationKey2019"
P256_LEGACY = "EcdsaSecp256r1VerificationKey2019"
# Spec examples (cryptography spec): the same k256 key as legacy (uncompressed, no
# multicodec) and as multikey; and one did:key per curve.
SPEC_LEGACY_K256 = (
    "zQYEBzXeuTM9UR3rfvNag6L3RNAs5pQZyYPsomTsgQhsxLdEgCrPTLgFna8yqCnxPpNT7DBk6Ym3dgPKNu86vt9GR"
)
SPEC_MULTIKEY_K256 = "zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF"
SPEC_DID_P256 = "did:key:zDnaembgSGUhZULN2Caob4HLJPaxBh92N7rtH21TErzqf8HQo"
SPEC_DID_K256 = "did:key:zQ3shqwJEJyMBsBXCWyCBpUBMqxcon9oHB7mCvx4sSpMdLJwc"


def _multikey(payload: bytes) -> str:
    return "z" + b58encode(payload)


def test_spec_examples() -> None:
    legacy = parse_legacy_key(K256_LEGACY, SPEC_LEGACY_K256)
    assert len(b58decode(SPEC_LEGACY_K256[1:])) == 65  # uncompressed in the legacy form
    assert legacy == parse_multikey(SPEC_MULTIKEY_K256)
    assert legacy.multikey() == SPEC_MULTIKEY_K256
    assert parse_verification_method(K256_LEGACY, SPEC_LEGACY_K256) == legacy
    assert parse_verification_method(MULTIKEY_TYPE, SPEC_MULTIKEY_K256) == legacy
    p256 = parse_did_key(SPEC_DID_P256)
    assert p256.curve is Curve.P256
    assert p256.did_key() == SPEC_DID_P256
    k256 = parse_did_key(SPEC_DID_K256)
    assert k256.curve is Curve.K256
    assert k256.did_key() == SPEC_DID_K256


def test_multicodec_prefix_bytes(keypair: Keypair, curve: Curve) -> None:
    payload = b58decode(keypair.public_key.multikey()[1:])
    expected = {Curve.K256: b"\xe7\x01", Curve.P256: b"\x80\x24"}[curve]
    assert payload == expected + keypair.public_key.compressed_bytes
    assert curve.multicodec_prefix == expected
    assert curve.multicodec == {Curve.K256: 0xE7, Curve.P256: 0x1200}[curve]


@settings(max_examples=200, deadline=None)
@given(curve=st.sampled_from(list(Curve)), scalar=st.integers(1, Curve.P256.order - 1))
def test_round_trip(curve: Curve, scalar: int) -> None:
    public = keypair_from_private_bytes(curve, scalar.to_bytes(32, "big")).public_key
    did = public.did_key()
    assert did.startswith({Curve.K256: "did:key:zQ3s", Curve.P256: "did:key:zDna"}[curve])
    assert did == "did:key:" + public.multikey()
    assert parse_did_key(did) == public
    assert parse_multikey(public.multikey()) == public
    assert parse_verification_method(MULTIKEY_TYPE, public.multikey()) == public
    for point in (public.compressed_bytes, public.uncompressed_bytes):
        legacy = "z" + b58encode(point)
        assert parse_legacy_key(curve.legacy_type, legacy) == public
        assert parse_verification_method(curve.legacy_type, legacy) == public


@pytest.mark.parametrize(
    "did",
    [
        "",
        "did:key",
        "did:key:",
        "did:key:z",
        "did:web:example.com",
        "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
        "DID:KEY:" + SPEC_DID_K256[8:],
        "did:KEY:" + SPEC_DID_K256[8:],
        " " + SPEC_DID_K256,
        SPEC_DID_K256 + " ",
        SPEC_DID_K256 + "\n",
        SPEC_DID_K256 + "#" + SPEC_DID_K256[8:],  # a DID URL, not a DID
        "did:key:Z" + SPEC_DID_K256[9:],  # base58flickr prefix
        "did:key:" + SPEC_DID_K256[9:],  # no multibase prefix at all
        "did:key:f" + b58decode(SPEC_DID_K256[9:]).hex(),  # base16 multibase
        "did:key:z" + "2" * 5000,  # long: refused before decoding
    ],
)
def test_malformed_did_key(did: str) -> None:
    with pytest.raises(InvalidKeyEncodingError):
        parse_did_key(did)


@pytest.mark.parametrize("char", ["0", "O", "I", "l", "_", "é"])
def test_bad_base58(char: str) -> None:
    did = SPEC_DID_K256[:20] + char + SPEC_DID_K256[21:]
    with pytest.raises(InvalidKeyEncodingError, match="base58"):
        parse_did_key(did)
    with pytest.raises(InvalidKeyEncodingError, match="base58"):
        parse_multikey(did[8:])


def test_bad_multicodec(keypair: Keypair, curve: Curve) -> None:
    point = keypair.public_key.compressed_bytes
    unsupported = [
        b"\xed\x01" + point[1:],  # ed25519-pub
        b"\xec\x01" + point[1:],  # x25519-pub
        b"\x81\x24" + point,  # p384-pub
        b"\x12\x00" + point,  # p256 code written as two raw bytes, not a varint
        b"\x01\xe7" + point,  # bytes swapped
        b"\xe7" + point,  # truncated varint prefix read as another code
    ]
    for payload in unsupported:
        with pytest.raises(UnsupportedKeyTypeError):
            parse_multikey(_multikey(payload))
        with pytest.raises(UnsupportedKeyTypeError):
            parse_did_key("did:key:" + _multikey(payload))
    # No multicodec at all (a legacy value used as a multikey) is refused too.
    with pytest.raises(InvalidKeyEncodingError):
        parse_multikey(_multikey(point))
    with pytest.raises(InvalidKeyEncodingError):
        parse_multikey(_multikey(b"\xff" * 10))  # not even a terminated varint


def test_wrong_length(keypair: Keypair, curve: Curve) -> None:
    prefix = curve.multicodec_prefix
    compressed = keypair.public_key.compressed_bytes
    for payload in (
        prefix,
        prefix + compressed[:-1],
        prefix + compressed + b"\x00",
        prefix + compressed[1:],
        # Uncompressed points are valid SEC1 but not allowed in did:key / Multikey.
        prefix + keypair.public_key.uncompressed_bytes,
    ):
        with pytest.raises(InvalidKeyEncodingError):
            parse_multikey(_multikey(payload))


def test_point_not_on_curve(curve: Curve) -> None:
    # x = 2^256 - 1 is not a field element on either curve.
    payload = curve.multicodec_prefix + b"\x02" + b"\xff" * 32
    with pytest.raises(InvalidKeyError):
        parse_did_key("did:key:" + _multikey(payload))


def test_parse_rejects_wrong_types() -> None:
    for value in (None, b"did:key:zQ3s", 42):
        with pytest.raises(InvalidKeyEncodingError):
            parse_did_key(value)  # type: ignore[arg-type]
        with pytest.raises(InvalidKeyEncodingError):
            parse_multikey(value)  # type: ignore[arg-type]
        with pytest.raises(InvalidKeyEncodingError):
            parse_legacy_key(K256_LEGACY, value)  # type: ignore[arg-type]


def test_errors_are_not_cached() -> None:
    """Parses are memoised; failures must raise every time."""
    for _ in range(2):
        with pytest.raises(InvalidKeyEncodingError):
            parse_did_key("did:key:z0")
    assert parse_did_key(SPEC_DID_K256) == parse_did_key(SPEC_DID_K256)


@pytest.mark.parametrize(
    "type_name",
    ["JsonWebKey2020", "Ed25519VerificationKey2020", "multikey", "", "EcdsaSecp256k1"],
)
def test_unsupported_verification_method_type(type_name: str) -> None:
    with pytest.raises(UnsupportedKeyTypeError):
        parse_verification_method(type_name, SPEC_MULTIKEY_K256)
    with pytest.raises(UnsupportedKeyTypeError):
        parse_legacy_key(type_name, SPEC_LEGACY_K256)


def test_legacy_malformed(keypair: Keypair, curve: Curve) -> None:
    compressed = keypair.public_key.compressed_bytes
    for value in (
        b58encode(compressed),  # no 'z'
        "z" + b58encode(compressed[:-1]),
        "z" + b58encode(compressed + b"\x00"),
        # A multikey value under a legacy type: 35 bytes is neither point size.
        keypair.public_key.multikey(),
        "z",
        "zO" + b58encode(compressed)[1:],
    ):
        with pytest.raises(InvalidKeyEncodingError):
            parse_legacy_key(curve.legacy_type, value)
    # Not on the curve.
    with pytest.raises(InvalidKeyError):
        parse_legacy_key(curve.legacy_type, "z" + b58encode(b"\x04" + bytes(64)))


def test_legacy_curve_comes_from_type(keypair: Keypair, curve: Curve) -> None:
    """A K-256 point under the P-256 type is (almost surely) not a P-256 point; if it
    parses it must be a different key."""
    other = Curve.P256 if curve is Curve.K256 else Curve.K256
    legacy = "z" + b58encode(keypair.public_key.uncompressed_bytes)
    with pytest.raises(InvalidKeyError):
        parse_legacy_key(other.legacy_type, legacy)


def test_multikey_type_requires_multicodec(keypair: Keypair) -> None:
    with pytest.raises(InvalidKeyEncodingError):
        parse_verification_method(
            MULTIKEY_TYPE, "z" + b58encode(keypair.public_key.compressed_bytes)
        )

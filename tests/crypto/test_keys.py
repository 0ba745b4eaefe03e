"""Key pairs and public keys: import/export, validation, equality, encodings."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.runtime.crypto import (
    CryptoError,
    Curve,
    InvalidKeyError,
    K256Keypair,
    K256PublicKey,
    Keypair,
    P256Keypair,
    P256PublicKey,
    PublicKey,
    generate_keypair,
    keypair_from_private_bytes,
)
from tests.crypto.conftest import PRIVATE

KEYPAIR_CLASSES: dict[Curve, type[Keypair]] = {Curve.K256: K256Keypair, Curve.P256: P256Keypair}
# Field primes: an x coordinate >= p is not a field element.
FIELD_PRIME = {
    Curve.K256: 2**256 - 2**32 - 977,
    Curve.P256: 2**256 - 2**224 + 2**192 + 2**96 - 1,
}


def test_errors_are_value_errors() -> None:
    assert issubclass(CryptoError, ValueError)
    assert issubclass(InvalidKeyError, CryptoError)


def test_generate(curve: Curve) -> None:
    first = generate_keypair(curve)
    second = KEYPAIR_CLASSES[curve].generate()
    assert type(first) is KEYPAIR_CLASSES[curve]
    assert first.curve is curve
    assert first.public_key.curve is curve
    assert first.private_bytes() != second.private_bytes()
    assert len(first.private_bytes()) == 32
    assert first.public_key.verify(b"m", first.sign(b"m"))


def test_default_curve_is_k256() -> None:
    assert generate_keypair().curve is Curve.K256


def test_private_key_round_trip(keypair: Keypair, curve: Curve) -> None:
    cls = KEYPAIR_CLASSES[curve]
    assert keypair.private_bytes() == PRIVATE[curve]
    assert keypair.private_hex() == PRIVATE[curve].hex()
    again = cls.from_private_hex(keypair.private_hex().upper())
    assert again.public_key == keypair.public_key
    assert cls.from_private_bytes(keypair.private_bytes()).did_key() == keypair.did_key()


@pytest.mark.parametrize(
    "private",
    [
        b"",
        bytes(31),
        bytes(32),  # zero scalar
        b"\x01" * 33,
        b"\x00" + b"\x01" * 32,  # right value, wrong length
    ],
)
def test_invalid_private_bytes(curve: Curve, private: bytes) -> None:
    with pytest.raises(InvalidKeyError):
        keypair_from_private_bytes(curve, private)


def test_private_scalar_range(curve: Curve) -> None:
    n = curve.order
    for scalar in (n, n + 1, 2**256 - 1):
        with pytest.raises(InvalidKeyError):
            keypair_from_private_bytes(curve, scalar.to_bytes(32, "big"))
    for scalar in (1, n - 1):
        keypair = keypair_from_private_bytes(curve, scalar.to_bytes(32, "big"))
        assert keypair.public_key.verify(b"x", keypair.sign(b"x"))


def test_private_bytes_must_be_bytes(curve: Curve) -> None:
    with pytest.raises(InvalidKeyError):
        KEYPAIR_CLASSES[curve].from_private_bytes(bytearray(PRIVATE[curve]))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "00" * 31,
        "0x" + "11" * 31,
        "11" * 31 + " 1",
        " " + "11" * 31 + "1",
        "11" * 31 + "1g",
        "11" * 33,
        "00" * 32,
        "١١" * 32,  # Arabic-Indic digits: int() would take them, hex must not
    ],
)
def test_invalid_private_hex(curve: Curve, text: str) -> None:
    with pytest.raises(InvalidKeyError):
        KEYPAIR_CLASSES[curve].from_private_hex(text)


def test_repr_hides_private_key(keypair: Keypair) -> None:
    text = repr(keypair)
    assert keypair.private_hex() not in text
    assert keypair.private_hex().upper() not in text
    assert keypair.did_key() in text


def test_jwt_alg(keypair: Keypair, curve: Curve) -> None:
    expected = {Curve.K256: "ES256K", Curve.P256: "ES256"}[curve]
    assert keypair.jwt_alg == expected
    assert keypair.public_key.jwt_alg == expected
    assert Curve.from_jwt_alg(expected) is curve


@pytest.mark.parametrize("alg", ["none", "HS256", "RS256", "es256", "ES384", ""])
def test_unknown_jwt_alg(alg: str) -> None:
    with pytest.raises(CryptoError):
        Curve.from_jwt_alg(alg)


def test_point_forms(keypair: Keypair, curve: Curve) -> None:
    public = keypair.public_key
    compressed = public.compressed_bytes
    uncompressed = public.uncompressed_bytes
    assert len(compressed) == 33
    assert compressed[0] in (2, 3)
    assert len(uncompressed) == 65
    assert uncompressed[0] == 4
    assert uncompressed[1:33] == compressed[1:]
    assert compressed[0] == 2 + (uncompressed[-1] & 1)
    from_compressed = PublicKey.from_bytes(curve, compressed)
    from_uncompressed = PublicKey.from_bytes(curve, uncompressed)
    assert from_compressed == from_uncompressed == public
    assert from_uncompressed.compressed_bytes == compressed
    assert type(from_compressed) is {Curve.K256: K256PublicKey, Curve.P256: P256PublicKey}[curve]


def test_equality_and_hash(keypair: Keypair, curve: Curve) -> None:
    public = keypair.public_key
    same = PublicKey.from_bytes(curve, public.uncompressed_bytes)
    assert public == same
    assert hash(public) == hash(same)
    assert len({public, same}) == 1
    other_curve = Curve.P256 if curve is Curve.K256 else Curve.K256
    other = keypair_from_private_bytes(other_curve, PRIVATE[curve]).public_key
    assert public != other
    assert public != public.compressed_bytes
    assert public != public.did_key()


def test_pickle(keypair: Keypair) -> None:
    public = keypair.public_key
    restored = pickle.loads(pickle.dumps(public))
    assert restored == public
    assert restored.verify(b"m", keypair.sign(b"m"))


def test_repr_public(keypair: Keypair) -> None:
    assert keypair.did_key() in repr(keypair.public_key)


@pytest.mark.parametrize("length", [0, 1, 32, 34, 64, 66])
def test_public_key_wrong_length(curve: Curve, length: int) -> None:
    with pytest.raises(InvalidKeyError):
        PublicKey.from_bytes(curve, b"\x02" * length)


def test_public_key_wrong_prefix(keypair: Keypair, curve: Curve) -> None:
    compressed = keypair.public_key.compressed_bytes
    uncompressed = keypair.public_key.uncompressed_bytes
    bad = [
        b"\x04" + compressed[1:],
        b"\x00" + compressed[1:],
        b"\x02" + uncompressed[1:],
        # "hybrid" form (0x06/0x07 + x + y): libsecp256k1 parses it; we must not.
        bytes([6 + (uncompressed[-1] & 1)]) + uncompressed[1:],
        bytes([7 - (uncompressed[-1] & 1)]) + uncompressed[1:],
    ]
    for point in bad:
        with pytest.raises(InvalidKeyError):
            PublicKey.from_bytes(curve, point)


def test_public_key_not_on_curve(keypair: Keypair, curve: Curve) -> None:
    uncompressed = bytearray(keypair.public_key.uncompressed_bytes)
    uncompressed[-1] ^= 1  # y changed: off the curve
    with pytest.raises(InvalidKeyError):
        PublicKey.from_bytes(curve, bytes(uncompressed))
    with pytest.raises(InvalidKeyError):
        PublicKey.from_bytes(curve, b"\x04" + bytes(64))
    p = FIELD_PRIME[curve]
    for x in (p, p + 1, 2**256 - 1):
        with pytest.raises(InvalidKeyError):
            PublicKey.from_bytes(curve, b"\x02" + x.to_bytes(32, "big"))


def test_x_without_square_root(curve: Curve) -> None:
    """About half of all x have no point; find one and make sure it is refused."""
    p = FIELD_PRIME[curve]
    a, b = {
        Curve.K256: (0, 7),
        Curve.P256: (p - 3, 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B),
    }[curve]
    x = 1
    while pow((x**3 + a * x + b) % p, (p - 1) // 2, p) == 1:
        x += 1
    with pytest.raises(InvalidKeyError):
        PublicKey.from_bytes(curve, b"\x03" + x.to_bytes(32, "big"))


def test_public_key_must_be_bytes(curve: Curve) -> None:
    with pytest.raises(InvalidKeyError):
        PublicKey.from_bytes(curve, "02" * 33)  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(curve=st.sampled_from(list(Curve)), scalar=st.integers(1, Curve.P256.order - 1))
def test_public_key_encodings_round_trip(curve: Curve, scalar: int) -> None:
    public = keypair_from_private_bytes(curve, scalar.to_bytes(32, "big")).public_key
    assert PublicKey.from_bytes(curve, public.compressed_bytes) == public
    assert PublicKey.from_bytes(curve, public.uncompressed_bytes) == public

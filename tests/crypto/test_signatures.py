"""Strict signature rules (reliability A1): only 64-byte compact low-S signatures with
r, s in range verify, on both curves; signing always produces that form."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.runtime.crypto import (
    Curve,
    InvalidDigestError,
    InvalidSignatureFormatError,
    Keypair,
    check_signature_format,
    keypair_from_private_bytes,
    verify_signature,
)
from lexforge.runtime.crypto.signature import (
    encode_compact,
    is_low_s,
    normalize_low_s,
    parse_lenient_signature,
)
from tests.crypto.conftest import PRIVATE

MESSAGE = b"\xa1ehelloeworld"


def _split(signature: bytes) -> tuple[int, int]:
    return int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")


def _flip_s(curve: Curve, signature: bytes) -> bytes:
    r, s = _split(signature)
    return encode_compact(r, curve.order - s)


def test_round_trip(keypair: Keypair) -> None:
    signature = keypair.sign(MESSAGE)
    assert len(signature) == 64
    assert keypair.public_key.verify(MESSAGE, signature)
    assert verify_signature(keypair.did_key(), MESSAGE, signature)
    assert verify_signature(keypair.public_key, MESSAGE, signature)


def test_wrong_message_fails(keypair: Keypair) -> None:
    signature = keypair.sign(MESSAGE)
    assert not keypair.public_key.verify(MESSAGE + b"\x00", signature)
    assert not keypair.public_key.verify(b"", signature)


def test_wrong_key_fails(keypair: Keypair, curve: Curve) -> None:
    other = keypair_from_private_bytes(curve, bytes(31) + b"\x07")
    assert not other.public_key.verify(MESSAGE, keypair.sign(MESSAGE))


def test_signature_from_other_curve_fails() -> None:
    """Both curves make 64-byte signatures; the key decides the curve."""
    k256 = keypair_from_private_bytes(Curve.K256, PRIVATE[Curve.K256])
    p256 = keypair_from_private_bytes(Curve.P256, PRIVATE[Curve.K256])
    assert not p256.public_key.verify(MESSAGE, k256.sign(MESSAGE))
    assert not k256.public_key.verify(MESSAGE, p256.sign(MESSAGE))


def test_no_double_hashing(keypair: Keypair) -> None:
    """sign(m) signs SHA-256(m) once: it equals sign_digest(sha256(m)) and verifies as a
    digest signature, but not as a signature over the digest's own hash."""
    digest = hashlib.sha256(MESSAGE).digest()
    signature = keypair.sign(MESSAGE)
    assert keypair.sign_digest(digest) == signature  # deterministic (RFC 6979) nonces
    assert keypair.public_key.verify_digest(digest, signature)
    assert not keypair.public_key.verify(digest, signature)
    assert not keypair.public_key.verify_digest(hashlib.sha256(digest).digest(), signature)


def test_signing_is_deterministic(keypair: Keypair) -> None:
    assert keypair.sign(MESSAGE) == keypair.sign(MESSAGE)
    assert keypair.sign(MESSAGE) != keypair.sign(MESSAGE + b"!")


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_digest_must_be_32_bytes(keypair: Keypair, length: int) -> None:
    with pytest.raises(InvalidDigestError):
        keypair.sign_digest(bytes(length))
    with pytest.raises(InvalidDigestError):
        keypair.public_key.verify_digest(bytes(length), keypair.sign(MESSAGE))


def test_high_s_rejected(keypair: Keypair, curve: Curve) -> None:
    signature = keypair.sign(MESSAGE)
    high = _flip_s(curve, signature)
    assert _split(high)[1] > curve.half_order
    assert not keypair.public_key.verify(MESSAGE, high)
    assert not keypair.public_key.verify_digest(hashlib.sha256(MESSAGE).digest(), high)
    with pytest.raises(InvalidSignatureFormatError) as info:
        check_signature_format(curve, high)
    assert info.value.reason == "high-s"
    # ...but it is the same ECDSA signature: the lenient verifier accepts it.
    assert keypair.public_key.verify_lenient(MESSAGE, high)


def test_der_rejected(keypair: Keypair) -> None:
    r, s = _split(keypair.sign(MESSAGE))
    der = encode_dss_signature(r, s)
    assert not keypair.public_key.verify(MESSAGE, der)
    with pytest.raises(InvalidSignatureFormatError) as info:
        check_signature_format(keypair.curve, der)
    assert info.value.reason == "length"
    assert keypair.public_key.verify_lenient(MESSAGE, der)


def test_der_padded_to_64_bytes_rejected(keypair: Keypair) -> None:
    """A DER signature happens to be 64 bytes at times; read as compact it is garbage."""
    r, s = _split(keypair.sign(MESSAGE))
    der = encode_dss_signature(r, s)
    padded = der.ljust(64, b"\x00")[:64]
    assert not keypair.public_key.verify(MESSAGE, padded)


@pytest.mark.parametrize("length", [0, 1, 63, 65, 72, 128])
def test_wrong_length_rejected(keypair: Keypair, length: int) -> None:
    signature = keypair.sign(MESSAGE)
    # Truncations and extensions of a valid signature, and the signature twice (128).
    candidate = (signature * 2)[:length] if length <= 128 else bytes(length)
    assert not keypair.public_key.verify(MESSAGE, candidate)
    with pytest.raises(InvalidSignatureFormatError) as info:
        check_signature_format(keypair.curve, candidate)
    assert info.value.reason == "length"


def test_r_and_s_ranges(keypair: Keypair, curve: Curve) -> None:
    r, s = _split(keypair.sign(MESSAGE))
    n = curve.order
    cases = {
        "r=0": (encode_compact(0, s), "r-range"),
        "s=0": (encode_compact(r, 0), "s-range"),
        "r=n": (encode_compact(n, s), "r-range"),
        "r=2^256-1": (b"\xff" * 32 + s.to_bytes(32, "big"), "r-range"),
        "s=n": (encode_compact(r, n), "s-range"),
        "s=2^256-1": (r.to_bytes(32, "big") + b"\xff" * 32, "s-range"),
        "all zero": (bytes(64), "r-range"),
    }
    for name, (candidate, reason) in cases.items():
        assert len(candidate) == 64, name
        assert not keypair.public_key.verify(MESSAGE, candidate), name
        assert not keypair.public_key.verify_lenient(MESSAGE, candidate), name
        with pytest.raises(InvalidSignatureFormatError) as info:
            check_signature_format(curve, candidate)
        assert info.value.reason == reason, name


def test_values_above_n_are_not_reduced(keypair: Keypair, curve: Curve) -> None:
    """r + n and s + n are the same residues mod n; a library that reduces instead of
    refusing would accept a second encoding. 2^256 - n is small, so only r, s below it
    have such an alias: check the aliases of 1 (which fit in 32 bytes on both curves)."""
    n = curve.order
    _, s = _split(keypair.sign(MESSAGE))
    for candidate in (encode_compact(n + 1, s), encode_compact(1, n + 1)):
        assert not keypair.public_key.verify(MESSAGE, candidate)
        with pytest.raises(InvalidSignatureFormatError):
            check_signature_format(curve, candidate)


def test_half_order_boundary(curve: Curve) -> None:
    half = curve.half_order
    assert check_signature_format(curve, encode_compact(1, half)) == (1, half)
    with pytest.raises(InvalidSignatureFormatError):
        check_signature_format(curve, encode_compact(1, half + 1))
    assert is_low_s(curve, encode_compact(1, half))
    assert not is_low_s(curve, encode_compact(1, half + 1))
    assert normalize_low_s(curve, 1, half + 1) == (1, curve.order - half - 1)
    assert normalize_low_s(curve, 1, half) == (1, half)


@pytest.mark.parametrize(
    "signature",
    [
        b"",
        b"\x30",
        b"\x30" + bytes(72),  # too long for DER of 256-bit values
        b"\x30\x06\x02\x01\x01\x02\x01\x01\x00",  # trailing byte
        b"\x30\x07\x02\x02\x00\x01\x02\x01\x01",  # non-minimal integer
        b"\x31\x06\x02\x01\x01\x02\x01\x01",  # SET, not SEQUENCE
        bytes(63),
    ],
)
def test_lenient_rejects_non_der(curve: Curve, signature: bytes) -> None:
    with pytest.raises(InvalidSignatureFormatError):
        parse_lenient_signature(curve, signature)


def test_lenient_der_ranges(curve: Curve) -> None:
    with pytest.raises(InvalidSignatureFormatError) as info:
        parse_lenient_signature(curve, encode_dss_signature(curve.order, 1))
    assert info.value.reason == "r-range"
    with pytest.raises(InvalidSignatureFormatError) as info:
        parse_lenient_signature(curve, encode_dss_signature(1, curve.order))
    assert info.value.reason == "s-range"
    low = parse_lenient_signature(curve, encode_dss_signature(5, curve.order - 7))
    assert low == encode_compact(5, 7)


# Private scalars for hypothesis: any integer in [1, n - 1] on either curve.
_SCALAR = st.integers(min_value=1, max_value=Curve.P256.order - 1)


@settings(max_examples=200, deadline=None)
@given(curve=st.sampled_from(list(Curve)), scalar=_SCALAR, message=st.binary(max_size=256))
def test_sign_always_low_s_and_verifies(curve: Curve, scalar: int, message: bytes) -> None:
    keypair = keypair_from_private_bytes(curve, scalar.to_bytes(32, "big"))
    signature = keypair.sign(message)
    _, s = check_signature_format(curve, signature)  # raises unless strict, low-S
    assert s <= curve.half_order
    assert keypair.public_key.verify(message, signature)
    assert not keypair.public_key.verify(message, _flip_s(curve, signature))
    assert keypair.public_key.verify_lenient(message, _flip_s(curve, signature))
    assert not keypair.public_key.verify(message + b"x", signature)


@settings(max_examples=300, deadline=None)
@given(curve=st.sampled_from(list(Curve)), signature=st.binary(min_size=0, max_size=130))
def test_verify_never_raises_on_garbage(curve: Curve, signature: bytes) -> None:
    keypair = keypair_from_private_bytes(curve, PRIVATE[curve])
    assert keypair.public_key.verify(MESSAGE, signature) is False
    assert keypair.public_key.verify_lenient(MESSAGE, signature) is False


def test_bytes_like_inputs(keypair: Keypair) -> None:
    """Signatures and digests often arrive as memoryview/bytearray slices of a frame."""
    signature = keypair.sign(MESSAGE)
    digest = hashlib.sha256(MESSAGE).digest()
    for convert in (bytearray, memoryview):
        assert keypair.public_key.verify(MESSAGE, convert(signature))  # type: ignore[arg-type]
        assert keypair.public_key.verify(convert(MESSAGE), signature)  # type: ignore[arg-type]
        assert keypair.public_key.verify_digest(convert(digest), convert(signature))  # type: ignore[arg-type]
        assert keypair.sign_digest(convert(digest)) == signature  # type: ignore[arg-type]
        assert not keypair.public_key.verify(MESSAGE, convert(signature[:63]))  # type: ignore[arg-type]


def test_openssl_alone_would_emit_high_s() -> None:
    """Why P-256 signing normalises: raw OpenSSL signatures are high-S about half the
    time. Over 64 messages ours are all low-S while OpenSSL's include high-S ones (the
    chance that none is high-S is 2^-64)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    ours = keypair_from_private_bytes(Curve.P256, PRIVATE[Curve.P256])
    raw = ec.derive_private_key(int.from_bytes(PRIVATE[Curve.P256], "big"), ec.SECP256R1())
    half = Curve.P256.half_order
    raw_high = 0
    for index in range(64):
        message = index.to_bytes(2, "big")
        assert _split(ours.sign(message))[1] <= half
        _, s = decode_dss_signature(raw.sign(message, ec.ECDSA(hashes.SHA256())))
        raw_high += s > half
    assert raw_high > 0

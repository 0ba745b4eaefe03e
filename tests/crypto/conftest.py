"""Fixtures shared by the crypto tests: one fixed key pair per curve."""

from __future__ import annotations

import pytest

from lexforge.runtime.crypto import Curve, Keypair, keypair_from_private_bytes

# Fixed private keys so failures reproduce; any valid scalar would do.
PRIVATE = {
    Curve.K256: bytes.fromhex("9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c"),
    Curve.P256: bytes.fromhex("6b0b91287ae3348f8c2f2552d766f30e3604867e34adc37ccbb74a8e6b893e02"),
}


@pytest.fixture(params=list(Curve), ids=lambda curve: curve.value)
def curve(request: pytest.FixtureRequest) -> Curve:
    value: Curve = request.param
    return value


@pytest.fixture
def keypair(curve: Curve) -> Keypair:
    return keypair_from_private_bytes(curve, PRIVATE[curve])

"""Every crypto module declares ``__all__``, and every listed name exists."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

from lexforge.runtime import crypto

MODULES = sorted(f"{crypto.__name__}.{info.name}" for info in pkgutil.iter_modules(crypto.__path__))


@pytest.mark.parametrize("name", [crypto.__name__, *MODULES])
def test_all_is_declared_and_resolves(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__dict__.get("__all__")
    assert isinstance(exported, list), f"{name} has no __all__"
    assert len(set(exported)) == len(exported)
    for attr in exported:
        assert hasattr(module, attr), f"{name}.__all__ lists missing {attr}"


def test_package_exports_the_contract() -> None:
    contract = {
        "K256Keypair",
        "P256Keypair",
        "Keypair",
        "PublicKey",
        "parse_did_key",
        "parse_multikey",
        "parse_legacy_key",
        "parse_verification_method",
        "verify_signature",
        "CryptoError",
    }
    assert contract <= set(crypto.__all__)


def test_core_does_not_import_generated() -> None:
    for name in MODULES:
        module = importlib.import_module(name)
        source = module.__loader__.get_source(name)  # type: ignore[union-attr]
        assert source is not None
        assert "lexforge.generated" not in source, name

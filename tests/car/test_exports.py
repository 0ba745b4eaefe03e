"""The public surface of lexforge.runtime.car: every module declares ``__all__``, the
package re-exports the contract names, and every error is a CarError (a ValueError)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

from lexforge.runtime import car
from lexforge.runtime.car import errors

MODULES = [info.name for info in pkgutil.iter_modules(car.__path__)]


@pytest.mark.parametrize("name", MODULES)
def test_every_module_declares_all_and_it_resolves(name: str) -> None:
    module = importlib.import_module(f"{car.__name__}.{name}")
    assert isinstance(module.__all__, list), name
    for exported in module.__all__:
        value = getattr(module, exported)
        if exported in car.__all__:
            assert getattr(car, exported) is value, exported
    assert "lexforge.generated" not in inspect.getsource(module)


def test_package_all_holds_the_contract() -> None:
    for name in car.__all__:
        assert getattr(car, name) is not None
    assert {"read_car", "CarReader", "write_car", "CarWriter", "CarError"} <= set(car.__all__)


def test_every_error_shares_the_package_base() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.CarError), name
    assert issubclass(errors.CarError, ValueError)

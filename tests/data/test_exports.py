"""The public surface of lexforge.runtime.data: every module declares ``__all__``, the
package re-exports the contract names, every error is a DataModelError (a ValueError),
and the core never imports generated code."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

from lexforge.runtime import data
from lexforge.runtime.data import errors

MODULES = [info.name for info in pkgutil.iter_modules(data.__path__) if info.name != "_cbor"]


@pytest.mark.parametrize("name", MODULES)
def test_every_module_declares_all_and_it_resolves(name: str) -> None:
    module = importlib.import_module(f"{data.__name__}.{name}")
    assert isinstance(module.__all__, list), name
    for exported in module.__all__:
        value = getattr(module, exported)
        # cbor_pure is the fallback backend: the package exports cbor's active one.
        if exported in data.__all__ and name != "cbor_pure":
            assert getattr(data, exported) is value, exported
    source = inspect.getsource(module)
    assert "lexforge.generated" not in source


def test_package_all_resolves_and_holds_the_contract() -> None:
    for name in data.__all__:
        assert getattr(data, name) is not None
    contract = {
        "CID",
        "Blob",
        "encode",
        "decode",
        "decode_prefix",
        "from_json",
        "to_json",
        "loads_json",
        "dumps_json",
        "DataModelError",
        "DecodeError",
        "EncodeError",
    }
    assert contract <= set(data.__all__)


def test_every_error_shares_the_package_base() -> None:
    classes = [getattr(errors, name) for name in errors.__all__]
    assert classes
    for cls in classes:
        assert issubclass(cls, errors.DataModelError), cls
    assert issubclass(errors.DataModelError, ValueError)

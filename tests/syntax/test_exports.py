"""The public surface: every module declares ``__all__`` and the package re-exports it."""

from __future__ import annotations

import importlib
import pkgutil

from lexforge.runtime import syntax


def test_package_all_is_complete_and_sorted() -> None:
    public = {name for name in dir(syntax) if not name.startswith("_")}
    modules = {info.name for info in pkgutil.iter_modules(syntax.__path__)}
    assert set(syntax.__all__) == public - modules
    assert syntax.__all__ == sorted(syntax.__all__, key=lambda n: (not n.isupper(), n))


def test_every_module_declares_all_and_reexports_are_the_same_objects() -> None:
    for info in pkgutil.iter_modules(syntax.__path__):
        module = importlib.import_module(f"{syntax.__name__}.{info.name}")
        assert hasattr(module, "__all__"), info.name
        for name in module.__all__:
            value = getattr(module, name)
            if name in syntax.__all__:
                assert getattr(syntax, name) is value


def test_contract_names() -> None:
    for name in [
        "Did",
        "Handle",
        "Nsid",
        "AtUri",
        "Tid",
        "RecordKey",
        "Datetime",
        "Language",
        "CidString",
        "Uri",
        "AtIdentifier",
        "TidClock",
        "InvalidSyntaxError",
        "InvalidDidError",
        "is_valid_did",
        "is_valid_handle",
        "is_valid_nsid",
        "is_valid_at_uri",
        "is_valid_tid",
        "is_valid_record_key",
        "is_valid_datetime",
        "is_valid_language",
        "is_valid_cid",
        "is_valid_uri",
        "is_valid_at_identifier",
    ]:
        assert name in syntax.__all__, name
    from lexforge.runtime.syntax.errors import InvalidSyntaxError

    assert issubclass(InvalidSyntaxError, ValueError)


def test_core_never_imports_generated() -> None:
    for info in pkgutil.iter_modules(syntax.__path__):
        module = importlib.import_module(f"{syntax.__name__}.{info.name}")
        source = module.__loader__.get_source(module.__name__)  # type: ignore[union-attr]
        assert source is not None
        assert "lexforge.generated" not in source

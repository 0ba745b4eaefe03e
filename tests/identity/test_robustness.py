"""Untrusted-input parsers never crash: arbitrary JSON gives a value or a typed error.
Also: every public module's ``__all__`` lists only names that exist."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import pkgutil
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lexforge.runtime.identity as identity_pkg
import lexforge.runtime.plc as plc_pkg
from lexforge.runtime.identity import DidDocument, IdentityError
from lexforge.runtime.identity.did_doc import normalize_service_endpoint
from lexforge.runtime.identity.handle_resolver import (
    did_from_txt_records,
    did_from_well_known_body,
)
from lexforge.runtime.identity.strict_json import StrictJsonError, loads_strict
from lexforge.runtime.plc import PlcError, parse_audit_log, parse_operation

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)

DOC_KEYS = ["id", "alsoKnownAs", "verificationMethod", "service", "@context"]
doc_like = st.dictionaries(
    st.sampled_from(DOC_KEYS), json_values | st.just("did:plc:ewvi7nxzyoun6zhxrhs64oiz")
)
OP_KEYS = ["type", "rotationKeys", "verificationMethods", "alsoKnownAs", "services", "prev", "sig"]
op_like = st.dictionaries(
    st.sampled_from(OP_KEYS), json_values | st.sampled_from(["plc_operation", "plc_tombstone"])
)


@settings(max_examples=150)
@given(doc_like | json_values)
def test_did_document_parse_never_crashes(value: Any) -> None:
    try:
        doc = DidDocument.parse(value, "did:plc:ewvi7nxzyoun6zhxrhs64oiz")
    except IdentityError:
        return
    # extraction never raises anything but typed errors either
    doc.handle()
    doc.pds_endpoint()
    doc.labeler_endpoint()
    with contextlib.suppress(IdentityError):
        doc.signing_key()


@settings(max_examples=150)
@given(op_like | json_values)
def test_parse_operation_never_crashes(value: Any) -> None:
    with contextlib.suppress(PlcError):
        parse_operation(value)


@settings(max_examples=100)
@given(
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "did": json_values,
                "operation": op_like,
                "cid": json_values,
                "nullified": st.booleans(),
                "createdAt": json_values,
            },
        ),
        max_size=3,
    )
    | json_values
)
def test_parse_audit_log_never_crashes(value: Any) -> None:
    with contextlib.suppress(PlcError):
        parse_audit_log(value)


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_strict_json_and_well_known_never_crash(data: bytes) -> None:
    with contextlib.suppress(StrictJsonError):
        loads_strict(data)
    did_from_well_known_body(data)


@settings(max_examples=200)
@given(st.lists(st.text(max_size=60), max_size=4))
def test_txt_selection_never_crashes(records: list[str]) -> None:
    did_from_txt_records(records)


@settings(max_examples=200)
@given(json_values)
def test_service_endpoint_never_crashes(value: Any) -> None:
    result = normalize_service_endpoint(value)
    assert result is None or result.startswith(("http://", "https://"))


@pytest.mark.parametrize(
    "text",
    ['{"a": 1, "a": 2}', '{"a": NaN}', "[Infinity]", '"\\ud800"', "[" * 100 + "]" * 100, "{"],
)
def test_strict_json_rejects(text: str) -> None:
    with pytest.raises(StrictJsonError):
        loads_strict(text)


def test_strict_json_accepts_plain_json() -> None:
    value = {"a": [1, "x", None, True, {"b": -2}]}
    assert loads_strict(json.dumps(value).encode()) == value


@pytest.mark.parametrize("package", [identity_pkg, plc_pkg])
def test_all_exports_exist(package: Any) -> None:
    modules = [package] + [
        importlib.import_module(f"{package.__name__}.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
    ]
    for module in modules:
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


@pytest.mark.parametrize(("package", "base"), [(identity_pkg, IdentityError), (plc_pkg, PlcError)])
def test_every_public_error_has_the_package_base(package: Any, base: type[Exception]) -> None:
    """One base class per package: callers catch ``IdentityError`` / ``PlcError`` and
    nothing escapes as a bare ``ValueError`` or similar."""
    checked = 0
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                assert issubclass(obj, base), f"{module.__name__}.{name}"
                checked += 1
    assert checked >= 8

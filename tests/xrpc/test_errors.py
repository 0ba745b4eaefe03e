"""The error tree, payloads and the response -> exception mapping (spec/xrpc.md §4)."""

from __future__ import annotations

import email.utils
import importlib
import pkgutil
import time

import pytest

from lexforge.runtime import xrpc
from lexforge.runtime.xrpc import errors
from lexforge.runtime.xrpc.errors import (
    MethodNotImplemented,
    XrpcBadRequest,
    XrpcDeclaredError,
    XrpcError,
    XrpcException,
    XrpcInternalServerError,
    XrpcNotFound,
    XrpcNotImplemented,
    XrpcRateLimited,
    XrpcUnauthorized,
    error_class_for_status,
    error_from_payload,
    is_valid_error_name,
)


class ThingNotFound(XrpcDeclaredError):
    error = "ThingNotFound"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, XrpcBadRequest),
        (401, XrpcUnauthorized),
        (404, XrpcNotFound),
        (409, XrpcBadRequest),  # unknown 4xx
        (429, XrpcRateLimited),
        (500, XrpcInternalServerError),
        (501, XrpcNotImplemented),
        (507, XrpcInternalServerError),  # unknown 5xx
        (302, XrpcNotFound),  # 3xx: not an XRPC answer
        (101, XrpcNotFound),
    ],
)
def test_status_classes(status: int, cls: type[XrpcError]) -> None:
    assert error_class_for_status(status) is cls


def test_every_error_is_an_xrpc_exception() -> None:
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type):
            assert issubclass(obj, XrpcException), name


def test_declared_errors_win_over_status_classes() -> None:
    exc = error_from_payload(
        401, {"error": "ThingNotFound", "message": "m"}, declared=[ThingNotFound]
    )
    assert type(exc) is ThingNotFound
    assert (exc.status, exc.error, exc.message) == (401, "ThingNotFound", "m")


@pytest.mark.parametrize(
    "payload",
    [None, "text", [1], {"error": 5}, {"error": "has space"}, {"error": ""}, {"message": 1}],
)
def test_odd_payloads_give_the_generic_class(payload: object) -> None:
    exc = error_from_payload(400, payload, declared=[ThingNotFound])
    assert type(exc) is XrpcBadRequest
    assert exc.error == "InvalidRequest"
    assert exc.message is None


def test_payload_and_text() -> None:
    exc = XrpcBadRequest("bad thing", error="ExpiredToken")
    assert exc.to_payload() == {"error": "ExpiredToken", "message": "bad thing"}
    assert str(exc) == "400 ExpiredToken: bad thing"
    assert "ExpiredToken" in repr(exc)
    assert XrpcUnauthorized().to_payload() == {"error": "AuthenticationRequired"}
    # an invalid name is never sent as is
    assert XrpcError("x", error="two words").to_payload()["error"] == "InvalidRequest"
    assert MethodNotImplemented is XrpcNotImplemented
    assert MethodNotImplemented().status == 501


def test_error_names() -> None:
    assert is_valid_error_name("RecordNotFound")
    for bad in ("", "a b", "tab\t", "naïve", None, 3, "x" * 200):
        assert not is_valid_error_name(bad)


def test_retry_after() -> None:
    assert XrpcRateLimited(headers={"retry-after": " 30 "}).retry_after == 30
    assert XrpcRateLimited(headers={"Retry-After": "Wed, 21 Oct 2015"}).retry_after is None
    assert XrpcRateLimited(headers={"Retry-After": "-3"}).retry_after is None
    assert XrpcRateLimited().retry_after is None
    # The HTTP-date form: a date in the past means now, a future one is rounded up.
    past = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert XrpcRateLimited(headers={"Retry-After": past}).retry_after == 0
    soon = email.utils.formatdate(time.time() + 90, usegmt=True)
    assert 85 <= (XrpcRateLimited(headers={"Retry-After": soon}).retry_after or 0) <= 91


def test_exported_members() -> None:
    """Each module's ``__all__`` names exactly its public definitions, no more, no less."""
    for info in pkgutil.iter_modules(xrpc.__path__, xrpc.__name__ + "."):
        module = importlib.import_module(info.name)
        exported = list(module.__all__)
        assert len(exported) == len(set(exported)), info.name
        for name in exported:
            assert hasattr(module, name), f"{info.name}.{name}"
        defined = {
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and getattr(value, "__module__", None) == module.__name__
            and (isinstance(value, type) or callable(value))
        }
        assert defined <= set(exported), f"{info.name} does not export {defined - set(exported)}"
    for name in xrpc.__all__:
        assert getattr(xrpc, name) is not None

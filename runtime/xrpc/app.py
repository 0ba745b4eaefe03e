"""Assembling an XRPC server: bindings + handlers -> Starlette routes or app.

``bindings`` maps each NSID to its generated binding (the dotted module holding
``BINDING``, imported only when a handler for that method exists, or the binding object
itself). ``handlers`` is a package (dotted name or module) whose modules each define
``NSID`` and ``handle`` (the scaffold convention, e.g. ``<pkg>/com/atproto/repo/
get_record.py``), or a mapping NSID -> handler. Every method without a handler, known
or not, answers 501 ``MethodNotImplemented`` through the catch-all route; a path under
``/xrpc/`` that is no NSID answers 400.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any, TypeAlias, TypedDict

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Lifespan

from lexforge.runtime.xrpc.binding import Binding, Procedure, Query, Subscription
from lexforge.runtime.xrpc.context import AuthHook
from lexforge.runtime.xrpc.errors import XrpcSetupError
from lexforge.runtime.xrpc.limits import Limits
from lexforge.runtime.xrpc.server import Handler, method_endpoint, not_implemented_endpoint
from lexforge.runtime.xrpc.subscription import (
    not_implemented_websocket,
    subscription_endpoint,
    upgrade_required_endpoint,
)

__all__ = [
    "ALL_METHODS",
    "AppOptions",
    "HandlerSource",
    "RouteOptions",
    "XrpcApp",
    "XrpcRoutes",
    "create_xrpc_app",
    "load_binding",
    "load_handlers",
    "xrpc_routes",
]

#: Handlers as a package (dotted name or module) or an NSID -> callable mapping.
HandlerSource: TypeAlias = str | ModuleType | Mapping[str, Callable[..., Any]]

#: The app type ``create_xrpc_app`` returns, and a route list (for generated signatures,
#: which import only from ``lexforge``).
XrpcApp: TypeAlias = Starlette
XrpcRoutes: TypeAlias = list[BaseRoute]


class RouteOptions(TypedDict, total=False):
    """Keyword options of :func:`xrpc_routes` (and of a generated ``build_routes``)."""

    auth: AuthHook | None
    limits: Limits | None
    validate_output: bool
    catch_all: bool


class AppOptions(TypedDict, total=False):
    """Keyword options of :func:`create_xrpc_app` (and of a generated ``create_app``)."""

    auth: AuthHook | None
    limits: Limits | None
    validate_output: bool
    routes: Sequence[BaseRoute]
    middleware: Sequence[Middleware] | None
    lifespan: Lifespan[Starlette] | None


#: Every route answers every method so a wrong one gets the XRPC 400, not Starlette's 405.
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def load_handlers(source: HandlerSource) -> dict[str, Handler]:
    """NSID -> handler from a package of handler modules or a mapping.

    Package modules without ``NSID`` are helpers and skipped; one with ``NSID`` but no
    callable ``handle``, or two modules for one NSID, is an :class:`XrpcSetupError`.
    """
    if isinstance(source, Mapping):
        handlers = dict(source)
        for nsid, handler in handlers.items():
            if not callable(handler):
                raise XrpcSetupError(f"handler for {nsid} is not callable")
        return handlers
    package = importlib.import_module(source) if isinstance(source, str) else source
    modules = [package]
    path = getattr(package, "__path__", None)
    if path is not None:
        for info in sorted(
            pkgutil.walk_packages(path, package.__name__ + "."), key=lambda m: m.name
        ):
            modules.append(importlib.import_module(info.name))
    found: dict[str, Handler] = {}
    origin: dict[str, str] = {}
    for module in modules:
        declared: object = getattr(module, "NSID", None)
        if not isinstance(declared, str):
            continue
        nsid = declared
        handle = getattr(module, "handle", None)
        if not callable(handle):
            raise XrpcSetupError(f"{module.__name__} defines NSID {nsid!r} but no handle()")
        if nsid in found:
            raise XrpcSetupError(f"two handlers for {nsid}: {origin[nsid]} and {module.__name__}")
        found[nsid] = handle
        origin[nsid] = module.__name__
    return found


def load_binding(target: str | Binding, *, anchor: str | None = None) -> Binding:
    """The binding object (importing ``<module>.BINDING`` for a dotted name; a name
    starting with ``.`` is relative to the package ``anchor``)."""
    if not isinstance(target, str):
        return target
    binding = getattr(importlib.import_module(target, package=anchor), "BINDING", None)
    if not isinstance(binding, Query | Procedure | Subscription):
        raise XrpcSetupError(f"{target} has no BINDING")
    return binding


def xrpc_routes(
    bindings: Mapping[str, str | Binding],
    handlers: HandlerSource,
    *,
    auth: AuthHook | None = None,
    limits: Limits | None = None,
    validate_output: bool = True,
    catch_all: bool = True,
    anchor: str | None = None,
) -> list[BaseRoute]:
    """Routes for every handled method, plus (``catch_all``) the 501/400 fallbacks.

    Mount them into an existing Starlette app, keeping the catch-alls last. Relative
    binding module names (``.com.example.get_thing``) resolve against ``anchor``.
    """
    limits = limits or Limits()
    routes: list[BaseRoute] = []
    for nsid, handler in sorted(load_handlers(handlers).items()):
        if nsid not in bindings:
            raise XrpcSetupError(f"handler for unknown method {nsid}")
        binding = load_binding(bindings[nsid], anchor=anchor)
        if binding.nsid != nsid:
            raise XrpcSetupError(f"binding for {nsid} is for {binding.nsid}")
        path = f"/xrpc/{nsid}"
        if isinstance(binding, Subscription):
            routes.append(WebSocketRoute(path, subscription_endpoint(binding, handler, auth=auth)))
            routes.append(Route(path, upgrade_required_endpoint, methods=ALL_METHODS))
        else:
            endpoint = method_endpoint(
                binding, handler, auth=auth, limits=limits, validate_output=validate_output
            )
            routes.append(Route(path, endpoint, methods=ALL_METHODS))
    if catch_all:
        routes.append(Route("/xrpc/{nsid:path}", not_implemented_endpoint, methods=ALL_METHODS))
        routes.append(WebSocketRoute("/xrpc/{nsid:path}", not_implemented_websocket))
    return routes


def create_xrpc_app(
    bindings: Mapping[str, str | Binding],
    handlers: HandlerSource,
    *,
    auth: AuthHook | None = None,
    limits: Limits | None = None,
    validate_output: bool = True,
    routes: Sequence[BaseRoute] = (),
    middleware: Sequence[Middleware] | None = None,
    lifespan: Lifespan[Starlette] | None = None,
    anchor: str | None = None,
) -> Starlette:
    """A Starlette app serving the XRPC methods; ``routes`` are added before them."""
    xrpc = xrpc_routes(
        bindings,
        handlers,
        auth=auth,
        limits=limits,
        validate_output=validate_output,
        anchor=anchor,
    )
    return Starlette(routes=[*routes, *xrpc], middleware=middleware, lifespan=lifespan)

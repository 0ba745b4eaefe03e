"""Errors raised by :mod:`lexforge.runtime.identity`.

One base class, :class:`IdentityError`, so callers can catch "identity did not work out"
in one place; the subclasses say *why*, following the failure classes the atproto specs
distinguish (bad syntax, unsupported method, not found, resolution failure, mismatch)::

    Exception
     +-- IdentityError
          +-- MalformedIdentifierError        not a DID / handle at all (also a ValueError)
          +-- DidError
          |    +-- UnsupportedDidMethodError  well-formed DID of a method we do not resolve
          |    +-- DidNotFoundError           the method says "no such DID" (404, 410, ...)
          |    |    +-- DidDeactivatedError   known but tombstoned / deactivated
          |    +-- DidResolutionError         transient or protocol failure while resolving
          |    +-- InvalidDidDocumentError    the document is malformed or not for this DID
          +-- HandleError
          |    +-- HandleReservedTldError     .local, .onion, ... (valid syntax, never resolved)
          |    +-- HandleNotFoundError        no DNS record and no well-known answer
          |    +-- HandleResolutionError      transient failure (timeout, SERVFAIL, 5xx)
          |    +-- HandleMismatchError        the DID document does not claim the handle
          +-- KeyNotDeclaredError             the document has no usable ``#atproto`` key
          +-- ServiceNotDeclaredError         the document has no usable service entry
          +-- StrictJsonError                 (also a ValueError) untrusted JSON refused
          +-- FetchError                      a safe HTTP fetch was refused or failed
               +-- UnsafeUrlError             scheme, port, userinfo or host not allowed
               +-- UnsafeAddressError         the host resolves to a forbidden IP address
               +-- ResponseTooLargeError      body exceeded the cap (checked while streaming)
               +-- FetchTimeoutError          a timeout or the overall deadline expired
               +-- RedirectError              redirect refused or too many redirects
               +-- FetchConnectError          could not connect / protocol error

Network-level refusals (:class:`FetchError`) are raised by the SSRF-safe client and are
also wrapped into the DID / handle errors above (as ``__cause__``) by the resolvers, so
most callers only need the top half of the tree.
"""

from __future__ import annotations

__all__ = [
    "DidDeactivatedError",
    "DidError",
    "DidNotFoundError",
    "DidResolutionError",
    "FetchConnectError",
    "FetchError",
    "FetchTimeoutError",
    "HandleError",
    "HandleMismatchError",
    "HandleNotFoundError",
    "HandleReservedTldError",
    "HandleResolutionError",
    "IdentityError",
    "InvalidDidDocumentError",
    "KeyNotDeclaredError",
    "MalformedIdentifierError",
    "RedirectError",
    "ResponseTooLargeError",
    "ServiceNotDeclaredError",
    "StrictJsonError",
    "UnsafeAddressError",
    "UnsafeUrlError",
    "UnsupportedDidMethodError",
]


class IdentityError(Exception):
    """Base class of every error raised by the identity package."""


class MalformedIdentifierError(IdentityError, ValueError):
    """The input is not a syntactically valid DID, handle or at-identifier."""


class DidError(IdentityError):
    """Resolving or interpreting a DID failed."""


class UnsupportedDidMethodError(DidError):
    """The DID is well-formed but its method is not one we resolve (plc, web, key)."""


class DidNotFoundError(DidError):
    """The DID's method answered authoritatively that the DID does not exist."""


class DidDeactivatedError(DidNotFoundError):
    """The DID exists but has been deactivated (a did:plc tombstone)."""


class DidResolutionError(DidError):
    """Resolution failed for a reason that may be transient (network, 5xx, timeout)."""


class InvalidDidDocumentError(DidError):
    """The DID document is malformed, too large, or its ``id`` is not the DID resolved."""


class HandleError(IdentityError):
    """Resolving or verifying a handle failed."""


class HandleReservedTldError(HandleError):
    """The handle uses a TLD that must never resolve (``.local``, ``.onion``, ...)."""


class HandleNotFoundError(HandleError):
    """Neither DNS nor the well-known endpoint declares exactly one valid DID."""


class HandleResolutionError(HandleError):
    """Handle resolution failed for a possibly transient reason (timeout, SERVFAIL)."""


class HandleMismatchError(HandleError):
    """The handle resolves to a DID whose document does not claim the handle back."""


class KeyNotDeclaredError(IdentityError):
    """The DID document declares no usable ``#atproto`` signing key."""


class ServiceNotDeclaredError(IdentityError):
    """The DID document declares no usable service of the kind asked for."""


class StrictJsonError(IdentityError, ValueError):
    """Untrusted JSON was refused: bad syntax, duplicate keys, NaN, lone surrogates, or
    nesting too deep (see :mod:`lexforge.runtime.identity.strict_json`). The resolvers
    turn it into :class:`InvalidDidDocumentError`; the PLC server into a 400."""


class FetchError(IdentityError):
    """A fetch through the SSRF-safe HTTP client was refused or failed."""


class UnsafeUrlError(FetchError):
    """The URL is not allowed: scheme, port, credentials, or a malformed host."""


class UnsafeAddressError(FetchError):
    """Every address the host resolves to is forbidden (loopback, private, ...)."""


class ResponseTooLargeError(FetchError):
    """The response body exceeded its size cap (enforced while streaming)."""


class FetchTimeoutError(FetchError):
    """A per-operation timeout or the overall deadline of the fetch expired."""


class RedirectError(FetchError):
    """A redirect was not allowed, pointed somewhere unsafe, or there were too many."""


class FetchConnectError(FetchError):
    """The connection failed or the peer spoke broken HTTP."""

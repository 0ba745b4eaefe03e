"""Errors raised by :mod:`lexforge.runtime.plc`.

::

    Exception
     +-- PlcError
          +-- InvalidOperationError       (also a ValueError) malformed op or limit exceeded
          |    +-- InvalidSignatureError   no allowed rotation key signed the operation
          |    +-- GenesisMismatchError    the DID is not the hash of the genesis operation
          |    +-- MisorderedOperationError prev unknown, after a tombstone, or out of order
          |    +-- LateRecoveryError       nullification outside the 72-hour window
          |    +-- InvalidAuditLogError    audit-log metadata (cid, nullified, createdAt) wrong
          +-- InvalidPlcDidError          (also a ValueError) not a did:plc identifier
          +-- RateLimitedError            too many operations for one DID (directory server)
          +-- PlcDirectoryError           a directory answered with an error (``.status``)
          +-- PlcNetworkError             the directory could not be reached or was refused
                                          (``__cause__`` is the identity ``FetchError``)

Every message says what was wrong; servers turn these into 400 answers with the message.
"""

from __future__ import annotations

__all__ = [
    "GenesisMismatchError",
    "InvalidAuditLogError",
    "InvalidOperationError",
    "InvalidPlcDidError",
    "InvalidSignatureError",
    "LateRecoveryError",
    "MisorderedOperationError",
    "PlcDirectoryError",
    "PlcError",
    "PlcNetworkError",
    "RateLimitedError",
]


class PlcError(Exception):
    """Base class of every did:plc error."""


class InvalidOperationError(PlcError, ValueError):
    """The operation is malformed or breaks a limit."""


class InvalidSignatureError(InvalidOperationError):
    """No allowed rotation key produced a valid signature over the operation."""


class GenesisMismatchError(InvalidOperationError):
    """The DID does not match the hash of its genesis operation."""


class MisorderedOperationError(InvalidOperationError):
    """The operation does not extend the log (unknown ``prev``, after a tombstone, ...)."""


class LateRecoveryError(InvalidOperationError):
    """A nullifying operation arrived more than 72 hours after the first op it nullifies."""


class InvalidAuditLogError(InvalidOperationError):
    """An audit log's metadata does not match its operations."""


class InvalidPlcDidError(PlcError, ValueError):
    """The identifier is not ``did:plc:`` followed by 24 lowercase base32 characters."""


class PlcNetworkError(PlcError):
    """The directory could not be reached, or the SSRF guard refused the connection.

    The underlying :class:`~lexforge.runtime.identity.errors.FetchError` (timeout,
    connection failure, unsafe address, response too large, redirect) is the
    ``__cause__``, so callers can still tell a timeout from a refusal.
    """


class RateLimitedError(PlcError):
    """The DID has submitted too many operations recently."""


class PlcDirectoryError(PlcError):
    """A PLC directory answered a request with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"PLC directory answered {status}: {message}")
        self.status = status
        self.message = message

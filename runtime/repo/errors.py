"""Typed errors of the repository layer.

Everything that can go wrong with untrusted repository data (a malformed MST node, a
bad commit, a CAR that does not match its commit, a proof that proves nothing) raises a
subclass of :class:`RepoError`, a ``ValueError``, so callers can map "bad repo data" to
one response without ever seeing a crash from malformed input.
"""

from __future__ import annotations

__all__ = [
    "CommitError",
    "InvalidKeyError",
    "InvalidMstError",
    "InvalidSignatureError",
    "InversionError",
    "MissingBlockError",
    "MstLimitError",
    "ProofError",
    "RepoError",
    "RepoImportError",
    "SwapError",
    "WriteError",
]


class RepoError(ValueError):
    """Base class of every repository error."""


class InvalidKeyError(RepoError):
    """A string is not a valid MST key (repo path ``collection/rkey``)."""


class InvalidMstError(RepoError):
    """An MST node or tree breaks a structural rule (layers, order, prefixes, shape)."""


class MstLimitError(InvalidMstError):
    """A tree exceeds the configured entries-per-node or height cap (key mining)."""


class MissingBlockError(RepoError):
    """A block the operation needs is not available (incomplete CAR slice or store)."""

    def __init__(self, cid: object, what: str = "block") -> None:
        self.cid = cid
        super().__init__(f"missing {what} {cid}")


class CommitError(RepoError):
    """A commit object is malformed or does not match what it claims."""


class InvalidSignatureError(CommitError):
    """A commit's signature does not verify under the given key."""


class WriteError(RepoError):
    """A write batch is invalid (too many ops, duplicate paths, bad record, ...)."""


class SwapError(WriteError):
    """A swap-commit or swap-record precondition failed (concurrent modification)."""


class InversionError(RepoError):
    """A commit's ops, inverted against its CAR slice, do not reproduce ``prevData``."""


class ProofError(RepoError):
    """A record inclusion or non-inclusion proof is invalid."""


class RepoImportError(RepoError):
    """A repository CAR failed verification on import."""

"""The :class:`Identity` value: what a directory lookup returns."""

from __future__ import annotations

from dataclasses import dataclass

from lexforge.runtime.crypto import PublicKey
from lexforge.runtime.identity.did_doc import DidDocument
from lexforge.runtime.identity.errors import KeyNotDeclaredError, ServiceNotDeclaredError
from lexforge.runtime.syntax import INVALID_HANDLE, Did, Handle

__all__ = ["Identity"]


@dataclass(frozen=True, slots=True)
class Identity:
    """A resolved account identity.

    ``handle`` is set only when it was verified in both directions (the handle resolves
    to ``did`` *and* the DID document claims it); otherwise it is None and
    :attr:`display_handle` is ``handle.invalid``. ``declared_handle`` is what the DID
    document claims, verified or not. ``signing_key`` and ``pds_endpoint`` are None when
    the document lacks a usable ``#atproto`` key / ``#atproto_pds`` service (a broken,
    not necessarily deleted, account).
    """

    did: Did
    handle: Handle | None
    declared_handle: Handle | None
    doc: DidDocument
    signing_key: PublicKey | None
    pds_endpoint: str | None

    @classmethod
    def from_document(cls, doc: DidDocument, *, handle_verified: bool) -> Identity:
        """Build from a validated document; ``handle_verified`` says whether the
        declared handle passed the forward check."""
        try:
            key: PublicKey | None = doc.signing_key()
        except KeyNotDeclaredError:
            key = None
        declared = doc.handle()
        return cls(
            did=doc.id,
            handle=declared if handle_verified else None,
            declared_handle=declared,
            doc=doc,
            signing_key=key,
            pds_endpoint=doc.pds_endpoint(),
        )

    @property
    def display_handle(self) -> str:
        """The verified handle, or ``handle.invalid``."""
        return self.handle if self.handle is not None else INVALID_HANDLE

    def require_signing_key(self) -> PublicKey:
        """The ``#atproto`` key; raises :class:`KeyNotDeclaredError` if there is none."""
        if self.signing_key is None:
            # Re-run the extraction for a precise message.
            return self.doc.signing_key()
        return self.signing_key

    def require_pds_endpoint(self) -> str:
        """The PDS endpoint; raises :class:`ServiceNotDeclaredError` if there is none."""
        if self.pds_endpoint is None:
            raise ServiceNotDeclaredError(f"{self.did} declares no valid #atproto_pds service")
        return self.pds_endpoint

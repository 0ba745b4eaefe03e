"""``at-identifier``: a DID or a handle, wherever an account can be named either way.

A string starting with ``did:`` is parsed as a :class:`Did`; anything else as a
:class:`Handle` (handles never contain ``:``, so the split is unambiguous). Handles are
lowercased; DIDs are kept as written.
"""

from __future__ import annotations

from functools import cached_property

from lexforge.runtime.syntax._base import SyntaxStr
from lexforge.runtime.syntax.did import Did
from lexforge.runtime.syntax.errors import InvalidAtIdentifierError, InvalidSyntaxError
from lexforge.runtime.syntax.handle import Handle

__all__ = ["AtIdentifier", "is_valid_at_identifier", "parse_did_or_handle"]


def parse_did_or_handle(value: object) -> Did | Handle:
    """Parse ``value`` as a :class:`Did` (if it starts with ``did:``) or a
    :class:`Handle`; raises :class:`InvalidAtIdentifierError` naming the reason."""
    text = AtIdentifier._text(value)
    try:
        if text.startswith("did:"):
            return Did.parse(text)
        return Handle.parse(text)
    except InvalidSyntaxError as exc:
        raise InvalidAtIdentifierError(text, f"not a valid {exc.kind}: {exc.reason}") from exc


class AtIdentifier(SyntaxStr):
    """A DID or a (lowercased) handle. ``is_did``/``is_handle`` tell which; ``did``,
    ``handle`` and ``value`` give it typed."""

    FORMAT = "at-identifier"
    MAX_LENGTH = Did.MAX_LENGTH
    ERROR = InvalidAtIdentifierError

    @classmethod
    def _check(cls, text: str) -> str:
        return str.__str__(parse_did_or_handle(text))

    @cached_property
    def value(self) -> Did | Handle:
        """The identifier as its precise type."""
        if self.startswith("did:"):
            return Did._make(self)
        return Handle._make(self)

    @property
    def is_did(self) -> bool:
        """True if this identifier is a DID (``did:...``)."""
        return self.startswith("did:")

    @property
    def is_handle(self) -> bool:
        """True if this identifier is a handle (always lowercased)."""
        return not self.is_did

    @property
    def did(self) -> Did | None:
        """The DID, or None if this is a handle."""
        value = self.value
        return value if isinstance(value, Did) else None

    @property
    def handle(self) -> Handle | None:
        """The handle, or None if this is a DID."""
        value = self.value
        return value if isinstance(value, Handle) else None


def is_valid_at_identifier(value: object) -> bool:
    """True if ``value`` is a string :meth:`AtIdentifier.parse` accepts; never raises."""
    try:
        AtIdentifier.parse(value)
    except InvalidAtIdentifierError:
        return False
    return True

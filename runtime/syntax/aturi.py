"""AT-URIs in the Lexicon ``at-uri`` format: ``at://AUTHORITY[/COLLECTION[/RKEY]]``.

Rules (atproto ``at-uri-scheme`` spec, restricted form used in Lexicon data):

- lowercase ``at://`` scheme; at most 8192 characters;
- AUTHORITY is a valid DID or handle (no userinfo, no port);
- COLLECTION, if present, is a valid NSID; RKEY, if present, is a valid record key;
- no empty segments, no trailing ``/`` (not even right after the authority), no more
  than two path segments, no query;
- an optional fragment is tolerated the way the reference implementation does: exactly
  one ``#``, followed by a JSON-pointer-like ``/...`` of URI-safe characters.

The string is kept exactly as given (a record's bytes must not change). The typed parts
are normalised: ``authority`` is a lowercased :class:`Handle` or a :class:`Did`,
``collection`` an :class:`Nsid` with a lowercased domain authority.
:meth:`AtUri.normalize` returns the URI rebuilt from those normalised parts.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import NamedTuple, Self

from lexforge.runtime.syntax._base import SyntaxStr
from lexforge.runtime.syntax.atidentifier import parse_did_or_handle
from lexforge.runtime.syntax.did import Did
from lexforge.runtime.syntax.errors import InvalidAtUriError, InvalidSyntaxError
from lexforge.runtime.syntax.handle import Handle
from lexforge.runtime.syntax.nsid import Nsid
from lexforge.runtime.syntax.recordkey import RecordKey

__all__ = ["AtUri", "is_valid_at_uri"]

_PREFIX = "at://"
_FRAGMENT_RE = re.compile(r"/[a-zA-Z0-9._~:@!$&')(*+,;=%\[\]/-]*")


class _Parts(NamedTuple):
    authority: Did | Handle
    collection: Nsid | None
    rkey: RecordKey | None
    path: str
    fragment: str | None


def _split(text: str) -> _Parts:
    """Parse a length-capped string; raises :class:`InvalidAtUriError`."""
    main, hash_sign, fragment = text.partition("#")
    if hash_sign:
        if "#" in fragment:
            raise InvalidAtUriError(text, "at most one '#' is allowed")
        if not _FRAGMENT_RE.fullmatch(fragment):
            raise InvalidAtUriError(
                text, "fragment must start with '/' and use only URI-safe ASCII characters"
            )
    if not main.startswith(_PREFIX):
        raise InvalidAtUriError(text, "must start with 'at://' (lowercase)")
    authority_text, slash, path = main[len(_PREFIX) :].partition("/")
    try:
        authority = parse_did_or_handle(authority_text)
    except InvalidSyntaxError as exc:
        raise InvalidAtUriError(
            text, f"authority is not a valid DID or handle ({exc.reason})"
        ) from exc
    if not slash:
        return _Parts(authority, None, None, "", fragment if hash_sign else None)
    segments = path.split("/")
    if len(segments) > 2:
        raise InvalidAtUriError(text, "at most two path segments (collection and record key)")
    if any(not segment for segment in segments):
        raise InvalidAtUriError(text, "empty path segment or trailing '/'")
    try:
        collection = Nsid.parse(segments[0])
    except InvalidSyntaxError as exc:
        raise InvalidAtUriError(text, f"collection is not a valid NSID ({exc.reason})") from exc
    rkey = None
    if len(segments) == 2:
        try:
            rkey = RecordKey.parse(segments[1])
        except InvalidSyntaxError as exc:
            raise InvalidAtUriError(text, f"record key is not valid ({exc.reason})") from exc
    return _Parts(authority, collection, rkey, "/" + path, fragment if hash_sign else None)


class AtUri(SyntaxStr):
    """A valid AT-URI, e.g. ``at://did:plc:abc/app.bsky.feed.post/3jzfcijpj2z2a``."""

    FORMAT = "at-uri"
    MAX_LENGTH = 8192
    ERROR = InvalidAtUriError

    @classmethod
    def _check(cls, text: str) -> str:
        _split(text)
        return text

    @classmethod
    def make(
        cls,
        authority: str,
        collection: str | None = None,
        rkey: str | None = None,
    ) -> Self:
        """Build (and validate) ``at://authority[/collection[/rkey]]`` from parts."""
        if rkey is not None and collection is None:
            raise InvalidAtUriError(rkey, "a record key needs a collection")
        text = _PREFIX + "/".join(
            str(part) for part in (authority, collection, rkey) if part is not None
        )
        return cls.parse(text)

    @cached_property
    def _parts(self) -> _Parts:
        return _split(self)

    @property
    def authority(self) -> Did | Handle:
        """The authority as a :class:`Did` or a lowercased :class:`Handle`."""
        return self._parts.authority

    @property
    def did(self) -> Did | None:
        """The authority if it is a DID, else None."""
        authority = self._parts.authority
        return authority if isinstance(authority, Did) else None

    @property
    def handle(self) -> Handle | None:
        """The authority if it is a handle, else None."""
        authority = self._parts.authority
        return authority if isinstance(authority, Handle) else None

    @property
    def collection(self) -> Nsid | None:
        """The collection NSID (authority lowercased), or None."""
        return self._parts.collection

    @property
    def rkey(self) -> RecordKey | None:
        """The record key, or None."""
        return self._parts.rkey

    @property
    def path(self) -> str:
        """The path as written: ``""``, ``"/collection"`` or ``"/collection/rkey"``."""
        return self._parts.path

    @property
    def query(self) -> None:
        """Always None: the Lexicon ``at-uri`` format has no query component (a ``?`` can
        never appear in a valid value). Present so code written against generic URI
        parts works unchanged."""
        return None

    @property
    def fragment(self) -> str | None:
        """The fragment without its ``#`` (always starting with ``/``), or None."""
        return self._parts.fragment

    @property
    def repo_path(self) -> str | None:
        """``collection/rkey`` (the MST key of a record URI), or None if either is
        missing. Uses the normalised collection."""
        parts = self._parts
        if parts.collection is None or parts.rkey is None:
            return None
        return f"{parts.collection}/{parts.rkey}"

    def normalize(self) -> AtUri:
        """This URI rebuilt from its normalised parts (lowercased handle and collection
        authority), fragment kept."""
        parts = self._parts
        text = _PREFIX + parts.authority
        if parts.collection is not None:
            text += "/" + parts.collection
        if parts.rkey is not None:
            text += "/" + parts.rkey
        if parts.fragment is not None:
            text += "#" + parts.fragment
        return AtUri._make(text)


def is_valid_at_uri(value: object) -> bool:
    """True if ``value`` is a string :meth:`AtUri.parse` accepts; never raises."""
    try:
        AtUri.parse(value)
    except InvalidAtUriError:
        return False
    return True

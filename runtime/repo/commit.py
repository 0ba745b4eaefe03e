"""Signed repository commits (format version 3).

The signature covers SHA-256 of the canonical encoding of the commit *without* ``sig``
(``prev`` present even when null: omitting it changes the signed bytes). The commit's
CID is that of the *signed* encoding. Verification re-encodes the unsigned map, so any
field an attacker adds or changes breaks the signature.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from lexforge.runtime.crypto import Keypair, PublicKey, parse_did_key
from lexforge.runtime.crypto.errors import CryptoError
from lexforge.runtime.data import CID, DataModelError, decode, encode
from lexforge.runtime.repo.cids import cbor_cid
from lexforge.runtime.repo.errors import CommitError, InvalidSignatureError
from lexforge.runtime.repo.fastinit import slot_setters
from lexforge.runtime.repo.fastsyntax import fast_is_did, fast_is_tid
from lexforge.runtime.repo.mst import is_node_cid

__all__ = ["COMMIT_VERSION", "Commit", "sign_commit"]

COMMIT_VERSION = 3


@dataclass(frozen=True, slots=True)
class Commit:
    """A decoded commit: ``did``, ``rev`` (TID), ``data`` (MST root), ``prev``, ``sig``."""

    did: str
    rev: str
    data: CID
    sig: bytes
    prev: CID | None = None
    version: int = COMMIT_VERSION

    def unsigned(self) -> dict[str, Any]:
        return {
            "did": self.did,
            "rev": self.rev,
            "data": self.data,
            "prev": self.prev,
            "version": self.version,
        }

    def unsigned_bytes(self) -> bytes:
        """The bytes the signature covers."""
        return encode(self.unsigned())

    def to_block(self) -> bytes:
        return encode({**self.unsigned(), "sig": self.sig})

    @property
    def cid(self) -> CID:
        return cbor_cid(self.to_block())

    def verify(self, key: PublicKey | str) -> bool:
        """Whether ``sig`` is a valid low-S signature by ``key`` (a PublicKey or did:key)."""
        try:
            public = parse_did_key(key) if isinstance(key, str) else key
            return public.verify(self.unsigned_bytes(), self.sig)
        except CryptoError:
            return False

    def check_signature(self, key: PublicKey | str) -> None:
        """Raise :class:`InvalidSignatureError` unless :meth:`verify` holds."""
        if not self.verify(key):
            raise InvalidSignatureError(f"commit {self.rev} of {self.did}: bad signature")

    @classmethod
    def from_block(cls, block: bytes) -> Commit:
        """Decode and shape-check an untrusted commit block (v3; v2 read leniently)."""
        try:
            obj = decode(block)
        except DataModelError as exc:
            raise CommitError(f"commit is not canonical DAG-CBOR: {exc}") from None
        if type(obj) is not dict:
            raise CommitError("commit is not a map")
        get: Callable[[str], Any] = obj.get
        version = get("version")
        if type(version) is not int or version not in (2, 3):  # (bool is not int here)
            raise CommitError(f"unsupported commit version {version!r}")
        if not obj.keys() <= _FIELDS:
            raise CommitError(f"unexpected commit fields {sorted(obj.keys() - _FIELDS)}")
        if version == 3 and "prev" not in obj:
            raise CommitError("v3 commit lacks 'prev' (must be present, possibly null)")
        did, rev, data, prev, sig = get("did"), get("rev"), get("data"), get("prev"), get("sig")
        if not fast_is_did(did):
            raise CommitError("commit 'did' is not a valid DID")
        if not fast_is_tid(rev):
            raise CommitError("commit 'rev' is not a TID")
        if not is_node_cid(data):
            raise CommitError("commit 'data' is not a dag-cbor sha-256 CID")
        if prev is not None and type(prev) is not CID:
            raise CommitError("commit 'prev' is not null or a CID")
        if type(sig) is not bytes or not sig:
            raise CommitError("commit 'sig' missing or not bytes")
        commit = _make_commit(did, rev, data, sig, prev, version)
        if commit.to_block() != block:
            raise CommitError("commit does not re-encode to its block")
        return commit


#: The fields a commit may have (v2 and v3).
_FIELDS: Final = frozenset(("did", "rev", "data", "prev", "version", "sig"))

_new = object.__new__
_set_did, _set_rev, _set_data, _set_sig, _set_prev, _set_version = slot_setters(
    Commit, "did", "rev", "data", "sig", "prev", "version"
)


def _make_commit(  # noqa: PLR0917 - hot constructor, positional on purpose
    did: str, rev: str, data: CID, sig: bytes, prev: CID | None, version: int
) -> Commit:
    """``Commit(did, rev, data, sig, prev, version)`` without the dataclass ``__init__``."""
    commit: Commit = _new(Commit)
    _set_did(commit, did)
    _set_rev(commit, rev)
    _set_data(commit, data)
    _set_sig(commit, sig)
    _set_prev(commit, prev)
    _set_version(commit, version)
    return commit


def sign_commit(did: str, rev: str, data: CID, key: Keypair, prev: CID | None = None) -> Commit:
    """A new v3 commit signed with ``key``."""
    unsigned = {"did": did, "rev": rev, "data": data, "prev": prev, "version": COMMIT_VERSION}
    return _make_commit(did, rev, data, key.sign(encode(unsigned)), prev, COMMIT_VERSION)

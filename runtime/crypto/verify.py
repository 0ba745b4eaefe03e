"""One-call signature verification from a did:key or a parsed key."""

from __future__ import annotations

from lexforge.runtime.crypto.did_key import parse_did_key
from lexforge.runtime.crypto.keys import PublicKey

__all__ = ["verify_signature"]


def verify_signature(key: PublicKey | str, message: bytes, signature: bytes) -> bool:
    """Strictly verify ``signature`` over SHA-256(``message``) with ``key``, a
    :class:`PublicKey` or a did:key string.

    Returns a bool for every signature (see :meth:`PublicKey.verify`). A malformed
    did:key is the caller's data, not the signer's, and raises
    :class:`~lexforge.runtime.crypto.errors.InvalidKeyError`.
    """
    public_key = parse_did_key(key) if isinstance(key, str) else key
    return public_key.verify(message, signature)

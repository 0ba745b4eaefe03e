"""MST keys: repo paths and their layer in the tree.

A key is the path ``<collection>/<rkey>`` (exactly two non-empty segments of
``A-Za-z0-9 . - _ ~ :``, at most 1024 bytes). Its *layer* is the number of leading zero
2-bit pairs of ``SHA-256(key)``: a quarter of all keys sit at layer >= 1, giving the tree
a fanout of about four. Layers are cached because every write, proof and inversion asks
for them again.
"""

from __future__ import annotations

import re
from hashlib import sha256
from typing import Final

from lexforge.runtime.repo.errors import InvalidKeyError

__all__ = [
    "MAX_KEY_BYTES",
    "check_key",
    "common_prefix_length",
    "is_valid_key",
    "key_layer",
    "split_key",
]

#: Longest MST key the TS and Go references accept.
MAX_KEY_BYTES: Final = 1024

_KEY_RE: Final = re.compile(r"[A-Za-z0-9._~:\-]+/[A-Za-z0-9._~:\-]+")
_LAYER_CACHE: dict[str, int] = {}
_LAYER_CACHE_MAX: Final = 1 << 20


def is_valid_key(key: object) -> bool:
    """Whether ``key`` is a valid MST key (repo path); never raises."""
    return (
        isinstance(key, str)
        and 0 < len(key) <= MAX_KEY_BYTES
        and _KEY_RE.fullmatch(key) is not None
    )


def check_key(key: object) -> str:
    """Return ``key`` if it is a valid repo path, else raise :class:`InvalidKeyError`."""
    if not is_valid_key(key):
        raise InvalidKeyError(f"invalid repo path (MST key): {key!r:.80}")
    assert isinstance(key, str)
    return key


def split_key(key: str) -> tuple[str, str]:
    """``(collection, rkey)`` of a valid key."""
    collection, _, rkey = check_key(key).partition("/")
    return collection, rkey


def _layer_of_digest(digest: bytes) -> int:
    zeros = 0
    for byte in digest:
        if byte == 0:
            zeros += 8
            continue
        zeros += 8 - byte.bit_length()
        break
    return zeros // 2


def key_layer(key: str | bytes) -> int:
    """The MST layer of ``key`` (any string or bytes; validity is checked elsewhere)."""
    if isinstance(key, bytes):
        return _layer_of_digest(sha256(key).digest())
    layer = _LAYER_CACHE.get(key)
    if layer is None:
        digest = sha256(key.encode("utf-8")).digest()
        top = int.from_bytes(digest[:8], "big")
        layer = (64 - top.bit_length()) // 2 if top else _layer_of_digest(digest)
        if len(_LAYER_CACHE) >= _LAYER_CACHE_MAX:
            _LAYER_CACHE.clear()
        _LAYER_CACHE[key] = layer
    return layer


def common_prefix_length(a: bytes | str, b: bytes | str) -> int:
    """Length of the common prefix of two byte strings (or two ASCII strings)."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i

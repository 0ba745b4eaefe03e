"""MST keys: repo paths and their layer in the tree.

A key is the path ``<collection>/<rkey>`` (exactly two non-empty segments of
``A-Za-z0-9 . - _ ~ :``, at most 1024 bytes). Its *layer* is the number of leading zero
2-bit pairs of ``SHA-256(key)``: a quarter of all keys sit at layer >= 1, giving the tree
a fanout of about four. With the C codec the layers come from its SHA-256 (SHA-NI where
the CPU has it: ~0.1 us a key, cheaper than a cache lookup was) and nothing is cached.
With pure Python, layers of keys met while loading or writing trees are cached (the
working set of a repo is asked again and again); the cache is bounded (about 130,000
keys, some 20 MB at most) and starts over when full. Walks over whole trees use the
uncached functions, so they neither fill it nor grow with the tree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from hashlib import sha256
from typing import Final

from lexforge.runtime.data import BACKEND
from lexforge.runtime.repo.errors import InvalidKeyError

__all__ = [
    "MAX_KEY_BYTES",
    "check_key",
    "clear_layer_cache",
    "common_prefix_length",
    "is_valid_key",
    "key_layer",
    "key_layer_uncached",
    "key_layers",
    "key_layers_cached",
    "split_key",
]

#: Longest MST key the TS and Go references accept.
MAX_KEY_BYTES: Final = 1024

_KEY_RE: Final = re.compile(r"[A-Za-z0-9._~:\-]+/[A-Za-z0-9._~:\-]+")
_LAYER_CACHE: dict[str, int] = {}
_LAYER_CACHE_MAX: Final = 1 << 17


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
    # leading zero bits of the 256-bit digest, halved (an all-zero digest gives 128)
    return (256 - int.from_bytes(digest, "big").bit_length()) >> 1


def _key_layer_py(key: str | bytes) -> int:
    """The MST layer of ``key`` (any string or bytes; validity is checked elsewhere)."""
    if isinstance(key, bytes):
        return _layer_of_digest(sha256(key).digest())
    layer = _LAYER_CACHE.get(key)
    if layer is None:
        layer = (256 - int.from_bytes(sha256(key.encode()).digest(), "big").bit_length()) >> 1
        if len(_LAYER_CACHE) >= _LAYER_CACHE_MAX:
            _LAYER_CACHE.clear()
        _LAYER_CACHE[key] = layer
    return layer


def clear_layer_cache() -> None:
    """Forget every cached key layer (benchmarks of cold caches; memory pressure)."""
    _LAYER_CACHE.clear()


def _key_layer_uncached_py(key: str) -> int:
    """:func:`key_layer` without touching the cache (for one-pass walks of whole trees)."""
    layer = _LAYER_CACHE.get(key)
    if layer is None:
        return (256 - int.from_bytes(sha256(key.encode()).digest(), "big").bit_length()) >> 1
    return layer


def _key_layers_cached_py(keys: list[str]) -> list[int]:
    """``[key_layer(k) for k in keys]``, looking the cache up in one pass (node checks)."""
    get = _LAYER_CACHE.get
    out = [get(k, -1) for k in keys]
    if -1 in out:
        from_bytes = int.from_bytes
        out = [
            (256 - from_bytes(sha256(k.encode()).digest(), "big").bit_length()) >> 1
            if layer < 0
            else layer
            for k, layer in zip(keys, out, strict=True)
        ]
        if len(_LAYER_CACHE) >= _LAYER_CACHE_MAX:
            _LAYER_CACHE.clear()
        _LAYER_CACHE.update(zip(keys, out, strict=True))
    return out


def _key_layers_py(keys: Iterable[str]) -> list[int]:
    """``[key_layer(k) for k in keys]`` in one pass, without filling the cache (bulk builds)."""
    get = _LAYER_CACHE.get
    from_bytes = int.from_bytes
    return [
        (256 - from_bytes(sha256(k.encode()).digest(), "big").bit_length()) >> 1
        if (layer := get(k)) is None
        else layer
        for k in keys
    ]


#: ``key_layer(key)``: the MST layer of ``key`` (any str, as UTF-8, or bytes; validity is
#: checked elsewhere).
key_layer: Callable[[str | bytes], int] = _key_layer_py
#: ``key_layer_uncached(key)``: :func:`key_layer` without filling the cache (one-pass
#: walks of whole trees).
key_layer_uncached: Callable[[str], int] = _key_layer_uncached_py
#: ``key_layers_cached(keys)``: ``[key_layer(k) for k in keys]`` for a list (node checks).
key_layers_cached: Callable[[list[str]], list[int]] = _key_layers_cached_py
#: ``key_layers(keys)``: ``[key_layer(k) for k in keys]`` without filling the cache
#: (bulk builds).
key_layers: Callable[[Iterable[str]], list[int]] = _key_layers_py

if BACKEND == "c":
    from lexforge.runtime.data import _cbor

    _c_layers = _cbor.mst_key_layers

    def _key_layers_c(keys: Iterable[str]) -> list[int]:
        return _c_layers(keys if type(keys) is list else list(keys))

    key_layer = _cbor.mst_key_layer
    key_layer_uncached = _cbor.mst_key_layer
    key_layers_cached = _c_layers
    key_layers = _key_layers_c


def common_prefix_length(a: bytes | str, b: bytes | str) -> int:
    """Length of the common prefix of two byte strings (or two ASCII strings)."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i

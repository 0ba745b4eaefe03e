"""Strict, canonical DAG-CBOR (DRISL): the codec every hash and signature depends on.

``encode(value)`` writes the one canonical encoding of a data-model value; ``decode``
reads untrusted bytes and refuses every non-canonical or forbidden form, so a value that
decodes re-encodes to the same bytes (and so to the same CID). ``decode_prefix`` reads
one item from the front of a buffer (firehose frames are two items back to back).
Errors: ``DecodeError`` (``.reason``, ``.offset``) and ``EncodeError`` (``.reason``,
``.path``), both ``ValueError``s.

Two interchangeable backends implement the same rules: the C accelerator
``lexforge.runtime.data._cbor`` (built by setup.py when a compiler is available) and
``cbor_pure``. :data:`BACKEND` says which one is active: ``"c"`` or ``"python"``.
Setting the environment variable ``LEXFORGE_CBOR_BACKEND=python`` before import forces
the pure-Python one.

Decisions, where the spec leaves room:

- Integers: the codec accepts and writes the whole int64 range (the data model's MUST);
  keeping within +-(2**53 - 1) (its SHOULD) is left to Lexicon/JSON validation, so that
  every decodable block re-encodes byte-identically. Beyond int64 is refused both ways.
- Limits (keyword arguments of all three functions, defaults from the data-model
  guide): ``max_depth=32`` containers (a scalar is depth 0, ``[]`` depth 1; at most
  256), ``max_container_len=131072`` entries, ``max_key_len=8192`` UTF-8 bytes. The
  encoder enforces the same limits, so we never write a block our decoder refuses.
- CIDs in tag 42: any well-formed CIDv1 of at most 100 bytes (links inside records
  may point at anything, and the received bytes are preserved); CIDv0 is refused.
  ``require_blessed_cids=True`` narrows this to v1/sha2-256/32-byte/dag-cbor-or-raw,
  for structures where the spec requires it (commits, MST nodes).
- Map keys: any str, including the empty string (refusing empty keys is a data-model
  validation rule, not an encoding one).
- Accepted on encode besides the data-model types: str/int/bytes/dict/list
  subclasses (read through the base type), tuples (as arrays) and bytearray.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lexforge.runtime.data.cbor_limits import MAX_CONTAINER_LEN, MAX_DEPTH, MAX_KEY_LEN

__all__ = [
    "BACKEND",
    "MAX_CONTAINER_LEN",
    "MAX_DEPTH",
    "MAX_KEY_LEN",
    "decode",
    "decode_prefix",
    "encode",
]


def _backend() -> tuple[str, Callable[..., Any], Callable[..., Any], Callable[..., bytes]]:
    """The C codec when it is built and not switched off, else the pure-Python one
    (imported only then: it is a large module that the C backend never needs)."""
    if os.environ.get("LEXFORGE_CBOR_BACKEND") != "python":
        try:
            from lexforge.runtime.data import _cbor  # noqa: PLC0415
        except ImportError:  # pragma: no cover - the extension was not built here
            pass
        else:
            return "c", _cbor.decode, _cbor.decode_prefix, _cbor.encode
    from lexforge.runtime.data import cbor_pure  # noqa: PLC0415

    return "python", cbor_pure.decode, cbor_pure.decode_prefix, cbor_pure.encode


if TYPE_CHECKING:  # both backends have these signatures (see _cbor.pyi)
    from lexforge.runtime.data.cbor_pure import decode, decode_prefix, encode

    BACKEND: str
else:
    BACKEND, decode, decode_prefix, encode = _backend()

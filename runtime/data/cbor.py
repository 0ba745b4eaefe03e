"""Strict, canonical DAG-CBOR (DRISL): the codec every hash and signature depends on.

``encode(value)`` writes the one canonical encoding of a data-model value; ``decode``
reads untrusted bytes and refuses every non-canonical or forbidden form, so a value that
decodes re-encodes to the same bytes (and so to the same CID). ``decode_prefix`` reads
one item from the front of a buffer (firehose frames are two items back to back).

Two interchangeable backends implement the same rules: the C accelerator
``lexforge.runtime.data._cbor`` (built by setup.py when a compiler is available) and
``cbor_pure``. :data:`BACKEND` says which one is active: ``"c"`` or ``"python"``.
Setting the environment variable ``LEXFORGE_CBOR_BACKEND=python`` before import forces
the pure-Python one.

Integers: the codec accepts and writes the whole int64 range (the data model's MUST);
keeping within +-(2**53 - 1) (its SHOULD) is left to Lexicon validation, so that any
decodable block re-encodes byte-identically.
"""

from __future__ import annotations

import os

from lexforge.runtime.data import cbor_pure
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

decode = cbor_pure.decode
decode_prefix = cbor_pure.decode_prefix
encode = cbor_pure.encode
BACKEND = "python"

if os.environ.get("LEXFORGE_CBOR_BACKEND") != "python":
    try:
        from lexforge.runtime.data import _cbor
    except ImportError:  # pragma: no cover - the extension was not built here
        pass
    else:
        decode = _cbor.decode
        decode_prefix = _cbor.decode_prefix
        encode = _cbor.encode
        BACKEND = "c"

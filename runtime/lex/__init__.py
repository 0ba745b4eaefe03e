"""What generated Lexicon models import: the model base, Lexicon value types and checks.

This package is the runtime half of the compiler's output (it never imports
``lexforge.generated``):

* ``LexModel`` / ``LexRecord``: base classes with the shared configuration (strict,
  unknown fields kept, lossless serialisation, lazy validator build);
* ``union(...)``, ``UNKNOWN_TAG``: ``$type``-discriminated unions, open or closed;
* ``CidLink``, ``Bytes``, ``BlobRef``, ``UnknownObject``, ``DataValue``: Lexicon value
  types that read both the JSON and the DAG-CBOR form;
* ``lazy_module``: how generated modules refer to each other without importing;
* ``StringLimits``, ``BytesLength``, ``BlobConstraints``, ``Omittable``: constraints
  pydantic has no native form for (UTF-8 bytes, graphemes, MIME patterns, not-null).

Importing it does not import ``lexforge.runtime.data`` or ``lexforge.runtime.syntax``:
the modules that need them load when a schema is first built (``BlobRef``/``CidLink``
on first access).
"""

from typing import TYPE_CHECKING, Any

from lexforge.runtime.lex.constraints import BlobConstraints, BytesLength, Omittable, StringLimits
from lexforge.runtime.lex.errors import ERROR_TYPES
from lexforge.runtime.lex.lazy import LazyModule, lazy_module
from lexforge.runtime.lex.model import UNKNOWN_TAG, LexModel, LexRecord, TypedUnion, union
from lexforge.runtime.lex.values import Bytes, DataValue, UnknownObject, as_data

if TYPE_CHECKING:
    from lexforge.runtime.lex.values import BlobRef, CidLink

__all__ = [
    "ERROR_TYPES",
    "UNKNOWN_TAG",
    "BlobConstraints",
    "BlobRef",
    "Bytes",
    "BytesLength",
    "CidLink",
    "DataValue",
    "LazyModule",
    "LexModel",
    "LexRecord",
    "Omittable",
    "StringLimits",
    "TypedUnion",
    "UnknownObject",
    "as_data",
    "lazy_module",
    "union",
]


def __getattr__(name: str) -> Any:
    # ``BlobRef`` and ``CidLink`` import ``lexforge.runtime.data`` (see ``values``).
    if name in ("BlobRef", "CidLink"):
        from lexforge.runtime.lex import values  # noqa: PLC0415

        return getattr(values, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

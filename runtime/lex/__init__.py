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

Importing it imports nothing else: each name loads its module on first access, and
``lexforge.runtime.data`` and ``lexforge.runtime.syntax`` load when a schema is first
built (``BlobRef``/``CidLink`` on first access).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lexforge.runtime.lex.constraints import (
        BlobConstraints,
        BytesLength,
        Omittable,
        StringLimits,
    )
    from lexforge.runtime.lex.errors import ERROR_TYPES
    from lexforge.runtime.lex.lazy import LazyModule, lazy_module
    from lexforge.runtime.lex.model import UNKNOWN_TAG, LexModel, LexRecord, TypedUnion, union
    from lexforge.runtime.lex.values import (
        BlobRef,
        Bytes,
        CidLink,
        DataValue,
        UnknownObject,
        as_data,
    )

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

#: Where each public name lives. Loaded on first access (PEP 562), so that importing a
#: pydantic-free submodule (``text``, ``mime``: the compiler uses them) does not load
#: pydantic through this package; generated modules import the names at once anyway.
_HOMES = {
    "BlobConstraints": "constraints",
    "BytesLength": "constraints",
    "Omittable": "constraints",
    "StringLimits": "constraints",
    "ERROR_TYPES": "errors",
    "LazyModule": "lazy",
    "lazy_module": "lazy",
    "UNKNOWN_TAG": "model",
    "LexModel": "model",
    "LexRecord": "model",
    "TypedUnion": "model",
    "union": "model",
    # ``BlobRef`` and ``CidLink`` import ``lexforge.runtime.data`` (see ``values``).
    "BlobRef": "values",
    "Bytes": "values",
    "CidLink": "values",
    "DataValue": "values",
    "UnknownObject": "values",
    "as_data": "values",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

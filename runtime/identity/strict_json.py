"""Strict JSON decoding for untrusted identity responses.

Python's ``json`` accepts ``NaN``/``Infinity``, silently keeps the *last* of duplicate
keys (so two parsers can see different documents), decodes lone surrogates that blow up
later, and raises ``RecursionError`` on deep nesting. DID documents and PLC operations
come from strangers, so this decoder refuses all of that with one error type. Callers
cap the byte size before calling it.
"""

from __future__ import annotations

import json
from typing import Any

from lexforge.runtime.identity.errors import StrictJsonError

__all__ = ["StrictJsonError", "loads_strict"]


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise StrictJsonError(f"duplicate key {key[:64]!r}")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise StrictJsonError(f"{name} is not valid JSON")


def _check_strings(value: Any, depth: int, max_depth: int) -> None:
    if depth > max_depth:
        raise StrictJsonError(f"nested deeper than {max_depth} levels")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise StrictJsonError("string contains a lone surrogate") from None
    elif isinstance(value, list):
        for item in value:
            _check_strings(item, depth + 1, max_depth)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, depth + 1, max_depth)
            _check_strings(item, depth + 1, max_depth)


def loads_strict(data: bytes | str, *, max_depth: int = 32) -> Any:
    """Decode UTF-8 JSON strictly; raises :class:`StrictJsonError`."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise StrictJsonError(f"not UTF-8: {exc.reason}") from None
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except StrictJsonError:
        raise
    except RecursionError:
        raise StrictJsonError("nested too deeply") from None
    except ValueError as exc:
        raise StrictJsonError(f"invalid JSON: {exc}") from None
    _check_strings(value, 0, max_depth)
    return value

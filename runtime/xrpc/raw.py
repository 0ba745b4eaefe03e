"""The return type of a raw-output handler, kept apart so typing it loads nothing heavy.

A raw output is a method output whose Lexicon encoding is not JSON (``output`` ``None``
with an encoding set on the binding). Generated ``Handler`` protocols and scaffolded
handlers name :data:`RawOutput`; :mod:`.raw_output` serves it.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from typing import TypeAlias

__all__ = ["RawOutput"]

#: The whole body (sent with ``Content-Length``), or its chunks, async or sync (streamed).
RawOutput: TypeAlias = bytes | AsyncIterable[bytes] | Iterable[bytes]

"""Request body size limits of an XRPC server, per method and per encoding.

Defaults follow the reference PDS (reliability.md §4): 150 KiB for JSON, 100 KiB for
text, 1,000,000 bytes of JSON for the record-writing routes, 5 MiB for binary bodies
(blob uploads). Every limit counts bytes *after* ``Content-Encoding`` decoding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from lexforge.runtime.xrpc.content import JSON, split_encodings

__all__ = ["DEFAULT_METHOD_LIMITS", "Limits"]

#: Methods whose JSON bodies carry whole records (reference ``jsonLimit: 1_000_000``).
DEFAULT_METHOD_LIMITS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "com.atproto.repo.applyWrites": 1_000_000,
        "com.atproto.repo.createRecord": 1_000_000,
        "com.atproto.repo.putRecord": 1_000_000,
    }
)


@dataclass(frozen=True, slots=True)
class Limits:
    """Body caps in bytes. ``methods`` maps an NSID to its own cap (it wins over the
    per-encoding defaults); pass ``Limits(methods={**DEFAULT_METHOD_LIMITS, ...})`` to
    keep the record-route defaults while adding others."""

    json: int = 150 * 1024
    text: int = 100 * 1024
    binary: int = 5 * 1024 * 1024
    methods: Mapping[str, int] = field(default_factory=lambda: DEFAULT_METHOD_LIMITS)

    def __post_init__(self) -> None:
        for name, value in (("json", self.json), ("text", self.text), ("binary", self.binary)):
            if value < 0:
                raise ValueError(f"limit {name} must be >= 0")
        if any(v < 0 for v in self.methods.values()):
            raise ValueError("method limits must be >= 0")

    def for_method(self, nsid: str, encoding: str) -> int:
        """The cap for a body of ``nsid`` whose Lexicon encoding is ``encoding``."""
        if nsid in self.methods:
            return self.methods[nsid]
        encodings = split_encodings(encoding)
        if JSON in encodings:
            return self.json
        if encodings and all(e.startswith("text/") for e in encodings):
            return self.text
        return self.binary

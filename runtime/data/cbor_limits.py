"""Resource limits for decoding (and encoding) DAG-CBOR, with their defaults.

The defaults are the data-model guide's recommendations (``MAX_CBOR_NESTED_LEVELS``,
``MAX_CBOR_CONTAINER_LEN``, ``MAX_CBOR_OBJECT_KEY_LEN``). The encoder applies the same
limits, so we never write a value that our own decoder (or a peer's) would refuse.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "HARD_MAX_DEPTH",
    "INT64_MAX",
    "INT64_MIN",
    "MAX_CONTAINER_LEN",
    "MAX_DEPTH",
    "MAX_KEY_LEN",
    "check_limits",
]

#: Containers (arrays and maps) that may enclose a value; a bare scalar has depth 0,
#: ``[]`` has depth 1. The guide's MAX_CBOR_NESTED_LEVELS.
MAX_DEPTH: Final = 32
#: Elements of one array, or entries of one map (guide MAX_CBOR_CONTAINER_LEN).
MAX_CONTAINER_LEN: Final = 131_072
#: UTF-8 bytes of one map key (guide MAX_CBOR_OBJECT_KEY_LEN).
MAX_KEY_LEN: Final = 8192
#: Ceiling for a caller-chosen ``max_depth``: the pure-Python codec recurses once per
#: level, and this keeps it far below Python's recursion limit.
HARD_MAX_DEPTH: Final = 256

INT64_MAX: Final = 2**63 - 1
INT64_MIN: Final = -(2**63)


def check_limits(max_depth: int, max_container_len: int, max_key_len: int) -> None:
    """Refuse nonsensical limits (a programming error, hence TypeError/ValueError)."""
    for name, value in (
        ("max_depth", max_depth),
        ("max_container_len", max_container_len),
        ("max_key_len", max_key_len),
    ):
        if type(value) is not int:
            raise TypeError(f"{name} must be an int, not {type(value).__name__}")
        if value < 0:
            raise ValueError(f"{name} must be >= 0")
    if max_depth > HARD_MAX_DEPTH:
        raise ValueError(f"max_depth must be <= {HARD_MAX_DEPTH}")
    if max_container_len > 2**32 or max_key_len > 2**32:
        raise ValueError("container and key limits must be <= 2**32")

"""Unsigned LEB128 varints as CAR files use them (multiformats ``unsigned-varint``).

The multiformats rules are stricter than plain LEB128 and we follow them on read: at most
9 bytes (values below 2^63) and minimal encoding (no trailing ``0x80 0x00`` padding), so
one length has exactly one byte form. Readers in :mod:`lexforge.runtime.car.reader` inline
the one- and two-byte cases for speed and fall back to :func:`decode_varint`.
"""

from __future__ import annotations

from lexforge.runtime.car.errors import CarTruncatedError, CarVarintError

__all__ = ["MAX_VARINT_BYTES", "decode_varint", "encode_varint"]

#: 9 bytes carry 63 bits; the multiformats spec caps varints there.
MAX_VARINT_BYTES = 9

_MAX_VALUE = (1 << 63) - 1


def encode_varint(value: int) -> bytes:
    """Encode ``0 <= value < 2**63`` as a minimal unsigned varint."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"varint value must be an int, not {type(value).__name__}")
    if value < 0 or value > _MAX_VALUE:
        raise ValueError(f"varint value out of range 0..2^63-1: {value}")
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_varint(
    data: bytes | bytearray | memoryview, pos: int, *, base: int = 0
) -> tuple[int, int]:
    """Decode the varint starting at ``data[pos]``; return ``(value, end_position)``.

    Raises :class:`CarTruncatedError` when ``data`` ends before the last byte of the
    varint (the caller may refill and retry), and :class:`CarVarintError` for a varint
    longer than 9 bytes or not minimally encoded. ``base`` is added to ``pos`` in error
    offsets, for callers holding a window of a longer stream.
    """
    value = 0
    shift = 0
    end = len(data)
    start = pos
    while True:
        if pos >= end:
            raise CarTruncatedError("stream ends inside a varint", offset=base + start)
        if pos - start >= MAX_VARINT_BYTES:
            raise CarVarintError("varint longer than 9 bytes (value >= 2^63)", offset=base + start)
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            if byte == 0 and pos - start > 1:
                raise CarVarintError("varint is not minimally encoded", offset=base + start)
            return value, pos
        shift += 7

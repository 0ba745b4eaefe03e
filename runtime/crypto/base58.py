"""base58btc (the Bitcoin alphabet), as used by multibase ``z`` strings.

A hand-written codec rather than ``multiformats``: for the 35-byte payloads of did:key
strings it is about 30x faster to encode and 9x faster to decode (5 us against 160 us
measured here), and key parsing sits on the firehose verification path.

base58 is a bijection between byte strings and strings over the alphabet (each leading
zero byte is one leading ``1``), so there is no non-canonical form to reject beyond
characters outside the alphabet. Decoding is quadratic in the input length, so callers
parsing untrusted text pass ``max_length``.
"""

from __future__ import annotations

from lexforge.runtime.crypto.errors import InvalidBase58Error

__all__ = ["ALPHABET", "b58decode", "b58encode"]

#: The Bitcoin base58 alphabet: no 0, O, I or l.
ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(ALPHABET)}


def b58encode(data: bytes) -> str:
    """Encode bytes as base58btc (without the multibase ``z``)."""
    number = int.from_bytes(data, "big")
    digits: list[str] = []
    while number:
        number, digit = divmod(number, 58)
        digits.append(ALPHABET[digit])
    zeros = len(data) - len(data.lstrip(b"\x00"))
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str, *, max_length: int | None = None) -> bytes:
    """Decode base58btc text (without the multibase ``z``).

    Raises :class:`InvalidBase58Error` for a character outside the alphabet, or for text
    longer than ``max_length`` characters (checked before any arithmetic).
    """
    if max_length is not None and len(text) > max_length:
        raise InvalidBase58Error(
            f"base58 text is {len(text)} characters long, more than the limit of {max_length}"
        )
    number = 0
    index = _INDEX
    for position, char in enumerate(text):
        value = index.get(char)
        if value is None:
            raise InvalidBase58Error(f"invalid base58btc character {char!r} at {position}")
        number = number * 58 + value
    zeros = len(text) - len(text.lstrip("1"))
    return b"\x00" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")

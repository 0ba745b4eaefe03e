"""Content identifiers (CIDs) as atproto uses them.

A :class:`CID` wraps the *binary* CID (``01 <codec> <multihash>``) and nothing else:
two CIDs are equal exactly when their binary forms are equal, and the text form is a
pure function of the bytes (multibase base32, lower case, ``b`` prefix, no padding).

Deliberately not a ``bytes`` subclass: a byte string inside a record that happens to
look like a CID must stay a byte string (and encode as CBOR bytes, not as tag 42), so
the two types must never be confused by ``isinstance``.

Reading is lenient about *which* CID (any CIDv1 codec and multihash, since links inside
records may legally point at anything), strict about *form*: minimal varints, exact
digest length, no trailing bytes, at most :data:`MAX_CID_BYTES` bytes. CIDv0 is refused
unless the caller opts in with ``allow_v0=True``. Whether a CID is the kind atproto
writes is answered by :attr:`CID.is_blessed`.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import hashlib
import math
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, final

from lexforge.runtime.data.errors import InvalidCidError

__all__ = [
    "CID",
    "CODEC_DAG_CBOR",
    "CODEC_DAG_PB",
    "CODEC_RAW",
    "HASH_SHA2_256",
    "MAX_CID_BYTES",
]

#: Recommended cap on a binary CID while decoding (data-model guide ``MAX_CID_BYTES``).
MAX_CID_BYTES: Final = 100
#: Multicodec codes atproto uses.
CODEC_DAG_CBOR: Final = 0x71
CODEC_RAW: Final = 0x55
CODEC_DAG_PB: Final = 0x70  # only for CIDv0, which is implicitly dag-pb
HASH_SHA2_256: Final = 0x12

# Text forms are capped before decoding anything: 100 bytes is at most 801 characters
# even in base2, so longer text cannot be a CID we accept.
_MAX_CID_TEXT: Final = 1024


def _text_cap(bits_per_char: float, group: int = 1) -> int:
    """Longest text (multibase prefix included) that a MAX_CID_BYTES-byte CID can take in
    a base carrying ``bits_per_char``, padded to a multiple of ``group`` characters."""
    chars = math.ceil(MAX_CID_BYTES * 8 / bits_per_char)
    return 1 + -(-chars // group) * group


# Per-multibase caps, checked before decoding: the base58, base36 and base10 decoders are
# quadratic in the text length (a 1,024-character base58 string took 50 ms), so the one
# global cap would let a JSON body full of long ``$link`` strings burn seconds of CPU.
# Unlisted prefixes (identity, proquint, base256emoji) decode in linear time.
_TEXT_CAPS: Final = {
    "0": _text_cap(1),
    "7": _text_cap(3, 8),
    "9": _text_cap(math.log2(10)),
    **dict.fromkeys("fF", _text_cap(4)),
    **dict.fromkeys("bBvVh", _text_cap(5)),
    **dict.fromkeys("cCtT", _text_cap(5, 8)),
    **dict.fromkeys("kK", _text_cap(math.log2(36))),
    **dict.fromkeys("zZ", _text_cap(math.log2(58))),
    **dict.fromkeys("mu", _text_cap(6)),
    **dict.fromkeys("MU", _text_cap(6, 4)),
}

_PREFIX_DAG_CBOR: Final = b"\x01\x71\x12\x20"
_PREFIX_RAW: Final = b"\x01\x55\x12\x20"
# (version, codec, hash code, multihash offset, digest offset)
_Parts = tuple[int, int, int, int, int]
_PARTS_DAG_CBOR: Final[_Parts] = (1, CODEC_DAG_CBOR, HASH_SHA2_256, 2, 4)
_PARTS_RAW: Final[_Parts] = (1, CODEC_RAW, HASH_SHA2_256, 2, 4)
_PARTS_V0: Final[_Parts] = (0, CODEC_DAG_PB, HASH_SHA2_256, 0, 2)

_B32_ALPHABET: Final = "abcdefghijklmnopqrstuvwxyz234567"
_B32_VALUE: Final = {c: i for i, c in enumerate(_B32_ALPHABET)}
_B32_TEXT: Final = re.compile("[a-z2-7]*").fullmatch
_B32_PAD: Final = ("", "", "======", "", "====", "===", "", "=")  # by len % 8; "" = bad

_new = object.__new__
_set = object.__setattr__


def _b32_encode_py(data: builtins.bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _b32_decode_py(text: str) -> builtins.bytes:
    """Decode unpadded lower-case base32; refuse anything non-canonical.

    Canonical means: only ``a-z2-7``, a length that some byte count produces, and zero
    bits in the unused low bits of the last character (otherwise two strings would name
    the same bytes).
    """
    n = len(text)
    pad = _B32_PAD[n % 8]
    if not text or (n % 8 and not pad):
        raise InvalidCidError(f"invalid base32 length {n}")
    if not text.isascii() or text != text.lower():
        raise InvalidCidError("base32 CID text must be lower case a-z, 2-7")
    if not _B32_TEXT(text):  # before b32decode, which would take "=" as padding
        raise InvalidCidError("invalid base32 character in CID text")
    try:
        raw = base64.b32decode(text.upper() + pad)
    except binascii.Error:  # pragma: no cover - excluded by the checks above
        raise InvalidCidError("invalid base32 text in CID") from None
    spare = (5 * n) % 8
    if spare and _B32_VALUE[text[-1]] & ((1 << spare) - 1):
        raise InvalidCidError("non-canonical base32 (non-zero trailing bits) in CID text")
    return raw


_b32_encode: Callable[[builtins.bytes], str] = _b32_encode_py
_b32_decode_raw: Callable[[str], builtins.bytes] = _b32_decode_py
_C_BASE: type | None = None
try:  # the C accelerator, when built, also does base32 (several times faster)
    from lexforge.runtime.data import _cbor
except ImportError:  # pragma: no cover - exercised when the extension is not built
    pass
else:
    _b32_encode = _cbor.b32_encode
    _b32_decode_raw = _cbor.b32_decode
    if os.environ.get("LEXFORGE_CBOR_BACKEND") != "python":
        _C_BASE = _cbor.CIDBase

if TYPE_CHECKING:
    _CIDBase = object
else:
    # C-level __hash__/__eq__/__ne__ when the accelerator is active (see the end of the
    # module): CIDs key every block map, and Python-level methods cost ~0.1 us a call.
    _CIDBase = object if _C_BASE is None else _C_BASE


def _b32_decode(text: str) -> builtins.bytes:
    try:
        return _b32_decode_raw(text)
    except InvalidCidError:
        raise
    except ValueError as exc:  # the C version raises plain ValueError
        raise InvalidCidError(str(exc)) from None


def _read_varint(data: builtins.bytes, pos: int, what: str) -> tuple[int, int]:
    """Unsigned LEB128 as multiformats defines it: minimal, at most 9 bytes."""
    value = 0
    for i in range(9):
        if pos >= len(data):
            raise InvalidCidError(f"truncated {what} varint in binary CID")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << (7 * i)
        if byte < 0x80:
            if byte == 0 and i:
                raise InvalidCidError(f"non-minimal {what} varint in binary CID")
            return value, pos
    raise InvalidCidError(f"{what} varint longer than 9 bytes in binary CID")


def _parse_binary(data: builtins.bytes, allow_v0: bool) -> _Parts:
    """Validate a binary CID, returning its parts; raise InvalidCidError if malformed."""
    n = len(data)
    if n == 0:
        raise InvalidCidError("empty binary CID")
    if n > MAX_CID_BYTES:
        raise InvalidCidError(f"binary CID is {n} bytes, more than {MAX_CID_BYTES}")
    if n == 36 and data[0] == 1 and data[2:4] == b"\x12\x20":
        codec = data[1]
        if codec < 0x80:  # blessed-size fast path: 01 <1-byte codec> 12 20 <32 bytes>
            return (1, codec, HASH_SHA2_256, 2, 4)
    head = data[0]
    if head == 0x12 and n == 34 and data[1] == 0x20:
        if not allow_v0:
            raise InvalidCidError(
                "CIDv0 is not allowed (atproto uses CIDv1 only); pass allow_v0=True to read "
                "legacy CIDs"
            )
        return _PARTS_V0
    if head != 1:
        hint = " (a leading 0x00 is the tag-42 prefix, not part of the CID)" if head == 0 else ""
        raise InvalidCidError(f"unsupported CID version byte 0x{head:02x}{hint}")
    codec, pos = _read_varint(data, 1, "codec")
    mh_off = pos
    hash_code, pos = _read_varint(data, pos, "multihash code")
    size, pos = _read_varint(data, pos, "digest length")
    if n - pos != size:
        raise InvalidCidError(f"multihash declares a {size}-byte digest but {n - pos} bytes follow")
    return (1, codec, hash_code, mh_off, pos)


@final
class CID(_CIDBase):
    """An immutable, hashable content identifier (binary form plus cached text form).

    Build one with :meth:`parse`, :meth:`from_bytes`, :meth:`for_cbor` or :meth:`for_raw`.
    """

    __slots__ = ("_bytes", "_parts", "_str")

    _bytes: builtins.bytes
    _parts: _Parts
    _str: str | None

    def __new__(cls, *args: object, **kwargs: object) -> CID:
        raise TypeError("use CID.parse(text), CID.from_bytes(binary), CID.for_cbor or CID.for_raw")

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_bytes(cls, binary: builtins.bytes, *, allow_v0: bool = False) -> CID:
        """Build a CID from its binary form (no multibase prefix, no 0x00 tag-42 prefix)."""
        if type(binary) is not builtins.bytes:
            if not isinstance(binary, builtins.bytes | bytearray | memoryview):
                raise TypeError(f"binary CID must be bytes, not {type(binary).__name__}")
            binary = builtins.bytes(binary)
        if _c_from_bytes is not None and not allow_v0:
            # the same checks and messages (tests/data/test_cbor_sha256.py), ~4x faster
            return _c_from_bytes(binary)
        return _from_bytes_py(binary, allow_v0)

    @classmethod
    def parse(cls, text: str, *, allow_v0: bool = False) -> CID:
        """Parse a CID's text form.

        Base32 (``b...``, what atproto writes) takes a fast path and must be canonical;
        other multibases (``z``, ``f``, ``m``, ...) are decoded with ``multiformats``. A
        CIDv0 (``Qm...``) is refused unless ``allow_v0=True``.
        """
        if not isinstance(text, str):
            raise TypeError(f"CID text must be str, not {type(text).__name__}")
        if not text:
            raise InvalidCidError("empty CID text")
        first = text[0]
        if len(text) > _TEXT_CAPS.get(first, _MAX_CID_TEXT):
            raise InvalidCidError(f"CID text is {len(text)} characters, too long")
        if first == "b":
            if _c_parse_b32 is not None:
                return _c_parse_b32(text)  # the same checks, errors and CID, ~2x faster
            binary = _b32_decode(text[1:])
            if _c_from_bytes is not None:
                cid = _c_from_bytes(binary)
                _set(cid, "_str", text)
                return cid
            return _make(binary, _parse_binary(binary, allow_v0=False), text)
        if first == "Q" and len(text) == 46 and text.startswith("Qm"):
            if not allow_v0:
                raise InvalidCidError(
                    "CIDv0 (Qm...) is not allowed (atproto uses CIDv1 only); pass "
                    "allow_v0=True to read legacy CIDs"
                )
            binary = _multibase_decode("z" + text)
            parts = _parse_binary(binary, allow_v0=True)
            if parts[0] != 0:
                raise InvalidCidError("a Qm... CID must decode to a CIDv0")
            return _make(binary, parts, text)
        binary = _multibase_decode(text)
        parts = _parse_binary(binary, allow_v0=False)
        return _make(binary, parts, None)

    @classmethod
    def for_cbor(cls, block: builtins.bytes) -> CID:
        """The CIDv1 (dag-cbor, sha2-256) of an encoded DAG-CBOR block."""
        if _c_for_cbor is not None and type(block) is builtins.bytes:
            return _c_for_cbor(block)
        return _for_cbor_py(block)

    @classmethod
    def for_raw(cls, data: builtins.bytes) -> CID:
        """The CIDv1 (raw, sha2-256) of a blob's bytes."""
        if _c_for_raw is not None and type(data) is builtins.bytes:
            return _c_for_raw(data)
        return _for_raw_py(data)

    # -- accessors ----------------------------------------------------------------------

    @property
    def bytes(self) -> builtins.bytes:
        """The binary CID (what tag 42 carries after its 0x00 byte, and CAR files store)."""
        return self._bytes

    @property
    def version(self) -> int:
        """1, or 0 for a CIDv0 read with ``allow_v0=True``."""
        return self._parts[0]

    @property
    def codec(self) -> int:
        """Multicodec of the content: 0x71 dag-cbor, 0x55 raw, ..."""
        return self._parts[1]

    @property
    def hash_code(self) -> int:
        """Multihash function code: 0x12 for sha2-256."""
        return self._parts[2]

    @property
    def multihash(self) -> builtins.bytes:
        """Hash code, digest length and digest (``12 20 <32 bytes>`` for sha2-256)."""
        return self._bytes[self._parts[3] :]

    @property
    def digest(self) -> builtins.bytes:
        """The raw hash digest (32 bytes for sha2-256)."""
        return self._bytes[self._parts[4] :]

    @property
    def is_blessed(self) -> bool:
        """True for the only CIDs atproto writes: v1, sha2-256, 32 bytes, dag-cbor or raw."""
        b = self._bytes
        return len(b) == 36 and (b[:4] == _PREFIX_DAG_CBOR or b[:4] == _PREFIX_RAW)

    # -- protocols ----------------------------------------------------------------------

    def __str__(self) -> str:
        text = self._str
        if text is None:
            if self._parts[0] == 0:
                text = _multibase_encode_v0(self._bytes)
            else:
                text = "b" + _b32_encode(self._bytes)
            _set(self, "_str", text)
        return text

    def __repr__(self) -> str:
        return f"CID({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is CID:
            return self._bytes == other._bytes
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if other.__class__ is CID:
            return self._bytes != other._bytes
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._bytes)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("CID is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("CID is immutable")

    def __reduce__(self) -> tuple[Any, tuple[builtins.bytes]]:
        return (_unpickle, (self._bytes,))

    def __copy__(self) -> CID:
        return self

    def __deepcopy__(self, memo: object) -> CID:
        return self


# The pure-Python equality and hash (what the C base class implements too; when it is
# active they are removed from the class so the C slots serve every dict and ==).
_cid_eq_py = CID.__eq__
_cid_ne_py = CID.__ne__
_cid_hash_py = CID.__hash__
if _C_BASE is not None:
    del CID.__eq__, CID.__ne__, CID.__hash__


def _from_bytes_py(binary: builtins.bytes, allow_v0: bool) -> CID:
    """:meth:`CID.from_bytes` in Python (the reference the C constructor is tested against)."""
    return _make(binary, _parse_binary(binary, allow_v0), None)


def _for_cbor_py(block: builtins.bytes) -> CID:
    """:meth:`CID.for_cbor` in Python (the reference for the C constructor)."""
    return _make(_PREFIX_DAG_CBOR + hashlib.sha256(block).digest(), _PARTS_DAG_CBOR, None)


def _for_raw_py(data: builtins.bytes) -> CID:
    """:meth:`CID.for_raw` in Python (the reference for the C constructor)."""
    return _make(_PREFIX_RAW + hashlib.sha256(data).digest(), _PARTS_RAW, None)


# The C accelerator's constructors (same checks, errors and results; differential tests
# in tests/data/test_cbor_sha256.py), when it is active: they hash and build the CID in
# one call, several times faster, and every block of a repo or firehose slice goes
# through them.
_c_from_bytes: Callable[[builtins.bytes], CID] | None = None
_c_for_cbor: Callable[[builtins.bytes], CID] | None = None
_c_for_raw: Callable[[builtins.bytes], CID] | None = None
#: ``CID.parse`` of base32 text in one C call (tests/data/test_cid_parse_c.py); None
#: also for an extension built before it had the function.
_c_parse_b32: Callable[[str], CID] | None = None
if _C_BASE is not None:
    _c_from_bytes = _cbor.cid_from_bytes
    _c_for_cbor = _cbor.cid_for_cbor
    _c_for_raw = _cbor.cid_for_raw
    _c_parse_b32 = getattr(_cbor, "cid_parse_b32", None)


def _make(binary: builtins.bytes, parts: _Parts, text: str | None) -> CID:
    """Build a CID from already-validated parts (no checks: internal use only)."""
    cid: CID = _new(CID)
    _set(cid, "_bytes", binary)
    _set(cid, "_parts", parts)
    _set(cid, "_str", text)
    return cid


def _unpickle(binary: builtins.bytes) -> CID:
    return CID.from_bytes(binary, allow_v0=True)


def _multibase_decode(text: str) -> builtins.bytes:
    # imported lazily: 40 ms to import, and only needed for non-base32 text
    from multiformats import multibase  # noqa: PLC0415

    try:
        return builtins.bytes(multibase.decode(text))
    except (ValueError, KeyError) as exc:
        raise InvalidCidError(f"invalid CID text {text[:60]!r}: {exc}") from None


def _multibase_encode_v0(binary: builtins.bytes) -> str:
    from multiformats import multibase  # noqa: PLC0415

    return str(multibase.encode(binary, "base58btc"))[1:]  # a CIDv0 has no multibase prefix

"""Strict DAG-CBOR (DRISL) codec in pure Python: the reference implementation.

``lexforge.runtime.data.cbor`` uses the C accelerator (``_cbor``, built from
``_cbor_*.c``) when it is built and falls back to this module otherwise; both implement
exactly the same rules, and the test suite checks them against each other.

Decoding accepts only the canonical encoding of a data-model value, so for any input
``b`` that decodes, ``encode(decode(b)) == b``. Refused (``DecodeError`` naming the
problem and the byte offset): non-minimal heads, indefinite lengths, floats of every
width, simple values other than false/true/null, tags other than 42, tag-42 payloads
that are not ``0x00`` + a valid CID, map keys that are not text, out of order or
duplicated, invalid UTF-8 (including encoded surrogates), integers outside int64,
trailing bytes, and anything beyond the resource limits (see ``cbor_limits``).
Every declared length is checked against the remaining input before anything is
allocated, and nesting is checked before recursing.
"""

from __future__ import annotations

import struct
from typing import Any

from lexforge.runtime.data.cbor_limits import (
    INT64_MAX,
    INT64_MIN,
    MAX_CONTAINER_LEN,
    MAX_DEPTH,
    MAX_KEY_LEN,
    check_limits,
)
from lexforge.runtime.data.cid import CID, MAX_CID_BYTES, _make, _parse_binary
from lexforge.runtime.data.errors import DecodeError, EncodeError, InvalidCidError

__all__ = ["decode", "decode_prefix", "encode"]

_U16 = struct.Struct(">H").unpack_from
_U32 = struct.Struct(">I").unpack_from
_U64 = struct.Struct(">Q").unpack_from
_P_BB = struct.Struct(">BB").pack
_P_BH = struct.Struct(">BH").pack
_P_BI = struct.Struct(">BI").pack
_P_BQ = struct.Struct(">BQ").pack
_ONE_BYTE = tuple(bytes((i,)) for i in range(256))

_MAJOR_NAMES = (
    "unsigned int",
    "negative int",
    "byte string",
    "text string",
    "array",
    "map",
    "tag",
)
_SIMPLE_NAMES = {23: "undefined", 25: "half-precision float", 26: "float", 27: "double float"}


# ---------------------------------------------------------------------------------------
# decoding


def decode(
    data: bytes | bytearray | memoryview,
    *,
    max_depth: int = MAX_DEPTH,
    max_container_len: int = MAX_CONTAINER_LEN,
    max_key_len: int = MAX_KEY_LEN,
    require_blessed_cids: bool = False,
) -> Any:
    """Decode exactly one canonical DAG-CBOR item that spans all of ``data``."""
    buf = data if type(data) is bytes else _as_bytes(data)
    value, end = _decode(
        buf,
        0,
        max_depth=max_depth,
        max_container_len=max_container_len,
        max_key_len=max_key_len,
        require_blessed_cids=require_blessed_cids,
    )
    if end != len(buf):
        raise DecodeError(f"{len(buf) - end} trailing bytes after the CBOR item", end)
    return value


def decode_prefix(
    data: bytes | bytearray | memoryview,
    offset: int = 0,
    *,
    max_depth: int = MAX_DEPTH,
    max_container_len: int = MAX_CONTAINER_LEN,
    max_key_len: int = MAX_KEY_LEN,
    require_blessed_cids: bool = False,
) -> tuple[Any, int]:
    """Decode one canonical item starting at ``offset``; return it and its end offset.

    Bytes after the item are left alone (firehose frames are two items back to back).
    """
    buf = data if type(data) is bytes else _as_bytes(data)
    if type(offset) is not int:
        raise TypeError(f"offset must be an int, not {type(offset).__name__}")
    if not 0 <= offset <= len(buf):
        raise ValueError(f"offset {offset} is outside the input (length {len(buf)})")
    return _decode(
        buf,
        offset,
        max_depth=max_depth,
        max_container_len=max_container_len,
        max_key_len=max_key_len,
        require_blessed_cids=require_blessed_cids,
    )


def _as_bytes(data: object) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    raise TypeError(f"can only decode bytes-like input, not {type(data).__name__}")


def _decode(
    data: bytes,
    offset: int,
    *,
    max_depth: int,
    max_container_len: int,
    max_key_len: int,
    require_blessed_cids: bool,
) -> tuple[Any, int]:
    check_limits(max_depth, max_container_len, max_key_len)
    n = len(data)
    if offset >= n:
        raise DecodeError("empty input: expected a CBOR item", offset)

    def head(pos: int) -> tuple[int, int, int]:
        """Read a non-major-7 head at ``pos``: (major, argument, offset after head)."""
        ib = data[pos]
        ai = ib & 0x1F
        if ai < 24:
            return ib >> 5, ai, pos + 1
        if ai == 24:
            if pos + 2 > n:
                raise DecodeError("truncated CBOR head", pos)
            arg = data[pos + 1]
            if arg < 24:
                raise DecodeError(f"non-minimal {_MAJOR_NAMES[ib >> 5]} head (1-byte form)", pos)
            return ib >> 5, arg, pos + 2
        if ai == 25:
            if pos + 3 > n:
                raise DecodeError("truncated CBOR head", pos)
            arg = _U16(data, pos + 1)[0]
            if arg < 0x100:
                raise DecodeError(f"non-minimal {_MAJOR_NAMES[ib >> 5]} head (2-byte form)", pos)
            return ib >> 5, arg, pos + 3
        if ai == 26:
            if pos + 5 > n:
                raise DecodeError("truncated CBOR head", pos)
            arg = _U32(data, pos + 1)[0]
            if arg < 0x10000:
                raise DecodeError(f"non-minimal {_MAJOR_NAMES[ib >> 5]} head (4-byte form)", pos)
            return ib >> 5, arg, pos + 5
        if ai == 27:
            if pos + 9 > n:
                raise DecodeError("truncated CBOR head", pos)
            arg = _U64(data, pos + 1)[0]
            if arg < 0x100000000:
                raise DecodeError(f"non-minimal {_MAJOR_NAMES[ib >> 5]} head (8-byte form)", pos)
            return ib >> 5, arg, pos + 9
        if ai == 31:
            raise DecodeError(f"indefinite-length {_MAJOR_NAMES[ib >> 5]} is not allowed", pos)
        raise DecodeError(f"reserved additional information {ai} in CBOR head", pos)

    def item(pos: int, depth: int) -> tuple[Any, int]:
        if pos >= n:
            raise DecodeError("unexpected end of input", pos)
        ib = data[pos]
        major = ib >> 5
        if major == 7:
            if ib == 0xF4:
                return False, pos + 1
            if ib == 0xF5:
                return True, pos + 1
            if ib == 0xF6:
                return None, pos + 1
            ai = ib & 0x1F
            if ai == 31:
                raise DecodeError("unexpected CBOR break code (0xff)", pos)
            what = _SIMPLE_NAMES.get(ai, "simple value")
            raise DecodeError(f"{what} is not allowed in the data model", pos)
        if major == 6:
            return tag(pos)
        major, arg, p = head(pos)
        if major == 0:
            if arg > INT64_MAX:
                raise DecodeError("integer above the int64 range", pos)
            return arg, p
        if major == 1:
            if arg > INT64_MAX:
                raise DecodeError("integer below the int64 range", pos)
            return -1 - arg, p
        if major == 2:
            end = p + arg
            if end > n:
                raise DecodeError(f"byte string of {arg} bytes runs past the end of input", pos)
            return data[p:end], end
        if major == 3:
            end = p + arg
            if end > n:
                raise DecodeError(f"text string of {arg} bytes runs past the end of input", pos)
            try:
                return data[p:end].decode("utf-8"), end
            except UnicodeDecodeError as exc:
                raise DecodeError("invalid UTF-8 in text string", p + exc.start) from None
        if depth >= max_depth:
            raise DecodeError(f"nesting deeper than {max_depth} levels", pos)
        if arg > max_container_len:
            raise DecodeError(
                f"container of {arg} entries exceeds the {max_container_len} limit", pos
            )
        if major == 4:
            if arg > n - p:  # every element takes at least one byte
                raise DecodeError(f"array of {arg} elements runs past the end of input", pos)
            out: list[Any] = []
            append = out.append
            for _ in range(arg):
                value, p = item(p, depth + 1)
                append(value)
            return out, p
        # major == 5
        if arg > (n - p) // 2:  # every entry takes at least two bytes
            raise DecodeError(f"map of {arg} entries runs past the end of input", pos)
        result: dict[str, Any] = {}
        prev = b""
        for i in range(arg):
            if p >= n:
                raise DecodeError("unexpected end of input", p)
            if data[p] >> 5 != 3:
                raise DecodeError("map key is not a text string", p)
            _, klen, kp = head(p)
            if klen > max_key_len:
                raise DecodeError(f"map key of {klen} bytes exceeds the {max_key_len} limit", p)
            kend = kp + klen
            if kend > n:
                raise DecodeError(f"text string of {klen} bytes runs past the end of input", p)
            kraw = data[kp:kend]
            if i and (klen < len(prev) or (klen == len(prev) and kraw <= prev)):
                if kraw == prev:
                    raise DecodeError("duplicate map key", p)
                raise DecodeError("map keys are not in canonical order", p)
            try:
                key = kraw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DecodeError("invalid UTF-8 in map key", kp + exc.start) from None
            prev = kraw
            result[key], p = item(kend, depth + 1)
        return result, p

    def tag(pos: int) -> tuple[CID, int]:
        _, number, p = head(pos)
        if number != 42:
            raise DecodeError(f"CBOR tag {number} is not allowed (only tag 42, CID)", pos)
        if p >= n:
            raise DecodeError("unexpected end of input after tag 42", p)
        if data[p] >> 5 != 2:
            raise DecodeError("tag 42 must wrap a byte string", p)
        _, size, bp = head(p)
        if size == 0 or size > MAX_CID_BYTES + 1:
            raise DecodeError(f"tag-42 payload of {size} bytes cannot hold a valid CID", p)
        end = bp + size
        if end > n:
            raise DecodeError(f"byte string of {size} bytes runs past the end of input", p)
        if data[bp] != 0:
            raise DecodeError("tag-42 payload must start with the 0x00 multibase prefix", bp)
        binary = data[bp + 1 : end]
        try:
            parts = _parse_binary(binary, allow_v0=False)
        except InvalidCidError as exc:
            raise DecodeError(f"invalid CID in tag 42: {exc}", bp + 1) from None
        cid = _make(binary, parts, None)
        if require_blessed_cids and not cid.is_blessed:
            raise DecodeError(
                "CID in tag 42 is not v1/sha2-256/dag-cbor-or-raw (require_blessed_cids)", bp + 1
            )
        return cid, end

    return item(offset, 0)


# ---------------------------------------------------------------------------------------
# encoding


def _head(major: int, arg: int) -> bytes:
    m = major << 5
    if arg < 24:
        return _ONE_BYTE[m | arg]
    if arg < 0x100:
        return _P_BB(m | 24, arg)
    if arg < 0x10000:
        return _P_BH(m | 25, arg)
    if arg < 0x100000000:
        return _P_BI(m | 26, arg)
    return _P_BQ(m | 27, arg)


def _key_order(item: tuple[bytes, object]) -> tuple[int, bytes]:
    return len(item[0]), item[0]


def encode(
    value: object,
    *,
    max_depth: int = MAX_DEPTH,
    max_container_len: int = MAX_CONTAINER_LEN,
    max_key_len: int = MAX_KEY_LEN,
) -> bytes:
    """Encode a data-model value canonically (the bytes that get hashed and signed).

    Accepted: None, bool, int (int64), str, bytes/bytearray, list/tuple, dict with str
    keys, CID. Refused with ``EncodeError`` naming the type and where it sits: floats
    (even integral ones), other types, non-str keys, strings with lone surrogates,
    integers outside int64, and values beyond the limits the decoder enforces.
    """
    check_limits(max_depth, max_container_len, max_key_len)
    out = bytearray()

    def enc(v: object, depth: int) -> None:
        t = type(v)
        if t is str:
            try:
                b = v.encode("utf-8")  # type: ignore[attr-defined]
            except UnicodeEncodeError:
                raise EncodeError("string is not valid Unicode (lone surrogate)") from None
            out.extend(_head(3, len(b)))
            out.extend(b)
        elif t is int:
            enc_int(v)  # type: ignore[arg-type]
        elif t is dict:
            enc_map(v, depth)  # type: ignore[arg-type]
        elif t is list or t is tuple:
            enc_array(v, depth)  # type: ignore[arg-type]
        elif v is None:
            out.append(0xF6)
        elif v is True:
            out.append(0xF5)
        elif v is False:
            out.append(0xF4)
        elif t is CID:
            b = v._bytes  # type: ignore[attr-defined]
            if b[0] != 1:  # the decoder refuses CIDv0 links, so never write one
                raise EncodeError("CIDv0 links cannot be written (atproto uses CIDv1)")
            out.extend(b"\xd8\x2a")
            out.extend(_head(2, len(b) + 1))
            out.append(0)
            out.extend(b)
        elif t is bytes or t is bytearray:
            out.extend(_head(2, len(v)))  # type: ignore[arg-type]
            out.extend(v)  # type: ignore[arg-type]
        # subclasses (e.g. syntax types, which are str subclasses), checked after the
        # exact types so the common cases stay fast. Their contents are read through
        # the base type (str.encode, int.__int__, dict.items, ...), never through
        # methods a subclass could override, exactly like the C accelerator.
        elif isinstance(v, str):
            enc(str.__str__(v), depth)
        elif isinstance(v, int):  # bool is final, so v is never a bool here
            enc_int(int.__int__(v))
        elif isinstance(v, bytes):
            enc(bytes(memoryview(v)), depth)
        elif isinstance(v, dict):
            enc_map(v, depth)
        elif isinstance(v, list):
            enc_array(list(list.__iter__(v)), depth)
        elif isinstance(v, tuple):
            enc_array(list(tuple.__iter__(v)), depth)
        elif isinstance(v, float):
            raise EncodeError(
                f"float {v!r} is not allowed in the data model (use int for integral values)"
            )
        else:
            raise EncodeError(f"cannot encode a value of type {t.__module__}.{t.__qualname__}")

    def enc_int(v: int) -> None:
        if v >= 0:
            if v > INT64_MAX:
                raise EncodeError(f"integer {v} is above the int64 range")
            out.extend(_head(0, v))
        else:
            if v < INT64_MIN:
                raise EncodeError(f"integer {v} is below the int64 range")
            out.extend(_head(1, -1 - v))

    def enc_array(v: list[object] | tuple[object, ...], depth: int) -> None:
        if depth >= max_depth:
            raise EncodeError(f"nesting deeper than {max_depth} levels (or a cycle)")
        if len(v) > max_container_len:
            raise EncodeError(f"array of {len(v)} elements exceeds the {max_container_len} limit")
        out.extend(_head(4, len(v)))
        for i, x in enumerate(v):
            try:
                enc(x, depth + 1)
            except EncodeError as exc:
                raise EncodeError(exc.reason, (i, *exc.path)) from None

    def enc_map(v: dict[Any, object], depth: int) -> None:
        if depth >= max_depth:
            raise EncodeError(f"nesting deeper than {max_depth} levels (or a cycle)")
        size = dict.__len__(v)
        if size > max_container_len:
            raise EncodeError(f"map of {size} entries exceeds the {max_container_len} limit")
        entries = []
        for k, x in dict.items(v):
            if not isinstance(k, str):
                raise EncodeError(f"map key {k!r} is a {type(k).__qualname__}, not a str")
            try:
                kb = k.encode("utf-8")
            except UnicodeEncodeError:
                raise EncodeError("map key is not valid Unicode (lone surrogate)") from None
            if len(kb) > max_key_len:
                raise EncodeError(f"map key of {len(kb)} bytes exceeds the {max_key_len} limit")
            entries.append((kb, x))
        entries.sort(key=_key_order)
        out.extend(_head(5, len(entries)))
        prev = None
        for kb, x in entries:
            if kb == prev:  # only possible with str subclasses overriding __eq__/__hash__
                raise EncodeError(f"duplicate map key {kb.decode()!r}")
            prev = kb
            out.extend(_head(3, len(kb)))
            out.extend(kb)
            try:
                enc(x, depth + 1)
            except EncodeError as exc:
                raise EncodeError(exc.reason, (kb.decode(), *exc.path)) from None

    enc(value, 0)
    return bytes(out)

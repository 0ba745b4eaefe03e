"""Streaming, verifying CAR v1 reader.

A CAR v1 file is ``varint(len(H)) H`` followed by sections ``varint(len(C)+len(D)) C D``
where ``H`` is the DAG-CBOR header ``{"roots": [CID...], "version": 1}``, ``C`` a binary
CID and ``D`` the block bytes. Untrusted CARs arrive from ``importRepo``, ``getRepo``
responses and every firehose ``#commit``; this reader is built to survive hostile ones:

- every block's bytes are hashed and compared with its CID before it is yielded (libipld's
  ``decode_car`` does not do this, which lets forged records sit under a valid commit);
- block CIDs and header roots must be CIDv1, dag-cbor (0x71) or raw (0x55) codec, SHA-256
  multihash with a 32-byte digest: the only CIDs atproto writes (and the only ones
  :class:`~lexforge.runtime.car.writer.CarWriter` accepts). CIDv0 and other hashes are
  refused;
- each declared length is checked against a cap *before* the buffer is allocated, and the
  number of blocks is capped (many tiny blocks exhaust memory under any byte cap);
- input is read incrementally in chunks of at most :data:`READ_CHUNK_SIZE` bytes plus one
  section, never the whole stream at once.

Default caps: the header may be at most 64 KiB (go-car allows 32 MiB, a generic IPLD
bound; an atproto header holds 0 or 1 root and is about 60 bytes, and 64 KiB still fits
over 1,500 roots), a section at most 8 MiB (go-car's value; atproto blocks are at most
about 1 MB) and 2,000,000 blocks. Firehose consumers should pass ``max_blocks=10_000``.

The reader has no clock: a stream that stalls blocks it. Network callers put their own
deadline around the read (or read the body under a timeout first).
"""

from __future__ import annotations

from collections.abc import Iterator
from hashlib import sha256
from typing import NoReturn, Protocol

from lexforge.runtime.car.errors import (
    CarBlockMismatchError,
    CarCidError,
    CarError,
    CarHeaderError,
    CarLimitError,
    CarRootsError,
    CarTruncatedError,
    CarVarintError,
)
from lexforge.runtime.car.varint import decode_varint
from lexforge.runtime.data import CID, decode
from lexforge.runtime.data.errors import DataModelError

__all__ = [
    "DEFAULT_MAX_BLOCKS",
    "DEFAULT_MAX_HEADER_SIZE",
    "DEFAULT_MAX_SECTION_SIZE",
    "READ_CHUNK_SIZE",
    "BinaryReadable",
    "CarReader",
    "read_car",
]

DEFAULT_MAX_HEADER_SIZE = 64 * 1024
DEFAULT_MAX_SECTION_SIZE = 8 * 1024 * 1024
DEFAULT_MAX_BLOCKS = 2_000_000
#: How much the reader asks a stream for at a time (besides the rest of one section).
READ_CHUNK_SIZE = 64 * 1024

_CID_LEN = 36
_PREFIX_DAG_CBOR = b"\x01\x71\x12\x20"
_PREFIX_RAW = b"\x01\x55\x12\x20"
_ACCEPTED_CODECS = {0x71: "dag-cbor", 0x55: "raw"}


class BinaryReadable(Protocol):
    """Anything with a ``read(size)`` returning bytes: files, sockets' makefile, BytesIO."""

    def read(self, size: int = ..., /) -> bytes | bytearray | None: ...


class _EmptyStream:
    """Stands in for the stream when the whole CAR was given as bytes."""

    def read(self, size: int = -1, /) -> bytes:
        return b""


class CarReader:
    """Read a CAR v1 file incrementally, verifying every block against its CID.

    ``source`` is a binary file-like object (read in bounded chunks, never all at once)
    or a bytes-like object. The header is read and checked by the constructor, so
    :attr:`roots` is available at once and a bad header fails early. Iterating yields
    ``(cid, block_bytes)`` pairs in file order; a reader can be iterated only once.

    All problems raise subclasses of :class:`~lexforge.runtime.car.errors.CarError`.
    """

    def __init__(
        self,
        source: BinaryReadable | bytes | bytearray | memoryview,
        *,
        max_header_size: int = DEFAULT_MAX_HEADER_SIZE,
        max_section_size: int = DEFAULT_MAX_SECTION_SIZE,
        max_blocks: int = DEFAULT_MAX_BLOCKS,
        require_single_root: bool = False,
    ) -> None:
        for name, cap in (
            ("max_header_size", max_header_size),
            ("max_section_size", max_section_size),
            ("max_blocks", max_blocks),
        ):
            if isinstance(cap, bool) or not isinstance(cap, int) or cap < 0:
                raise ValueError(f"{name} must be a non-negative int, not {cap!r}")
        self._max_section_size = max_section_size
        self._max_blocks = max_blocks
        self._stream: BinaryReadable
        if isinstance(source, bytes | bytearray | memoryview):
            self._buf = bytes(source)
            self._stream = _EmptyStream()
        else:
            self._buf = b""
            self._stream = source
        self._pos = 0
        # Absolute stream offset of self._buf[0], for error messages.
        self._base = 0
        self._iterated = False
        self._roots = self._read_header(max_header_size)
        if require_single_root and len(self._roots) != 1:
            raise CarRootsError(f"expected exactly one root, found {len(self._roots)}", offset=0)

    @property
    def roots(self) -> list[CID]:
        """The header's root CIDs (a fresh list each time)."""
        return list(self._roots)

    # -- low-level buffer handling -------------------------------------------------

    def _read_stream(self, size: int) -> bytes:
        chunk = self._stream.read(size)
        if chunk is None:
            raise CarError("stream returned None (non-blocking streams are not supported)")
        if len(chunk) > size:
            raise CarError(f"stream returned {len(chunk)} bytes when asked for at most {size}")
        return bytes(chunk) if not isinstance(chunk, bytes) else chunk

    def _refill(self) -> bool:
        """Drop consumed bytes and append one chunk; return False at end of stream."""
        chunk = self._read_stream(READ_CHUNK_SIZE)
        if not chunk:
            return False
        self._base += self._pos
        self._buf = self._buf[self._pos :] + chunk
        self._pos = 0
        return True

    def _read_varint(self) -> int | None:
        """Read one varint; ``None`` at a clean end of stream (no byte at all)."""
        while True:
            try:
                value, self._pos = decode_varint(self._buf, self._pos, base=self._base)
            except CarTruncatedError:
                start = self._base + self._pos
                if self._refill():
                    continue
                if self._pos == len(self._buf):
                    return None
                raise CarTruncatedError("stream ends inside a varint", offset=start) from None
            return value

    def _take(self, size: int, what: str, start: int) -> bytes:
        """Consume exactly ``size`` bytes (already checked against a cap)."""
        end = self._pos + size
        if end <= len(self._buf):
            out = self._buf[self._pos : end]
            self._pos = end
            return out
        have = self._buf[self._pos :]
        self._base += len(self._buf)
        self._buf = b""
        self._pos = 0
        parts = [have]
        missing = size - len(have)
        while missing > 0:
            chunk = self._read_stream(missing)
            if not chunk:
                raise CarTruncatedError(
                    f"stream ends inside the {what}: declared {size} bytes, "
                    f"only {size - missing} present",
                    offset=start,
                )
            parts.append(chunk)
            missing -= len(chunk)
            self._base += len(chunk)
        return b"".join(parts)

    # -- header --------------------------------------------------------------------

    def _read_header(self, max_header_size: int) -> list[CID]:
        length = self._read_varint()
        if length is None:
            raise CarTruncatedError("empty input: no CAR header", offset=0)
        if length > max_header_size:
            raise CarLimitError(
                f"header length {length} exceeds the cap of {max_header_size} bytes", offset=0
            )
        if length == 0:
            raise CarHeaderError("header length is zero", offset=0)
        start = self._base + self._pos
        raw = self._take(length, "header", start)
        try:
            header = decode(raw)
        except DataModelError as exc:
            raise CarHeaderError(f"header is not valid DAG-CBOR: {exc}", offset=start) from exc
        if not isinstance(header, dict):
            raise CarHeaderError(f"header must be a map, not {type(header).__name__}", offset=start)
        if set(header) != {"roots", "version"}:
            raise CarHeaderError(
                f"header must have exactly the keys 'roots' and 'version', got {sorted(header)}",
                offset=start,
            )
        version = header["version"]
        if isinstance(version, bool) or version != 1:
            raise CarHeaderError(f"unsupported CAR version {version!r} (only 1)", offset=start)
        roots = header["roots"]
        if not isinstance(roots, list) or not all(isinstance(r, CID) for r in roots):
            raise CarHeaderError("header 'roots' must be a list of CIDs", offset=start)
        for root in roots:
            if not root.is_blessed:
                raise CarHeaderError(
                    f"header root {root} is not a CIDv1 sha2-256 dag-cbor/raw CID",
                    offset=start,
                )
        return list(roots)

    # -- blocks --------------------------------------------------------------------

    def __iter__(self) -> Iterator[tuple[CID, bytes]]:
        if self._iterated:
            raise RuntimeError("a CarReader can be iterated only once")
        self._iterated = True
        return self._blocks()

    def _blocks(self) -> Iterator[tuple[CID, bytes]]:
        max_section = self._max_section_size
        max_blocks = self._max_blocks
        from_bytes = CID.from_bytes
        count = 0
        while True:
            buf = self._buf
            pos = self._pos
            # Absolute offset of this section's varint (refills keep base + pos fixed).
            offset = self._base + pos
            # Inline fast path for one- and two-byte minimal varints inside the buffer.
            if pos < len(buf) and buf[pos] < 0x80:
                length = buf[pos]
                pos += 1
            elif pos + 1 < len(buf) and 0 < buf[pos + 1] < 0x80:
                length = (buf[pos] & 0x7F) | (buf[pos + 1] << 7)
                pos += 2
            else:
                got = self._read_varint()
                if got is None:
                    return
                length = got
                buf = self._buf
                pos = self._pos
            count += 1
            if count > max_blocks:
                raise CarLimitError(f"more than {max_blocks} blocks in the CAR", offset=offset)
            if length > max_section:
                raise CarLimitError(
                    f"section length {length} exceeds the cap of {max_section} bytes",
                    offset=offset,
                )
            end = pos + length
            if end <= len(buf):
                self._pos = end
            else:
                self._pos = pos
                buf = self._take(length, "block section", offset)
                pos = 0
                end = length
            if length >= _CID_LEN and (
                buf.startswith(_PREFIX_DAG_CBOR, pos) or buf.startswith(_PREFIX_RAW, pos)
            ):
                cid_end = pos + _CID_LEN
                data = buf[cid_end:end]
                if not buf.startswith(sha256(data).digest(), pos + 4):
                    cid = from_bytes(buf[pos:cid_end])
                    raise CarBlockMismatchError(
                        f"block bytes do not match CID {cid}", offset=offset
                    )
                yield from_bytes(buf[pos:cid_end]), data
            else:
                _reject_cid(buf[pos:end], offset)


def _reject_cid(section: bytes, offset: int) -> NoReturn:
    """Explain why a section does not start with an accepted 36-byte CID; always raises."""
    if not section:
        raise CarCidError("empty block section (no CID)", offset=offset)
    if len(section) >= 2 and section[0] == 0x12 and section[1] == 0x20:
        raise CarCidError("CIDv0 block CIDs are not supported", offset=offset)
    try:
        version, pos = decode_varint(section, 0)
        if version != 1:
            raise CarCidError(f"unsupported CID version {version}", offset=offset)
        codec, pos = decode_varint(section, pos)
        if codec not in _ACCEPTED_CODECS:
            raise CarCidError(
                f"unsupported block codec 0x{codec:x} (only dag-cbor 0x71 and raw 0x55)",
                offset=offset,
            )
        hash_code, pos = decode_varint(section, pos)
        if hash_code != 0x12:
            raise CarCidError(
                f"unsupported multihash 0x{hash_code:x} (only sha2-256 0x12)", offset=offset
            )
        digest_len, pos = decode_varint(section, pos)
    except (CarTruncatedError, CarVarintError) as exc:
        raise CarCidError(f"malformed block CID: {exc.message}", offset=offset) from exc
    if digest_len != 32:
        raise CarCidError(f"sha2-256 digest length {digest_len}, expected 32", offset=offset)
    raise CarCidError("block section is shorter than its CID", offset=offset)


def read_car(
    data: BinaryReadable | bytes | bytearray | memoryview,
    *,
    require_single_root: bool = False,
    max_header_size: int = DEFAULT_MAX_HEADER_SIZE,
    max_section_size: int = DEFAULT_MAX_SECTION_SIZE,
    max_blocks: int = DEFAULT_MAX_BLOCKS,
) -> tuple[list[CID], dict[CID, bytes]]:
    """Read a whole CAR: ``(roots, {cid: block_bytes})``, every block verified.

    Duplicate blocks are tolerated: a CID determines its bytes (they are verified), so
    repeats are identical and collapse into one entry. They still count toward
    ``max_blocks``.
    """
    reader = CarReader(
        data,
        max_header_size=max_header_size,
        max_section_size=max_section_size,
        max_blocks=max_blocks,
        require_single_root=require_single_root,
    )
    return reader.roots, dict(reader)

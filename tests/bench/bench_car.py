"""Benchmark: verified CAR reading against libipld's unverified ``decode_car``.

Run by hand: ``.venv/bin/python tests/bench/bench_car.py``. Builds a CAR of 10,000
realistic ``app.bsky.feed.post`` records (text, langs, createdAt, a link and a mention
facet, an images embed with a blob and aspectRatio; about 750 bytes of DAG-CBOR each)
plus a commit-like root block, then times, in one run:

- ``CarReader`` over ``io.BytesIO`` (streaming; every block hashed against its CID);
- ``read_car(bytes)`` (same checks, collected into a dict);
- ``read_car`` followed by ``decode`` of every block, which is the like-for-like
  comparison with libipld (libipld decodes each block, and does not verify hashes);
- ``libipld.decode_car`` (skipped with a message when libipld is not installed).

Prints the best time over several round-robin repeats in ms, records/s, and ratios
against libipld.
"""

from __future__ import annotations

import io
import random
import statistics
import sys
import time
from collections.abc import Callable

from lexforge.runtime.car import CarReader, read_car, write_car
from lexforge.runtime.data import BACKEND, CID, decode, encode

N_RECORDS = 10_000
REPEATS = 7

_WORDS = (
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "bluesky",
    "posts",
    "flow",
    "through",
    "firehose",
    "and",
    "relays",
    "verify",
    "every",
    "commit",
    "signature",
    "before",
    "fanning",
    "out",
    "to",
    "consumers",
)


def _did(rng: random.Random) -> str:
    return "did:plc:" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(24))


def make_post(rng: random.Random, i: int) -> dict[str, object]:
    """One realistic post record in the data model (blob as a plain dict)."""
    words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(14, 22)))
    link = f"https://example.com/articles/{i}/{rng.randrange(10**9)}"
    handle = f"@user{rng.randrange(10**6)}.bsky.social"
    text = f"{words} {link} cc {handle}"
    link_start = len(words.encode()) + 1
    mention_start = link_start + len(link) + 4
    blob_cid = CID.for_raw(rng.randbytes(64))
    return {
        "$type": "app.bsky.feed.post",
        "text": text,
        "langs": ["en"],
        "createdAt": f"2024-05-{1 + i % 28:02d}T12:{i % 60:02d}:{i * 7 % 60:02d}.{i % 1000:03d}Z",
        "facets": [
            {
                "$type": "app.bsky.richtext.facet",
                "index": {"byteStart": link_start, "byteEnd": link_start + len(link)},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": link}],
            },
            {
                "$type": "app.bsky.richtext.facet",
                "index": {"byteStart": mention_start, "byteEnd": mention_start + len(handle)},
                "features": [{"$type": "app.bsky.richtext.facet#mention", "did": _did(rng)}],
            },
        ],
        "embed": {
            "$type": "app.bsky.embed.images",
            "images": [
                {
                    "alt": " ".join(rng.choice(_WORDS) for _ in range(6)),
                    "image": {
                        "$type": "blob",
                        "ref": blob_cid,
                        "mimeType": "image/jpeg",
                        "size": rng.randint(50_000, 900_000),
                    },
                    "aspectRatio": {"width": 1200, "height": rng.choice((800, 900, 1600))},
                }
            ],
        },
    }


def build_car(n: int = N_RECORDS) -> tuple[bytes, int]:
    """A CAR with ``n`` post blocks and a commit-like root; returns (car, mean record size)."""
    rng = random.Random(1234)
    blocks: dict[CID, bytes] = {}
    for i in range(n):
        data = encode(make_post(rng, i))
        blocks[CID.for_cbor(data)] = data
    mean = sum(len(b) for b in blocks.values()) // len(blocks)
    commit = encode(
        {
            "did": _did(rng),
            "version": 3,
            "data": next(iter(blocks)),
            "rev": "3kabcdefghijk",
            "prev": None,
            "sig": rng.randbytes(64),
        }
    )
    root = CID.for_cbor(commit)
    car = write_car([root], [(root, commit), *blocks.items()])
    return car, mean


def _best(cases: list[tuple[str, Callable[[], object]]]) -> dict[str, tuple[float, float]]:
    """(best, median) milliseconds per case over ``REPEATS`` rounds.

    The cases run round-robin (one run of each per round), so a burst of load from other
    processes on a shared machine hits all of them alike and the ratios stay fair.
    """
    for _, fn in cases:
        fn()  # warm up
    times: dict[str, list[float]] = {name: [] for name, _ in cases}
    for _ in range(REPEATS):
        for name, fn in cases:
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) * 1000)
    return {name: (min(t), statistics.median(t)) for name, t in times.items()}


def main() -> None:
    car, mean = build_car()
    n_blocks = N_RECORDS + 1
    print(f"CAR: {len(car):,} bytes, {n_blocks:,} blocks, mean record {mean} bytes")
    print(f"lexforge codec backend: {BACKEND}; Python {sys.version.split()[0]}")

    def ours_stream() -> object:
        return dict(CarReader(io.BytesIO(car)))

    def ours_bytes() -> object:
        return read_car(car)

    def ours_decoded() -> object:
        _, blocks = read_car(car)
        return {cid: decode(data) for cid, data in blocks.items()}

    cases: list[tuple[str, Callable[[], object]]] = [
        ("lexforge CarReader(BytesIO), verified", ours_stream),
        ("lexforge read_car(bytes), verified", ours_bytes),
        ("lexforge read_car + decode every block", ours_decoded),
    ]
    try:
        import libipld  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        libipld = None
        print("libipld not installed: skipping the peer (pip install libipld into .venv)")
    if libipld is not None:
        cases.append(("libipld.decode_car (decodes, unverified)", lambda: libipld.decode_car(car)))

    results: dict[str, float] = {}
    for name, (best, median) in _best(cases).items():
        results[name] = best
        rate = n_blocks / (best / 1000)
        print(f"{name:45s} best {best:8.2f} ms  median {median:8.2f} ms  {rate:12,.0f} blocks/s")
    if libipld is not None:
        peer = results["libipld.decode_car (decodes, unverified)"]
        print("ratios (ours / libipld; target for the verified read: <= 2.0)")
        for name, _ in cases[:3]:
            print(f"  {name:43s} {results[name] / peer:6.2f}x")


if __name__ == "__main__":
    main()

"""Repository benchmarks: MST build, signed commits, export/import, verified firehose.

Run by hand: ``python tests/bench/bench_repo.py [N]`` (N = records for the big repo,
default 100,000). Prints our figures, the peers' (arroba 3.1, measured in this run when
importable, else the figures measured earlier and quoted in the issue) and the ratios.
"""

from __future__ import annotations

import asyncio
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from lexforge.runtime.crypto import K256Keypair, PublicKey
from lexforge.runtime.data import CID, encode
from lexforge.runtime.repo import (
    Create,
    MemoryBlockStore,
    Repo,
    Tree,
    iter_car_chunks,
    verify_repo_car,
)
from lexforge.runtime.sync.events import CommitEvent
from lexforge.runtime.sync.frames import decode_event, encode_frame
from lexforge.runtime.sync.verify import CommitVerifier

# Figures measured earlier against arroba 3.1 / atproto 0.0.73 (quoted in issue 4).
ARROBA_MST_10K_S = 1.1
ARROBA_COMMITS_PER_S = 1800.0
ARROBA_EXPORT_10K_S = 1.3
INCUMBENT_DECODE_PER_S = 21_600.0
INCUMBENT_VERIFIED_PER_S = 3_000.0

DID = "did:plc:benchbenchbenchbenchbenc"
POST = "app.bsky.feed.post"


def record(i: int, size: int = 200) -> dict[str, Any]:
    return {
        "$type": POST,
        "text": (f"post {i} " * 64)[:size],
        "createdAt": "2024-01-01T00:00:00.000Z",
        "langs": ["en"],
    }


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def rkey(i: int) -> str:
    return f"3k{i:011d}"


def bench_mst(n: int) -> None:
    value = CID.for_cbor(encode({"a": 1}))
    items = [(f"{POST}/{rkey(i)}", value) for i in range(n)]

    def build() -> CID:
        tree = Tree.build(items, {}.get)
        for node in tree.new_nodes():
            _ = node.cid
        return tree.root_cid

    seconds, _ = timed(build)
    per_10k = seconds * 10_000 / n
    print(f"MST bulk build {n:,} keys: {seconds:.2f} s ({per_10k:.3f} s per 10k keys)")
    print(
        f"  arroba 10k keys: {ARROBA_MST_10K_S} s (issue figure) -> ratio "
        f"{ARROBA_MST_10K_S / per_10k:.1f}x"
    )


def bench_commits(n_existing: int, commits: int = 1000) -> None:
    key = K256Keypair.generate()
    repo, _ = Repo.create(
        MemoryBlockStore(), DID, key, [(POST, rkey(i), record(i)) for i in range(n_existing)]
    )
    writes = [[Create(POST, f"3z{i:011d}", record(i))] for i in range(commits)]

    def run() -> None:
        for batch in writes:
            repo.apply_writes(batch)

    seconds, _ = timed(run)
    rate = commits / seconds
    print(f"{commits} single-record signed commits on a {n_existing:,}-record repo: {rate:,.0f}/s")
    print(
        f"  arroba: {ARROBA_COMMITS_PER_S:,.0f}/s (issue figure) -> ratio "
        f"{rate / ARROBA_COMMITS_PER_S:.1f}x"
    )


def bench_export_import(n: int) -> None:
    key = K256Keypair.generate()
    t_create, (repo, _) = timed(
        lambda: Repo.create(
            MemoryBlockStore(), DID, key, [(POST, rkey(i), record(i)) for i in range(n)]
        )
    )
    print(f"create {n:,}-record repo (bulk): {t_create:.2f} s")
    size = 0

    def export() -> None:
        nonlocal size
        size = 0
        for chunk in iter_car_chunks(repo.store):
            size += len(chunk)

    t_export, _ = timed(export)  # timed without tracemalloc (it slows Python down)
    tracemalloc.start()
    export()
    export_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    per_10k = t_export * 10_000 / n
    print(
        f"export {n:,} records ({size / 1e6:.1f} MB CAR, streamed): {t_export:.2f} s, "
        f"peak traced memory {export_peak / 1e6:.2f} MB"
    )
    print(
        f"  arroba 10k export: {ARROBA_EXPORT_10K_S} s (issue figure) -> ratio "
        f"{ARROBA_EXPORT_10K_S / per_10k:.1f}x"
    )
    car = b"".join(iter_car_chunks(repo.store))
    t_import, verified = timed(lambda: verify_repo_car(car, did=DID, key=key.public_key))
    tracemalloc.start()
    verify_repo_car(car, did=DID, key=key.public_key)
    import_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(verified.records) == n
    print(
        f"import+full verification {n:,} records: {t_import:.2f} s, "
        f"peak traced memory {import_peak / 1e6:.1f} MB"
    )


def bench_firehose(base: int = 10_000, frames: int = 3000) -> None:
    key = K256Keypair.generate()
    repo, _ = Repo.create(
        MemoryBlockStore(), DID, key, [(POST, rkey(i), record(i)) for i in range(base)]
    )
    encoded = []
    for i in range(frames):
        diff = repo.apply_writes([Create(POST, f"3z{i:011d}", record(i, 3000))])
        event = CommitEvent(
            seq=i + 1,
            repo=DID,
            commit=diff.cid,
            rev=diff.rev,
            since=diff.since,
            blocks=diff.car(),
            ops=diff.ops,
            time="2024-01-01T00:00:00.000Z",
            prev_data=diff.prev_data,
        )
        encoded.append(encode_frame(event))
    avg = sum(map(len, encoded)) / len(encoded)

    def decode_only() -> None:
        for frame in encoded:
            decode_event(frame)

    t_decode, _ = timed(decode_only)

    async def lookup(did: str, refresh: bool) -> PublicKey:
        return key.public_key

    async def verify_all() -> None:
        verifier = CommitVerifier(lookup)
        for frame in encoded:
            event = decode_event(frame)
            assert isinstance(event, CommitEvent)
            await verifier.verify_commit(event)

    t_verify, _ = timed(lambda: asyncio.run(verify_all()))
    decode_rate = frames / t_decode
    verify_rate = frames / t_verify
    print(f"firehose #commit frames (avg {avg:,.0f} bytes), one core:")
    print(
        f"  decode only: {decode_rate:,.0f}/s (incumbent {INCUMBENT_DECODE_PER_S:,.0f}/s, "
        f"issue figure) -> ratio {decode_rate / INCUMBENT_DECODE_PER_S:.2f}x"
    )
    print(
        f"  fully verified (signature, hashes, inversion): {verify_rate:,.0f}/s (incumbent "
        f"{INCUMBENT_VERIFIED_PER_S:,.0f}/s with signatures only) -> ratio "
        f"{verify_rate / INCUMBENT_VERIFIED_PER_S:.2f}x"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    try:
        import arroba  # noqa: F401 - optional peer
    except ImportError:
        print(
            "arroba 3.1 not importable here (it pins cbor2<6, which would downgrade the "
            "shared venv); using the figures measured earlier for its ratios"
        )
    bench_mst(n)
    bench_commits(n)
    bench_export_import(n)
    bench_firehose()


if __name__ == "__main__":
    main()

"""Benchmark: decoding realistic ``#commit`` firehose frames into typed events.

Run by hand: ``.venv/bin/python tests/bench/bench_firehose.py``. The frames come from a
real repository (``lexforge.runtime.repo.Repo``) of a few hundred posts: each commit
creates a couple of posts, so its CAR slice holds the signed commit, the changed MST
nodes (with their covering neighbours) and the record blocks, about 4 KB per frame.

Rows, one core, frames per second:

* ``decode``: frame -> typed event (``decode_event``: header + body, strict shape checks
  on every field, DID/TID/datetime syntax, op shapes). The incumbent's equivalent is
  ``MessageFrame.from_bytes`` + ``parse_subscribe_repos_message``.
* ``+ CAR + posts``: also read the CAR slice (every block hash checked) and decode each
  created record into a typed post: ours validates the generated
  ``app.bsky.feed.post`` model (``lexforge.generated``; the bench may import it, the
  runtime never does); the incumbent uses ``CAR.from_bytes`` (no hash check) and
  ``models.get_or_create(record, strict=False)``.

The incumbent (``atproto==0.0.73``) is not a dependency: ``pip install atproto==0.0.73``
into .venv to include it. Full verification (signature, every block hash, inversion to
``prevData``) of these same frames, against the incumbent's signature check, is
measured by ``bench_repo.py`` (its firehose section).
"""

from __future__ import annotations

import importlib.metadata
import sys
import timeit
from collections.abc import Callable
from typing import Any

from lexforge.runtime.crypto import K256Keypair
from lexforge.runtime.data import decode
from lexforge.runtime.repo import Create, MemoryBlockStore, Repo
from lexforge.runtime.sync import CommitEvent, decode_event, encode_frame
from lexforge.runtime.syntax import TidClock

try:
    from atproto import CAR, firehose_models, models, parse_subscribe_repos_message
    from atproto_client.models.utils import get_or_create
except ImportError:
    atproto = None
else:
    import atproto

TIME = "2026-08-20T12:34:56.789Z"
DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
N_FRAMES = 200


def post(i: int) -> dict[str, Any]:
    text = (
        f"Post number {i}: notes from the firehose benchmark, with a link to "
        "https://example.com/blog/lexforge-release and a mention of @alice.example.com"
    )
    raw = text.encode()
    start = raw.index(b"https://")
    return {
        "$type": "app.bsky.feed.post",
        "text": text,
        "langs": ["en"],
        "createdAt": TIME,
        "facets": [
            {
                "$type": "app.bsky.richtext.facet",
                "index": {"byteStart": start, "byteEnd": start + 41},
                "features": [
                    {
                        "$type": "app.bsky.richtext.facet#link",
                        "uri": "https://example.com/blog/lexforge-release",
                    }
                ],
            }
        ],
    }


def make_frames() -> list[bytes]:
    """``N_FRAMES`` #commit frames, each creating two posts in a repo of ~1000 posts."""
    clock = TidClock()
    repo, _ = Repo.create(
        MemoryBlockStore(),
        DID,
        K256Keypair.generate(),
        [("app.bsky.feed.post", clock.next(), post(i)) for i in range(1000)],
        clock=TidClock(),
    )
    frames = []
    for seq in range(1, N_FRAMES + 1):
        diff = repo.apply_writes(
            [Create("app.bsky.feed.post", clock.next(), post(seq * 10 + k)) for k in range(2)]
        )
        event = CommitEvent(
            seq=seq,
            repo=DID,
            commit=diff.cid,
            rev=diff.rev,
            since=diff.since,
            blocks=diff.car(),
            ops=diff.ops,
            time=TIME,
            prev_data=diff.prev_data,
        )
        frames.append(encode_frame(event))
    return frames


def measure(cases: dict[str, Callable[[], object]], rounds: int = 7) -> dict[str, float]:
    """Best-of-``rounds`` calls per second per case, timed round-robin (fair under load)."""
    timers = {name: timeit.Timer(fn) for name, fn in cases.items()}
    numbers = {}
    for name, timer in timers.items():
        n, elapsed = timer.autorange()
        numbers[name] = max(1, int(n * 0.2 / max(elapsed, 1e-9)))
    best = dict.fromkeys(cases, 0.0)
    for _ in range(rounds):
        for name, timer in timers.items():
            n = numbers[name]
            best[name] = max(best[name], n / timer.timeit(n))
    return best


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def main() -> None:
    frames = make_frames()
    sizes = sorted(len(f) for f in frames)
    print(
        f"{len(frames)} #commit frames, {sizes[len(sizes) // 2]} bytes median "
        f"({sizes[0]}-{sizes[-1]}), 2 created posts each"
    )
    print(f"python {sys.version.split()[0]}, atproto {_version('atproto')}")

    from lexforge.generated.models.app.bsky.feed.post import Record as Post

    def ours_decode() -> None:
        for frame in frames:
            decode_event(frame)

    def ours_full() -> None:
        for frame in frames:
            event = decode_event(frame)
            assert isinstance(event, CommitEvent)
            blocks = event.read_blocks()
            for op in event.ops:
                if op.action == "create" and op.cid is not None:
                    Post.model_validate(decode(blocks[op.cid]))

    # sanity: both paths really produce typed posts
    sample = decode_event(frames[0])
    assert isinstance(sample, CommitEvent)
    assert len(sample.ops) == 2
    assert sample.ops[0].cid is not None
    assert Post.model_validate(decode(sample.read_blocks()[sample.ops[0].cid])).text

    cases: dict[str, Callable[[], object]] = {
        "lexforge decode": ours_decode,
        "lexforge + CAR + posts": ours_full,
    }
    if atproto is not None:

        def theirs_decode() -> None:
            for frame in frames:
                parse_subscribe_repos_message(firehose_models.MessageFrame.from_bytes(frame))

        def theirs_full() -> None:
            for frame in frames:
                commit = parse_subscribe_repos_message(
                    firehose_models.MessageFrame.from_bytes(frame)
                )
                car = CAR.from_bytes(commit.blocks)
                for op in commit.ops:
                    if op.action == "create" and op.cid:
                        get_or_create(car.blocks.get(op.cid), strict=False)

        check = parse_subscribe_repos_message(firehose_models.MessageFrame.from_bytes(frames[0]))
        assert isinstance(check, models.ComAtprotoSyncSubscribeRepos.Commit)
        car = CAR.from_bytes(check.blocks)
        typed = get_or_create(car.blocks.get(check.ops[0].cid), strict=False)
        assert isinstance(typed, models.AppBskyFeedPost.Record)
        cases["atproto 0.0.73 decode"] = theirs_decode
        cases["atproto 0.0.73 + CAR + posts"] = theirs_full
    else:
        print("atproto: not installed (pip install atproto==0.0.73), incumbent rows skipped")

    result = {name: per_call * len(frames) for name, per_call in measure(cases).items()}
    print()
    print(f"{'':32} {'frames/s':>10}  {'vs incumbent':>12}")
    for name, rate in result.items():
        ratio = "-"
        if name.startswith("lexforge") and atproto is not None:
            peer = name.replace("lexforge", "atproto 0.0.73")
            ratio = f"{rate / result[peer]:.2f}x"
        print(f"{name:32} {rate:10,.0f}  {ratio:>12}")


if __name__ == "__main__":
    main()

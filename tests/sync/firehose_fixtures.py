"""Realistic firehose material for the sync tests: repos, commit events, a live relay.

Commit events come from real repositories (``lexforge.runtime.repo.Repo``): real signed
commits, MST nodes and record blocks in a real CAR slice, ``since``/``prevData`` chains.
:class:`FakeRelay` is a real ``websockets`` server on 127.0.0.1 (random free port) that
serves frames after the requested cursor and can be scripted to misbehave.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve

from lexforge.runtime.crypto import K256Keypair
from lexforge.runtime.repo import CommitDiff, Create, Delete, MemoryBlockStore, Repo, Update
from lexforge.runtime.sync import CommitEvent, Event, encode_frame
from lexforge.runtime.syntax import TidClock

__all__ = [
    "TIME",
    "FakeRelay",
    "RepoHistory",
    "commit_event",
    "make_histories",
    "post",
    "running_relay",
]

TIME = "2026-01-02T03:04:05.678Z"


def post(text: str) -> dict[str, object]:
    return {"$type": "app.bsky.feed.post", "text": text, "createdAt": TIME, "langs": ["en"]}


def commit_event(diff: CommitDiff, seq: int, did: str) -> CommitEvent:
    return CommitEvent(
        seq=seq,
        repo=did,
        commit=diff.cid,
        rev=diff.rev,
        since=diff.since,
        blocks=diff.car(),
        ops=diff.ops,
        time=TIME,
        prev_data=diff.prev_data,
    )


@dataclass
class RepoHistory:
    """One repository and the diffs of its commits (create, update, delete, ...)."""

    did: str
    key: K256Keypair
    repo: Repo
    diffs: list[CommitDiff] = field(default_factory=list)


def make_histories(n_repos: int, commits: int) -> list[RepoHistory]:
    """``n_repos`` repos with ``commits`` commits each (first one: two posts)."""
    out = []
    for r in range(n_repos):
        did = f"did:plc:{'abcdefghijklmnopqrstuvwx'[r % 24]}{r:023d}"
        key = K256Keypair.generate()
        repo, first = Repo.create(
            MemoryBlockStore(),
            did,
            key,
            [("app.bsky.feed.post", f"3k2a{r:09d}", post("hello"))],
            clock=TidClock(),
        )
        history = RepoHistory(did, key, repo, [first])
        live: list[str] = []
        for i in range(commits - 1):
            rkey = f"3k3b{i:09d}"
            writes: list[Create | Update | Delete]
            if i % 3 == 2 and live:
                writes = [Update("app.bsky.feed.post", live[-1], post(f"edit {i}"))]
            elif i % 5 == 4 and live:
                writes = [Delete("app.bsky.feed.post", live.pop())]
            else:
                live.append(rkey)
                writes = [
                    Create("app.bsky.feed.post", rkey, post(f"post {i} of {did}")),
                    Create("app.bsky.feed.like", rkey, {"$type": "app.bsky.feed.like"}),
                ]
            history.diffs.append(repo.apply_writes(writes))
        out.append(history)
    return out


def interleave(histories: list[RepoHistory], start_seq: int = 1) -> list[CommitEvent]:
    """Every commit of every repo, interleaved round-robin, numbered from ``start_seq``."""
    events = []
    seq = start_seq
    longest = max(len(h.diffs) for h in histories)
    for i in range(longest):
        for h in histories:
            if i < len(h.diffs):
                events.append(commit_event(h.diffs[i], seq, h.did))
                seq += 2  # gaps in seq are legal
    return events


Script = Callable[[int, "int | None"], "list[bytes | str | None] | None"]


class FakeRelay:
    """A scripted ``subscribeRepos`` server.

    ``events`` are served in order, those with ``seq > cursor`` (the reference rule).
    ``prefix[i]`` frames are sent first on connection ``i``; ``drop_after[i]`` closes
    connection ``i`` (code 1011) after that many events; otherwise the connection stays
    open (live tail) until the client leaves. ``cursors`` records what each connection
    asked for.
    """

    def __init__(self, events: list[Event]) -> None:
        self.events = events
        self.prefix: dict[int, list[bytes]] = {}
        self.insert: dict[int, bytes] = {}  # before the event with this seq, every time
        self.drop_after: dict[int, int] = {}
        self.cursors: list[int | None] = []
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def frame(self, event: Event) -> bytes:
        return encode_frame(event)

    async def handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        parts = urlsplit(ws.request.path)
        assert parts.path == "/xrpc/com.atproto.sync.subscribeRepos", parts.path
        raw = parse_qs(parts.query).get("cursor")
        cursor = int(raw[0]) if raw else None
        index = len(self.cursors)
        self.cursors.append(cursor)
        with contextlib.suppress(Exception):
            for data in self.prefix.get(index, []):
                await ws.send(data)
            sent = 0
            for event in self.events:
                seq = getattr(event, "seq", None)
                if cursor is not None and seq is not None and seq <= cursor:
                    continue
                if seq in self.insert:
                    await ws.send(self.insert[seq])
                await ws.send(self.frame(event))
                sent += 1
                if self.drop_after.get(index) == sent:
                    await ws.close(1011, "going away")
                    return
            await ws.wait_closed()


@contextlib.asynccontextmanager
async def running_relay(relay: FakeRelay) -> AsyncIterator[FakeRelay]:
    async with serve(relay.handle, "127.0.0.1", 0, max_size=1024) as server:
        sockets = list(server.sockets)
        relay.port = sockets[0].getsockname()[1]
        yield relay
        server.close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2)

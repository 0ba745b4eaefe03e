"""Shared helpers for repo and sync tests."""

from __future__ import annotations

import random
from typing import Any

from lexforge.runtime.crypto import K256Keypair
from lexforge.runtime.repo import Create, Delete, MemoryBlockStore, Repo, Update, Write

__all__ = ["DID", "POST", "make_repo", "post", "random_writes"]

DID = "did:plc:abcdefghijklmnopqrstuvwx"
POST = "app.bsky.feed.post"


def post(text: str) -> dict[str, Any]:
    return {"$type": POST, "text": text, "createdAt": "2024-01-01T00:00:00.000Z"}


def make_repo(n: int = 0, key: K256Keypair | None = None) -> tuple[Repo, K256Keypair]:
    key = key or K256Keypair.generate()
    records = [(POST, f"3k{i:011d}", post(str(i))) for i in range(n)]
    repo, _ = Repo.create(MemoryBlockStore(), DID, key, records)
    return repo, key


def random_writes(repo: Repo, rnd: random.Random, max_ops: int = 8) -> list[Write]:
    existing = [path for path, _ in repo.list_records()]
    writes: list[Write] = []
    used: set[str] = set()
    for _ in range(rnd.randint(0, max_ops)):
        roll = rnd.random()
        if roll < 0.45 or not existing:
            collection = rnd.choice([POST, "app.bsky.feed.like", "app.bsky.graph.follow"])
            rkey = f"r{rnd.randrange(10**6)}"
            path = f"{collection}/{rkey}"
            if path in used or repo.get_record_cid(collection, rkey) is not None:
                continue
            used.add(path)
            writes.append(Create(collection, rkey, post(f"{roll}")))
            continue
        path = rnd.choice(existing)
        if path in used:
            continue
        used.add(path)
        collection, rkey = path.split("/")
        if roll < 0.75:
            writes.append(Update(collection, rkey, post(f"u{roll}")))
        else:
            writes.append(Delete(collection, rkey))
    return writes

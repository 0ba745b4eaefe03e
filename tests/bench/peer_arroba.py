"""The arroba 3.1 side of bench_repo.py, run in arroba's own interpreter.

arroba pins ``cbor2<6`` (the project's .venv has cbor2 6), so it lives in a separate
virtualenv and bench_repo.py starts this script there as a subprocess, in the same run
as our own figures. Standard library plus arroba only (never lexforge). Prints one JSON
object: seconds of CPU time (``time.process_time``, robust to a busy shared machine) and
of wall time for each case.

Cases, mirroring bench_repo.py:

* ``mst``: ``MST.create()`` then ``add`` each key, then ``get_unstored_blocks`` (which
  computes every node's CID, as our build does).
* ``commits``: single-record creates through ``Storage.commit`` (signed, lexicon
  validated, MST updated, blocks stored) on a repo of ``base`` records.
* ``export``: the ``getRepo`` CAR of a ``base``-record repo, built the way arroba's
  ``xrpc_sync.get_repo`` does (``car.write_car`` over ``mst.load_all()``).

Usage: ``python peer_arroba.py MST_KEYS BASE_RECORDS COMMITS``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any


def _timed(fn: Any) -> dict[str, float]:
    wall = time.perf_counter()
    cpu = time.process_time()
    fn()
    return {"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall}


def _record(i: int, size: int = 200) -> dict[str, Any]:
    return {
        "$type": "app.bsky.feed.post",
        "text": (f"post {i} " * 64)[:size],
        "createdAt": "2024-01-01T00:00:00.000Z",
        "langs": ["en"],
    }


def main() -> None:
    logging.disable(logging.CRITICAL)
    mst_keys, base, commits = (int(a) for a in sys.argv[1:4])

    from arroba import util
    from arroba.mst import MST
    from arroba.repo import Repo
    from arroba.storage import MemoryStorage
    from arroba.util import Action, Write
    from carbox import car

    out: dict[str, Any] = {"version": "3.1"}
    value = util.dag_cbor_cid({"a": 1})
    keys = [f"app.bsky.feed.post/3k{i:011d}" for i in range(mst_keys)]

    def build_mst() -> None:
        storage = MemoryStorage()
        tree = MST.create(storage=storage)
        for key in keys:
            tree = tree.add(key, value)
        tree.get_unstored_blocks()

    out["mst"] = {"keys": mst_keys, **_timed(build_mst)}

    storage = MemoryStorage()
    repo = Repo.create(storage, "did:web:bench.example.com", signing_key=util.new_key())
    post = "app.bsky.feed.post"
    for start in range(0, base, 200):
        writes = [
            Write(Action.CREATE, post, f"3k{i:011d}", _record(i))
            for i in range(start, min(start + 200, base))
        ]
        storage.commit(repo, writes)
    batches = [Write(Action.CREATE, post, f"3z{i:011d}", _record(i)) for i in range(commits)]

    def run_commits() -> None:
        for write in batches:
            storage.commit(repo, write)

    out["commits"] = {"base": base, "commits": commits, **_timed(run_commits)}

    def export() -> None:
        head = repo.head
        blocks = [car.Block(head.cid, head.encoded)]
        blocks.extend(car.Block(cid, data) for cid, data in repo.mst.load_all())
        data = car.write_car([head.cid], blocks)
        out["export_bytes"] = len(data)

    out["export"] = {"records": base + commits, **_timed(export)}
    # sanity: the repo really holds every record
    assert repo.mst.leaf_count() == base + commits
    print(json.dumps(out))


if __name__ == "__main__":
    main()

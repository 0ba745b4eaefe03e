"""Benchmark: XRPC client calls, subscription frame decoding and the server, in process.

Run by hand: ``.venv/bin/python tests/bench/bench_xrpc.py``. No network: clients talk to
an ``httpx.MockTransport`` that returns canned responses, so the numbers measure what
the libraries do per call (parameter validation and encoding, request building, JSON
parsing and output validation), not I/O.

- ``getRecord``: one call returning a post record (small response);
- ``listRecords``: one call returning 100 records (validation-heavy response);
- ``subscribeLabels`` frames: decoding a binary frame (header + body, 10 labels) into
  the typed message;
- server: ``getRecord`` through the generated Starlette app over httpx's ASGITransport
  (no Python peer has an XRPC server, so this row has no ratio).

The peer is ``atproto`` 0.0.73 (MarshalX), skipped with a message when not installed.
Prints the best of several repeats (ours and the peer taking turns) as ops/s and the
ratio ours/peer (> 1: we are faster).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

from lexforge.generated.client import Client
from lexforge.generated.models.com.atproto.label import subscribe_labels
from lexforge.generated.models.com.atproto.repo import get_record
from lexforge.generated.server import create_app
from lexforge.runtime.data import BACKEND, encode
from lexforge.runtime.xrpc.stream import decode_message

REPEATS = 5
DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
CID = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
POST = {
    "$type": "app.bsky.feed.post",
    "text": "a benchmark post with some text in it, and a link https://example.com",
    "langs": ["en"],
    "createdAt": "2024-05-01T12:00:00.000Z",
}
GET_RECORD = {"uri": f"at://{DID}/app.bsky.feed.post/3kabc", "cid": CID, "value": POST}
LIST_RECORDS = {
    "cursor": "3kxyz",
    "records": [
        {"uri": f"at://{DID}/app.bsky.feed.post/3k{i:04d}", "cid": CID, "value": POST}
        for i in range(100)
    ],
}
LABEL = {
    "src": DID,
    "uri": f"at://{DID}/app.bsky.feed.post/3kabc",
    "val": "spam",
    "cts": "2024-05-01T12:00:00.000Z",
}
FRAME = encode({"op": 1, "t": "#labels"}) + encode({"seq": 42, "labels": [LABEL] * 10})


def best_rates(fns: list[Callable[[], object]], n: int) -> list[float]:
    """Best calls/second of each function over ``REPEATS`` runs of ``n`` calls, the
    functions taking turns (so load on a shared machine hits them alike)."""
    best = [float("inf")] * len(fns)
    for _ in range(REPEATS):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            for _ in range(n):
                fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return [n / b for b in best]


def transport(payload: dict[str, Any]) -> httpx.MockTransport:
    body = json.dumps(payload).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    return httpx.MockTransport(handler)


def ours_get_record() -> Callable[[], object]:
    client = Client("https://pds.example", transport=transport(GET_RECORD))
    repo = client.com.atproto.repo
    return lambda: repo.get_record(repo=DID, collection="app.bsky.feed.post", rkey="3kabc")


def ours_list_records() -> Callable[[], object]:
    client = Client("https://pds.example", transport=transport(LIST_RECORDS))
    repo = client.com.atproto.repo
    return lambda: repo.list_records(repo=DID, collection="app.bsky.feed.post", limit=100)


def ours_frame() -> Callable[[], object]:
    messages = {"#labels": subscribe_labels.Labels, "#info": subscribe_labels.Info}
    return lambda: decode_message(FRAME, messages)


def peer_callables() -> dict[str, Callable[[], object]] | None:
    try:
        from atproto_client import Client as PeerClient
        from atproto_client.request import Request as PeerRequest
        from atproto_firehose import parse_subscribe_labels_message
        from atproto_subscription.frames import Frame
    except ImportError:
        return None

    def peer_client(payload: dict[str, Any]) -> Any:
        return PeerClient("https://pds.example", request=PeerRequest(transport=transport(payload)))

    get = peer_client(GET_RECORD).com.atproto.repo
    lst = peer_client(LIST_RECORDS).com.atproto.repo
    params = {"repo": DID, "collection": "app.bsky.feed.post", "rkey": "3kabc"}
    list_params = {"repo": DID, "collection": "app.bsky.feed.post", "limit": 100}
    return {
        "getRecord (client)": lambda: get.get_record(params),
        "listRecords x100 (client)": lambda: lst.list_records(list_params),
        "subscribeLabels frame": lambda: parse_subscribe_labels_message(Frame.from_bytes(FRAME)),
    }


def server_rate(n: int) -> float:
    async def handle(ctx: object, params: get_record.Params) -> get_record.Output:
        return get_record.Output.model_validate(GET_RECORD)

    app = create_app(handlers={get_record.NSID: handle})
    url = f"/xrpc/{get_record.NSID}?repo={DID}&collection=app.bsky.feed.post&rkey=3kabc"

    async def run() -> float:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as http:
            best = float("inf")
            for _ in range(REPEATS):
                start = time.perf_counter()
                for _ in range(n):
                    response = await http.get(url)
                    assert response.status_code == 200
                best = min(best, time.perf_counter() - start)
            return n / best

    return asyncio.run(run())


def main() -> None:
    print(f"lexforge XRPC bench (CBOR backend: {BACKEND}, best of {REPEATS})")
    ours = {
        "getRecord (client)": (ours_get_record(), 2000),
        "listRecords x100 (client)": (ours_list_records(), 100),
        "subscribeLabels frame": (ours_frame(), 5000),
    }
    peers = peer_callables()
    if peers is None:
        print("atproto (MarshalX) not installed: peer column skipped", file=sys.stderr)
    print(f"{'benchmark':28} {'lexforge ops/s':>15} {'atproto ops/s':>15} {'ratio':>7}")
    for name, (fn, n) in ours.items():
        fn()  # warm up (model builds, imports)
        if peers is None:
            (rate,) = best_rates([fn], n)
            print(f"{name:28} {rate:15,.0f} {'-':>15} {'-':>7}")
            continue
        peer = peers[name]
        peer()
        rate, peer_rate = best_rates([fn, peer], n)
        print(f"{name:28} {rate:15,.0f} {peer_rate:15,.0f} {rate / peer_rate:7.2f}")
    print(f"{'getRecord (server, ASGI)':28} {server_rate(500):15,.0f} {'-':>15} {'-':>7}")


if __name__ == "__main__":
    main()

"""End to end: generated bindings + scaffolded handlers + real uvicorn + generated clients.

The server is ``lexforge.generated.server.create_app`` over the handler package
``tests/codegen/e2e_handlers`` (written by ``lexforge scaffold``, bodies filled in:
getRecord, listRecords and createRecord over an in-memory store, subscribeLabels over a
list of labels), served by uvicorn on 127.0.0.1. The generated blocking and async clients
call it: declared errors, validation failures, 501 for a method without handler, auth,
pagination and a subscription resumed from a cursor.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from lexforge.codegen.merge import update_handlers
from lexforge.codegen.pipeline import compile_lexicons, official_lexicons_dir
from lexforge.generated.client import AsyncClient, Client
from lexforge.generated.models.com.atproto.label import subscribe_labels
from lexforge.generated.models.com.atproto.repo import create_record, get_record
from lexforge.generated.server import create_app
from lexforge.runtime.xrpc import (
    AuthRequest,
    BearerAuth,
    XrpcBadRequest,
    XrpcForbidden,
    XrpcNotImplemented,
    XrpcUnauthorized,
)
from tests.codegen.e2e_handlers.store import MemoryStore
from tests.xrpc.live import serve

HANDLERS = Path(__file__).resolve().parent / "e2e_handlers"
ALICE = "did:plc:alice000000000000000000"
BOB = "did:plc:bob00000000000000000000"
POSTS = "app.bsky.feed.post"
LABELER = "did:plc:labeler0000000000000000"


async def auth(request: AuthRequest) -> str | None:
    """Bearer tokens are DIDs; only createRecord requires one."""
    header = request.headers.get("authorization")
    token = header.removeprefix("Bearer ") if header else None
    if request.nsid == "com.atproto.repo.createRecord" and token is None:
        raise XrpcUnauthorized("Authentication Required", error="AuthMissing")
    return token


def seeded_store() -> MemoryStore:
    store = MemoryStore()
    for i in range(1, 6):
        store.labels.append(
            {
                "src": LABELER,
                "uri": f"at://{ALICE}/{POSTS}/{i}",
                "val": f"label-{i}",
                "cts": "2024-01-01T00:00:00.000Z",
            }
        )
    return store


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    app = create_app(handlers="tests.codegen.e2e_handlers", auth=auth)
    app.state.store = seeded_store()
    with serve(app) as url:
        yield url


def post(text: str) -> dict[str, object]:
    return {"$type": POSTS, "text": text, "createdAt": "2024-01-01T00:00:00.000Z"}


def test_sync_client_end_to_end(base_url: str) -> None:
    with Client(base_url, auth=BearerAuth(ALICE)) as client:
        repo = client.com.atproto.repo
        created = [
            repo.create_record(
                create_record.Input(
                    repo=ALICE, collection=POSTS, rkey=f"r{i}", record=post(f"#{i}")
                )  # type: ignore[arg-type]
            )
            for i in range(1, 4)
        ]
        assert [c.uri for c in created] == [f"at://{ALICE}/{POSTS}/r{i}" for i in range(1, 4)]

        got = repo.get_record(repo=ALICE, collection=POSTS, rkey="r2")
        assert got.uri == created[1].uri
        assert got.cid == created[1].cid
        assert got.value["text"] == "#2"

        # declared error, as its generated class
        with pytest.raises(get_record.RecordNotFoundError) as missing:
            repo.get_record(repo=ALICE, collection=POSTS, rkey="nope")
        assert (missing.value.status, missing.value.error) == (400, "RecordNotFound")

        # pagination: limit + cursor, then reverse
        first = repo.list_records(repo=ALICE, collection=POSTS, limit=2)
        assert [r.uri.rkey for r in first.records] == ["r1", "r2"]
        assert first.cursor == "r2"
        rest = repo.list_records(repo=ALICE, collection=POSTS, limit=2, cursor=first.cursor)
        assert [r.uri.rkey for r in rest.records] == ["r3"]
        assert rest.cursor is None
        backwards = repo.list_records(repo=ALICE, collection=POSTS, reverse=True)
        assert [r.uri.rkey for r in backwards.records] == ["r3", "r2", "r1"]

        # server-side validation: bad params and bad input are typed 400s
        with pytest.raises(XrpcBadRequest) as bad_params:
            client.query(
                get_record.NSID,
                {"repo": ALICE, "collection": "not an nsid", "rkey": "r1"},
                output=get_record.Output,
            )
        assert bad_params.value.error == "InvalidRequest"
        assert "collection" in (bad_params.value.message or "")
        with pytest.raises(XrpcBadRequest) as bad_input:
            client.procedure(
                create_record.NSID,
                input={"repo": ALICE, "collection": POSTS},  # no record
                input_encoding="application/json",
                output=create_record.Output,
            )
        assert "record" in (bad_input.value.message or "")
        # ... which the generated client would have refused before sending
        with pytest.raises(ValidationError):
            repo.create_record({"repo": ALICE, "collection": POSTS})

        # a method without a handler
        with pytest.raises(XrpcNotImplemented) as unimplemented:
            repo.delete_record({"repo": ALICE, "collection": POSTS, "rkey": "r1"})
        assert unimplemented.value.status == 501

        # a handler's own authorisation error and a declared error from a procedure
        with pytest.raises(XrpcForbidden):
            repo.create_record({"repo": BOB, "collection": POSTS, "record": post("x")})
        with pytest.raises(create_record.InvalidSwapError):
            repo.create_record(
                {
                    "repo": ALICE,
                    "collection": POSTS,
                    "record": post("x"),
                    "swapCommit": got.cid,
                }
            )

    with Client(base_url) as anonymous, pytest.raises(XrpcUnauthorized) as unauthorized:
        anonymous.com.atproto.repo.create_record(
            {"repo": ALICE, "collection": POSTS, "record": post("x")}
        )
    assert unauthorized.value.error == "AuthMissing"


def test_sync_subscription_with_cursor(base_url: str) -> None:
    with Client(base_url) as client:
        messages = list(client.com.atproto.label.subscribe_labels(cursor=3))
    assert [type(m) for m in messages] == [subscribe_labels.Labels] * 2
    assert [(m.seq, m.labels[0].val) for m in messages] == [(4, "label-4"), (5, "label-5")]


@pytest.mark.anyio
async def test_async_client_end_to_end(base_url: str) -> None:
    async with AsyncClient(base_url, auth=_AsyncBearer(BOB)) as client:
        repo = client.com.atproto.repo
        out = await repo.create_record({"repo": BOB, "collection": POSTS, "record": post("b")})
        assert out.uri.authority == BOB
        got = await repo.get_record(repo=BOB, collection=POSTS, rkey=out.uri.rkey or "")
        assert got.value["text"] == "b"
        with pytest.raises(get_record.RecordNotFoundError):
            await repo.get_record(repo=BOB, collection=POSTS, rkey="missing")
        with pytest.raises(XrpcNotImplemented):
            await client.com.atproto.repo.put_record(
                {"repo": BOB, "collection": POSTS, "rkey": "x", "record": post("p")}
            )

        seqs = [m.seq async for m in client.com.atproto.label.subscribe_labels(cursor=1)]
        assert seqs == [2, 3, 4, 5]
        with pytest.raises(subscribe_labels.FutureCursorError):
            async for _ in client.com.atproto.label.subscribe_labels(cursor=99):
                pass  # pragma: no cover
        with pytest.raises(XrpcBadRequest):
            async for _ in client.subscribe(
                subscribe_labels.NSID, {"cursor": "x"}, messages={"#labels": dict}
            ):
                pass  # pragma: no cover


def test_handlers_match_the_scaffold() -> None:
    """The handler modules are scaffold output: a regeneration would change nothing."""
    nsids = {
        "com.atproto.label.subscribeLabels",
        "com.atproto.repo.createRecord",
        "com.atproto.repo.getRecord",
        "com.atproto.repo.listRecords",
    }
    program = compile_lexicons([official_lexicons_dir()]).program
    endpoints = [e for e in program.endpoints if e.nsid in nsids]
    report = update_handlers(HANDLERS, endpoints, check=True, report_orphans=False)
    assert not report.changed, report
    assert len(report.unchanged) == 4


class _AsyncBearer:
    def __init__(self, token: str) -> None:
        self.token = token

    async def auth_headers(self, nsid: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    async def refresh(self, client: object, error: object) -> bool:
        return False


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"

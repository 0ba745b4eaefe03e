"""What the XRPC client checks on JSON responses, now read in one pass
(``output.model_validate_json`` on the body, the strict reader only for what that
refuses), and the request URLs it builds without httpx's ``params=`` merge.

Decided for responses (documented in ``lexforge.runtime.xrpc.client``): the body size
cap, strict Lexicon types, formats and limits, and the data model for unknown content
(no floats or NaN, safe integers, valid links, bytes, blobs and ``$type``, nesting) all
hold as before; ``1.0`` for an integer is read as ``1`` (the data model says so);
duplicate keys are read last-wins (as every JSON reader a server's peers use; a
response is not hashed or signed as JSON).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.generated.models.com.atproto.repo import get_record, list_records
from lexforge.runtime.data import CID
from lexforge.runtime.lex import UnknownObject
from lexforge.runtime.xrpc import XrpcClient
from lexforge.runtime.xrpc.errors import InvalidResponseError

DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
CID_TEXT = "bafyreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"
URI = f"at://{DID}/app.bsky.feed.post/3kabc"
POST = {"$type": "app.bsky.feed.post", "text": "x", "createdAt": "2024-05-01T12:00:00.000Z"}


def fetch(body: bytes, output: Any = get_record.Output) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    client = XrpcClient("https://pds.example", transport=httpx.MockTransport(handler))
    return client.query(get_record.NSID, output=output)


def body(value: Any) -> bytes:
    return json.dumps({"uri": URI, "cid": CID_TEXT, "value": value}).encode()


def test_a_record_reads_into_typed_values() -> None:
    value = {**POST, "embed": {"$type": "x.y.z", "link": {"$link": CID_TEXT}, "n": 1}}
    out = fetch(body(value))
    assert isinstance(out, get_record.Output)
    assert isinstance(out.value, UnknownObject)
    assert out.value["embed"]["link"] == CID.parse(CID_TEXT)
    assert type(out.uri).__name__ == "AtUri"


@pytest.mark.parametrize(
    "raw",
    [
        body({**POST, "n": 1.5}),
        body({**POST, "n": 2**53}),
        body({**POST, "$type": ""}),
        body({**POST, "l": {"$link": "nope"}}),
        body({**POST, "b": {"$type": "blob", "size": 1}}),
        body([1]),
        json.dumps({"uri": URI, "cid": "not a cid!", "value": POST}).encode(),
        json.dumps({"uri": "nope", "cid": CID_TEXT, "value": POST}).encode(),
        b'{"uri": "'
        + URI.encode()
        + b'", "cid": "'
        + CID_TEXT.encode()
        + b'", "value": {"n": NaN}}',
        b'{"uri": "'
        + URI.encode()
        + b'", "cid": "'
        + CID_TEXT.encode()
        + b'", "value": {"s": "\\ud800"}}',
        body(json.loads("[" * 40 + "]" * 40)),
        b"[]",
        b"not json",
    ],
)
def test_invalid_responses_are_refused(raw: bytes) -> None:
    with pytest.raises(InvalidResponseError):
        fetch(raw)


def test_integral_floats_read_as_integers() -> None:
    out = fetch(body({**POST, "n": 1.0}))
    assert out.value["n"] == 1
    assert type(out.value["n"]) is int


def test_duplicate_keys_read_last_wins() -> None:
    raw = b'{"uri": "x", "uri": "' + URI.encode() + b'", "cid": "' + CID_TEXT.encode()
    raw += b'", "value": {"text": "a", "text": "b"}}'
    out = fetch(raw)
    assert out.uri == URI
    assert out.value["text"] == "b"


def test_list_records_reads_every_record() -> None:
    records = [{"uri": URI, "cid": CID_TEXT, "value": {**POST, "i": i}} for i in range(50)]
    raw = json.dumps({"records": records, "cursor": "c"}).encode()
    out = fetch(raw, list_records.Output)
    assert [r.value["i"] for r in out.records] == list(range(50))


PARAM_TEXT = st.text(
    st.characters(exclude_categories=("Cs",)), max_size=12
)  # what encode_params passes on: str values


SEEN: list[httpx.URL] = []
CLIENT = XrpcClient(
    "https://pds.example",
    transport=httpx.MockTransport(lambda r: SEEN.append(r.url) or httpx.Response(200)),
)
HTTPX = httpx.Client()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=6), PARAM_TEXT), max_size=5))
def test_request_urls_are_what_httpx_params_wrote(items: list[tuple[str, str]]) -> None:
    SEEN.clear()
    CLIENT.query("com.example.thing", dict(items))
    expected = HTTPX.build_request(
        "GET", "https://pds.example/xrpc/com.example.thing", params=list(dict(items).items())
    )
    assert expected.url == SEEN[0]

"""The fast validator of generated models against the full one (``lexforge.runtime.lex.fast``).

Differential: on realistic records and on random mutations of them, whenever the fast
validator accepts, the full validator accepts and builds the same model (same values of
the same types, same fields set, same unknown fields); ``model_validate`` raises exactly
the full validator's errors. Plus: the fast validator is the one actually used, and it
is built without disturbing pydantic's own state.
"""

from __future__ import annotations

import copy
import json
import random
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import PydanticSerializationError

from lexforge.generated.models.app.bsky.actor import profile
from lexforge.generated.models.app.bsky.feed import post
from lexforge.generated.models.app.bsky.richtext import facet
from lexforge.generated.models.com.atproto.repo import list_records, strong_ref
from lexforge.runtime.data import CID
from lexforge.runtime.lex import LexModel
from lexforge.runtime.lex.model import _fast_validator
from lexforge.runtime.syntax import LENIENT_CONTEXT_KEY, AtUri, Datetime, Did
from tests.codegen.cases.data_types.expected.models.com.example.data import everything
from tests.codegen.cases.unions.expected.models.com.example.unions import feed

DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
CID_TEXT = "bafyreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"
BLOB_CID = "bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"
URI = f"at://{DID}/app.bsky.feed.post/3kqjs5lbz7s2a"


def blob(mime: str = "image/jpeg", size: int = 1000) -> dict[str, Any]:
    return {"$type": "blob", "ref": {"$link": BLOB_CID}, "mimeType": mime, "size": size}


def realistic_posts(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    words = ["the", "fox", "jumps", "bluesky", "é", "👍🏽", "👨‍👩‍👧", "\r\n", "日本"]
    out = []
    for i in range(n):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 30)))
        month, day = rng.randint(1, 12), rng.randint(1, 31)
        when = f"2024-{month:02}-{min(day, 29 if month == 2 else 30 + (month + month // 8) % 2):02}"
        zone = rng.choice(["Z", "Z", "+09:00", "-07:00", "+00:00"])
        record: dict[str, Any] = {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": f"{when}T{rng.randint(0, 23):02}:{rng.randint(0, 59):02}:00."
            f"{i % 1000:03}{zone}",
        }
        if rng.random() < 0.5:
            record["langs"] = rng.sample(
                ["en", "ja", "pt-BR", "zh-Hant", "es-419"], rng.randint(1, 3)
            )
        if rng.random() < 0.3:
            ref = {"uri": URI, "cid": CID_TEXT}
            record["reply"] = {"root": ref, "parent": dict(ref)}
        if rng.random() < 0.3:
            record["facets"] = [
                {
                    "index": {"byteStart": 0, "byteEnd": 3},
                    "features": [
                        rng.choice(
                            [
                                {"$type": "app.bsky.richtext.facet#mention", "did": DID},
                                {"$type": "app.bsky.richtext.facet#link", "uri": "https://a.b/c"},
                                {"$type": "app.bsky.richtext.facet#tag", "tag": "python"},
                                {"$type": "com.example.future#thing", "x": 1},
                            ]
                        )
                    ],
                }
            ]
        kind = rng.random()
        if kind < 0.2:
            record["embed"] = {
                "$type": "app.bsky.embed.images",
                "images": [
                    {"alt": "", "image": blob(rng.choice(["image/jpeg", "image/png"]))}
                    for _ in range(rng.randint(1, 4))
                ],
            }
        elif kind < 0.3:
            record["embed"] = {
                "$type": "app.bsky.embed.external",
                "external": {"uri": "https://example.com/a", "title": "t", "description": "d"},
            }
        elif kind < 0.35:
            record["embed"] = {"$type": "com.example.embed#future", "anything": [1, "x"]}
        if rng.random() < 0.1:
            record["unknownField"] = {"nested": [1, 2, {"$link": CID_TEXT}]}
        if rng.random() < 0.1:
            record["tags"] = ["a" * rng.randint(1, 64)]
        out.append(record)
    return out


def leaves(model: object) -> Iterator[tuple[str, type[Any], object]]:
    """Every value in a validated model, with its exact type (fields, extras, nested)."""
    if isinstance(model, pydantic.BaseModel):
        yield "fields_set", frozenset, frozenset(model.model_fields_set)
        for name, value in vars(model).items():
            for path, kind, leaf in leaves(value):
                yield f"{name}.{path}", kind, leaf
        for name, value in (model.__pydantic_extra__ or {}).items():
            yield f"extra:{name}", type(value), value
    elif isinstance(model, list):
        for i, item in enumerate(model):
            for path, kind, leaf in leaves(item):
                yield f"{i}.{path}", kind, leaf
    else:
        yield "", type(model), model


def outcome(validate: Any, data: object) -> tuple[str, object]:
    try:
        model = validate(data)
    except pydantic.ValidationError as exc:
        return "error", exc.errors(include_url=False)
    return "ok", model


def same_model(a: object, b: object) -> None:
    assert type(a) is type(b)
    assert list(leaves(a)) == list(leaves(b))
    assert isinstance(a, pydantic.BaseModel)
    assert isinstance(b, pydantic.BaseModel)
    assert a.model_dump() == b.model_dump()
    assert dumped(a) == dumped(b)


def dumped(model: pydantic.BaseModel) -> str:
    """The JSON form, or the serialisation error (a lone surrogate or a non-string
    ``$type`` validates in Python but has no JSON form: the same for both validators)."""
    try:
        return model.model_dump_json()
    except PydanticSerializationError as exc:
        return f"error: {exc}"


def agree(model: type[LexModel], data: object) -> str:
    """Fast and full validators agree on ``data`` (Python and JSON input)."""
    fast = _fast_validator(model)
    full = model.__pydantic_validator__
    kind, full_result = outcome(full.validate_python, data)
    fast_kind, fast_result = outcome(fast.validate_python, data)
    if fast_kind == "ok":
        assert kind == "ok", (data, full_result)
        same_model(fast_result, full_result)
    # What callers see is the full validator's verdict, errors included.
    assert outcome(model.model_validate, data) == (kind, full_result) or (
        kind == "ok" and same_model(outcome(model.model_validate, data)[1], full_result) is None
    )
    try:
        text = json.dumps(data)
    except (TypeError, ValueError):
        return kind
    kind_json, full_json = outcome(full.validate_json, text)
    fast_kind_json, fast_json = outcome(fast.validate_json, text)
    if fast_kind_json == "ok":
        assert kind_json == "ok", (text, full_json)
        same_model(fast_json, full_json)
    mine = outcome(model.model_validate_json, text)
    assert mine[0] == kind_json
    if kind_json == "ok":
        same_model(mine[1], full_json)
    else:
        assert mine[1] == full_json
    return kind


def test_realistic_posts_take_the_fast_path_and_agree() -> None:
    posts = realistic_posts(400)
    fast = _fast_validator(post.Record)
    taken = 0
    for record in posts:
        assert agree(post.Record, record) == "ok", record
        try:
            fast.validate_python(record)
        except pydantic.ValidationError:
            continue
        taken += 1
    # Everything here is valid; only shapes outside every fast form may need the full
    # validator (none of these do).
    assert taken == len(posts)


# --- mutations ----------------------------------------------------------------------------

TRICKY: list[object] = [
    "",
    "x",
    "a" * 301,
    "\r\n" * 300,
    "👍🏽" * 301,
    "e\u0301" * 300,
    "\ud800",
    "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
    "did:PLC:x",
    "DID:plc:x",
    "did:web:example.com",
    URI,
    URI.upper(),
    f"at://{DID}/",
    "at://alice.example.com/app.bsky.feed.post/3kqjs5lbz7s2a",
    CID_TEXT,
    "QmNotACid",
    "2024-02-29T12:00:00Z",
    "2023-02-29T12:00:00Z",
    "2024-04-31T12:00:00Z",
    "2024-05-01T12:00:00-00:00",
    "0000-01-01T00:00:00+01:00",
    "2024-05-01 12:00:00Z",
    "en",
    "EN",
    "jaja",
    "i-default",
    "https://example.com",
    "https:///x",
    "app.bsky.feed.post",
    "App.Bsky.feed.post",
    "blob",
    "image/PNG",
    "text/plain",
    0,
    -1,
    1.0,
    2**53,
    True,
    None,
    [],
    {},
    ["en", "ja", "pt", "de"],
    {"$type": "app.bsky.embed.images", "images": []},
    {"$type": "app.bsky.embed.images"},
    {"$type": "com.example.new#thing"},
    {"$type": 1},
    {"$link": CID_TEXT},
    {"$bytes": "AAEC"},
    blob(),
    blob("IMAGE/JPEG"),
    blob("image/jpeg", 2_000_001),
    blob("image/jpeg", -1),
    {**blob(), "ref": CID.parse(BLOB_CID)},
    {**blob(), "ref": CID.parse(CID_TEXT)},
    {**blob(), "ref": {"$link": CID_TEXT}},
    {**blob(), "extra": 1},
    {"cid": CID_TEXT, "mimeType": "image/png"},
    {"uri": URI, "cid": CID_TEXT},
    {"uri": URI, "cid": CID_TEXT, "$type": "com.atproto.repo.strongRef"},
    {"uri": URI, "cid": CID_TEXT, "$type": "other"},
    strong_ref.Main(uri=AtUri(URI), cid=CID_TEXT),  # type: ignore[arg-type]
    facet.Mention(did=Did(DID)),
]


def paths(value: object, prefix: tuple[object, ...] = ()) -> Iterator[tuple[object, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from paths(item, (*prefix, i))


def replaced(value: Any, path: tuple[object, ...], new: object) -> Any:
    if not path:
        return new
    out = copy.copy(value)
    out[path[0]] = replaced(value[path[0]], path[1:], new)
    return out


SAMPLES = realistic_posts(40, seed=11)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_mutated_posts_agree(data: st.DataObject) -> None:
    record = data.draw(st.sampled_from(SAMPLES))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(list(paths(record))))
        choice = data.draw(st.sampled_from([*TRICKY, "drop", "add"]))
        if choice == "drop" and path:
            parent = replaced(record, (), record)
            target = parent
            for step in path[:-1]:
                target = target[step]
            record = replaced(record, path[:-1], _without(target, path[-1]))
        elif choice == "add" and isinstance(record, dict):
            record = {**record, data.draw(st.sampled_from(["x", "$type", "text", "py_type"])): 1}
        elif choice in ("add", "drop"):
            continue
        else:
            record = replaced(record, path, choice)
    agree(post.Record, record)


def _without(container: Any, key: object) -> Any:
    if isinstance(container, dict):
        return {k: v for k, v in container.items() if k != key}
    return [v for i, v in enumerate(container) if i != key]


EVERYTHING_FIELDS = [
    "avatar",
    "media",
    "anyBlob",
    "sig",
    "raw",
    "link",
    "payload",
    "count",
    "short",
    "list",
    "atIdentifier",
    "atUri",
    "cid",
    "createdAt",
    "did",
    "handle",
    "language",
    "nsid",
    "recordKey",
    "tid",
    "uri",
]


@settings(max_examples=400, deadline=None)
@given(
    fields=st.dictionaries(
        st.sampled_from(EVERYTHING_FIELDS),
        st.sampled_from(
            [
                *TRICKY,
                blob("image/png"),
                blob("video/mp4"),
                blob("video/webm"),
                blob("image/png", 1_000_001),
                "alice.example.com",
                "Alice.Example.com",
                "3kqjs5lbz7s2a",
                "self",
                "..",
                "ab",
                "abcd",
                "👍🏽👍🏽👍🏽",
                "👍🏽👍🏽👍🏽👍🏽",
                [0],
                [0, 1, 2],
                5,
                6,
            ]
        ),
        max_size=4,
    )
)
def test_every_type_and_format_agree(fields: dict[str, object]) -> None:
    agree(
        everything.Record,
        {"$type": "com.example.data.everything", "createdAt": "2024-01-01T00:00:00Z", **fields},
    )


@pytest.mark.parametrize(
    "record",
    [
        {"embed": {"$type": "x.y.z#new", "n": 1}},
        {"embed": {"$type": "com.example.unions.feed#image"}},
        {"embed": {"alt": "no type"}},
        {"embed": {"$type": "com.example.unions.media#video", "length": 3}},
        {"strict": {"$type": "x.y.z", "title": "t"}},
        {
            "embed": {"$type": "com.example.unions.feed#image", "alt": "a"},
            "strict": {"$type": "com.example.unions.media", "title": "t"},
        },
    ],
)
def test_unions_agree(record: dict[str, Any]) -> None:
    agree(feed.Record, {"$type": "com.example.unions.feed", **record})


def test_profile_and_list_records_agree() -> None:
    agree(
        profile.Record,
        {"$type": "app.bsky.actor.profile", "displayName": "Al", "avatar": blob("image/png")},
    )
    agree(
        list_records.Output,
        {"records": [{"uri": URI, "cid": CID_TEXT, "value": SAMPLES[0]}], "cursor": "x"},
    )


# --- the fast validator is used, and built cleanly --------------------------------------------


def test_a_plain_post_runs_no_python_check() -> None:
    record = {
        "$type": "app.bsky.feed.post",
        "text": "hello",
        "createdAt": "2024-05-01T12:00:00.000Z",
        "langs": ["en"],
        "reply": {"root": {"uri": URI, "cid": CID_TEXT}, "parent": {"uri": URI, "cid": CID_TEXT}},
    }
    post.Record.model_validate(record)
    calls: list[str] = []

    def spy(frame: Any, event: str, arg: object) -> None:
        if event == "call" and "runtime/lex" in frame.f_code.co_filename.replace("\\", "/"):
            calls.append(frame.f_code.co_name)

    sys.setprofile(spy)
    try:
        model = post.Record.model_validate(record)
    finally:
        sys.setprofile(None)
    assert calls in ([], ["model_validate"], ["entry"])  # C entry, generic, pure-Python entry
    assert isinstance(model.created_at, Datetime)
    assert isinstance(model.reply and model.reply.root.uri, AtUri)


def test_building_restores_pydantic_state() -> None:
    ref = {"uri": URI, "cid": CID_TEXT}
    post.ReplyRef.model_validate({"root": ref, "parent": ref})
    strong_ref.Main.model_validate(ref)
    assert strong_ref.Main.__pydantic_complete__ is True

    class Sub(strong_ref.Main):
        pass

    before = {c: c.__dict__.get("__pydantic_complete__") for c in (strong_ref.Main, post.ReplyRef)}
    sub = Sub.model_validate(ref)
    assert type(sub) is Sub
    assert type(Sub.model_validate_json(json.dumps(ref))) is Sub
    assert {c: c.__dict__.get("__pydantic_complete__") for c in before} == before
    # The parent class keeps its own fast validator; the subclass got another.
    assert type(strong_ref.Main.model_validate(ref)) is strong_ref.Main
    assert Sub.__lexforge_fast__[0] is Sub
    assert strong_ref.Main.__lexforge_fast__[0] is strong_ref.Main


def test_options_and_context_go_through_the_full_validator() -> None:
    lenient = {"$type": "app.bsky.feed.post", "text": "x", "createdAt": "2024-05-01 12:00"}
    with pytest.raises(pydantic.ValidationError):
        post.Record.model_validate(lenient)
    model = post.Record.model_validate(lenient, context={LENIENT_CONTEXT_KEY: True})
    assert model.created_at == "2024-05-01 12:00"
    as_json = json.dumps(lenient)
    assert post.Record.model_validate_json(as_json, context={LENIENT_CONTEXT_KEY: True})
    with pytest.raises(pydantic.ValidationError):
        post.Record.model_validate({"text": 1, "createdAt": "2024-05-01T12:00:00Z"}, strict=False)
    assert post.Record.model_validate(
        {"text": "1", "createdAt": "2024-05-01T12:00:00Z"}, by_alias=True
    )


def test_concurrent_first_use() -> None:
    class Fresh(strong_ref.Main):
        pass

    results: list[object] = []

    def work() -> None:
        results.append(Fresh.model_validate({"uri": URI, "cid": CID_TEXT}))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    assert all(type(r) is Fresh for r in results)

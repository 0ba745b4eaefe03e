"""Probes on the generated official models: the rules other SDKs get wrong.

The incumbent Python SDK counts characters instead of graphemes or UTF-8 bytes, never
checks blob MIME types or sizes, and drops most lexicon defaults. Each probe here is one
such rule, on the real generated classes.
"""

from __future__ import annotations

import importlib
import json
from collections import Counter
from typing import Any

import pydantic
import pytest

from lexforge.generated.models.app.bsky.actor import profile
from lexforge.generated.models.app.bsky.embed import external, images, video
from lexforge.generated.models.app.bsky.feed import get_timeline, post, threadgate
from lexforge.generated.models.app.bsky.graph import get_followers
from lexforge.generated.models.com.atproto.label import defs as label_defs
from lexforge.generated.models.com.atproto.repo import create_record, list_records
from lexforge.generated.models.com.atproto.sync import subscribe_repos
from lexforge.runtime.lex import UnknownObject

DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
CID = "bafyreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"
BLOB_CID = "bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"
WHEN = "2024-01-01T00:00:00.000Z"


def errors(model: type[pydantic.BaseModel], data: object) -> set[str]:
    try:
        model.model_validate(data)
    except pydantic.ValidationError as exc:
        return {e["type"] for e in exc.errors()}
    return set()


def a_post(text: str, **extra: Any) -> dict[str, Any]:
    return {"$type": "app.bsky.feed.post", "text": text, "createdAt": WHEN, **extra}


def a_blob(mime: str, size: int) -> dict[str, Any]:
    return {"$type": "blob", "ref": {"$link": BLOB_CID}, "mimeType": mime, "size": size}


# --- text: 300 graphemes, 3000 UTF-8 bytes ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("a" * 300, True),
        ("a" * 301, False),
        ("👍🏽" * 300, True),  # 300 graphemes of 2 code points, 8 bytes each: 2400 bytes
        ("👍🏽" * 301, False),
        ("e\u0301" * 300, True),  # combining accent: 600 code points, 300 graphemes
        ("e\u0301" * 301, False),
        ("👨‍👩‍👧‍👦" * 120, True),  # 120 graphemes, 25 bytes each = 3000 bytes
        ("👨‍👩‍👧‍👦" * 121, False),  # 121 graphemes but 3025 bytes: over the byte limit
        ("\r\n" * 300, True),  # CR LF is one grapheme
        ("", True),
    ],
)
def test_post_text_graphemes_and_bytes(text: str, ok: bool) -> None:
    assert (not errors(post.Record, a_post(text))) is ok


def test_byte_limit_is_checked_with_graphemes_under_limit() -> None:
    # 150 graphemes (fine) of 25 bytes each = 3750 bytes: rejected on bytes alone.
    assert errors(post.Record, a_post("👨‍👩‍👧‍👦" * 150)) == {"lex_max_length"}


def test_tag_limits() -> None:
    assert not errors(post.Record, a_post("x", tags=["a" * 64]))
    assert errors(post.Record, a_post("x", tags=["a" * 65])) == {"lex_max_graphemes"}
    assert errors(post.Record, a_post("x", tags=["t"] * 9)) == {"too_long"}


def test_langs_limit_and_format() -> None:
    assert not errors(post.Record, a_post("x", langs=["en", "pt-BR", "ja"]))
    assert errors(post.Record, a_post("x", langs=["en", "de", "fr", "es"])) == {"too_long"}
    assert errors(post.Record, a_post("x", langs=["jaja"])) == {"invalid_language"}


# --- blobs: accept and maxSize ----------------------------------------------------------


def image_embed(mime: str, size: int) -> dict[str, Any]:
    return {"$type": "app.bsky.embed.images", "images": [{"alt": "", "image": a_blob(mime, size)}]}


@pytest.mark.parametrize(
    ("mime", "size", "expected"),
    [
        ("image/jpeg", 2_000_000, set()),
        ("image/webp", 10, set()),  # image/* accepts any image type
        ("text/html", 10, {"lex_blob_accept"}),
        ("video/mp4", 10, {"lex_blob_accept"}),
        ("image/png", 2_000_001, {"lex_blob_size"}),  # maxSize 2000000
    ],
)
def test_embed_image_blob_rules(mime: str, size: int, expected: set[str]) -> None:
    assert errors(post.Record, a_post("x", embed=image_embed(mime, size))) == expected


def test_profile_avatar_accepts_only_png_and_jpeg() -> None:
    assert not errors(profile.Record, {"avatar": a_blob("image/png", 100)})
    assert errors(profile.Record, {"avatar": a_blob("image/gif", 100)}) == {"lex_blob_accept"}


def test_video_blob() -> None:
    ok = {"$type": "app.bsky.embed.video", "video": a_blob("video/mp4", 1000)}
    assert not errors(video.Main, ok)
    bad = {**ok, "video": a_blob("image/png", 1000)}
    assert errors(video.Main, bad) == {"lex_blob_accept"}


# --- defaults ---------------------------------------------------------------------------------


def test_defaults_are_applied() -> None:
    assert get_timeline.Params.model_validate({}).limit == 50
    assert get_followers.Params.model_validate({"actor": DID}).limit == 50
    assert (
        list_records.Params.model_validate({"repo": DID, "collection": "app.bsky.feed.post"}).limit
        == 50
    )
    assert (
        label_defs.LabelValueDefinition.model_validate(
            {"identifier": "x", "severity": "inform", "blurs": "none", "locales": []}
        ).default_setting
        == "warn"
    )


def test_defaults_are_not_written_back() -> None:
    value = label_defs.LabelValueDefinition.model_validate(
        {"identifier": "x", "severity": "inform", "blurs": "none", "locales": []}
    )
    assert "defaultSetting" not in value.to_json()


def _lexicon_defaults() -> Counter[tuple[str, str, object]]:
    """Every property ``default`` in the official lexicon files, read straight from the
    JSON (not through the compiler): ``(nsid, property, value)``."""
    from tests.codegen.conftest import OFFICIAL

    found: Counter[tuple[str, str, object]] = Counter()

    def walk(nsid: str, node: object) -> None:
        if isinstance(node, dict):
            for name, prop in (node.get("properties") or {}).items():
                if isinstance(prop, dict) and "default" in prop:
                    found[(nsid, name, prop["default"])] += 1
            for value in node.values():
                walk(nsid, value)
        elif isinstance(node, list):
            for value in node:
                walk(nsid, value)

    for path in sorted(OFFICIAL.rglob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        walk(doc["id"], doc["defs"])
    return found


def test_every_lexicon_default_reaches_its_model() -> None:
    """Every default of the official set is on its generated field and applied.

    The set has 146 property defaults (a plain count of the string ``"default"`` finds
    148: two are the known value ``"default"`` of app.bsky.embed.video). The JSON is
    walked independently of the compiler, so a default lost while lowering fails here.
    """
    from lexforge.codegen.pipeline import compile_lexicons
    from tests.codegen.conftest import OFFICIAL

    expected = _lexicon_defaults()
    assert sum(expected.values()) == 146
    program = compile_lexicons([OFFICIAL]).program
    seen: Counter[tuple[str, str, object]] = Counter()
    for module in program.modules:
        generated = importlib.import_module(module.module)
        for model in module.models:
            cls = getattr(generated, model.name)
            for f in model.fields:
                if f.default is None:
                    continue
                seen[(module.nsid, f.wire_name, f.default)] += 1
                field = cls.model_fields[f.name]
                assert field.default == f.default, (model.ref, f.name)
                assert type(field.default) is type(f.default), (model.ref, f.name)
    assert seen == expected


def test_defaults_fill_absent_fields_on_validation() -> None:
    """Applied when the field is absent (not only declared), for params, inputs, outputs
    and objects alike."""
    from lexforge.generated.models.app.bsky.actor import defs as actor_defs
    from lexforge.generated.models.app.bsky.graph import get_suggested_follows_by_actor
    from lexforge.generated.models.chat.bsky.group import create_join_link

    assert actor_defs.AdultContentPref.model_validate({}).enabled is False
    muted = actor_defs.MutedWord.model_validate({"value": "x", "targets": ["tag"]})
    assert muted.actor_target == "all"
    assert get_timeline.Params.model_validate({}).limit == 50
    output = get_suggested_follows_by_actor.Output.model_validate({"suggestions": []})
    assert output.is_fallback is False
    body = create_join_link.Input.model_validate({"convoId": "c", "joinRule": "anyone"})
    assert body.require_approval is False


# --- strictness, unions, round trips ---------------------------------------------------------


@pytest.mark.parametrize("value", ["12", 12.0, True, None])
def test_integers_are_strict(value: object) -> None:
    assert errors(get_timeline.Params, {"limit": value})


def test_integer_bounds() -> None:
    assert errors(get_timeline.Params, {"limit": 0}) == {"greater_than_equal"}
    assert errors(get_timeline.Params, {"limit": 101}) == {"less_than_equal"}


def test_open_union_keeps_unknown_embed() -> None:
    data = a_post("x", embed={"$type": "com.example.embed#new", "anything": [1, 2]})
    record = post.Record.model_validate(data)
    assert isinstance(record.embed, UnknownObject)
    assert record.to_json() == data


def test_union_member_without_type_is_rejected() -> None:
    assert errors(post.Record, a_post("x", embed={"images": []})) == {"lex_union"}


def test_open_union_in_array_keeps_unknown_rules() -> None:
    # threadgate.allow is an array of an open union: unknown rules are kept as data.
    data = {
        "$type": "app.bsky.feed.threadgate",
        "post": f"at://{DID}/app.bsky.feed.post/3k2a",
        "createdAt": WHEN,
        "allow": [{"$type": "x.y.z#rule"}],
    }
    assert not errors(threadgate.Record, data)


def test_record_json_and_cbor_round_trip() -> None:
    from lexforge.runtime.data import decode, encode

    data = a_post(
        "hello 👋🏽",
        langs=["en"],
        embed={
            "$type": "app.bsky.embed.external",
            "external": {"uri": "https://example.com", "title": "t", "description": "d"},
        },
        reply={
            "root": {"uri": f"at://{DID}/app.bsky.feed.post/3kqjs5lbz7s2a", "cid": CID},
            "parent": {"uri": f"at://{DID}/app.bsky.feed.post/3kqjs5lbz7s2a", "cid": CID},
        },
        somethingNew={"kept": True},
    )
    record = post.Record.model_validate(data)
    assert isinstance(record.embed, external.Main)
    assert record.to_json() == data
    block = encode(record.to_data())
    assert encode(post.Record.model_validate(decode(block)).to_data()) == block


def test_identifier_fields_keep_their_exact_text() -> None:
    """Handles, NSIDs and AT-URI authorities are case-insensitive, but a model holds
    record data: validating must not rewrite them, or JSON and DAG-CBOR round trips (and
    CIDs) change. ``Handle.parse`` is where normalisation lives."""
    from lexforge.generated.models.app.bsky.actor import defs as actor_defs
    from lexforge.generated.models.app.bsky.feed import like
    from lexforge.runtime.data import decode, encode

    view = {"did": DID, "handle": "Alice.Example.COM"}
    assert actor_defs.ProfileViewBasic.model_validate(view).to_json() == view
    data = {
        "$type": "app.bsky.feed.like",
        "subject": {"uri": "at://Alice.Example.COM/app.bsky.feed.post/3kqjs5lbz7s2a", "cid": CID},
        "createdAt": WHEN,
    }
    record = like.Record.model_validate(data)
    assert record.to_json() == data
    block = encode(record.to_data())
    assert encode(like.Record.model_validate(decode(block)).to_data()) == block


def test_built_record_gets_type_and_wire_names() -> None:
    record = post.Record(text="hi", created_at=WHEN, embed=images.Main(images=[]))  # type: ignore[arg-type]
    assert record.to_json() == {
        "$type": "app.bsky.feed.post",
        "text": "hi",
        "embed": {"$type": "app.bsky.embed.images", "images": []},
        "createdAt": WHEN,
    }


def test_xrpc_module_shapes() -> None:
    assert create_record.NSID == "com.atproto.repo.createRecord"
    assert create_record.InvalidSwapError.error == "InvalidSwap"
    body = create_record.Input.model_validate(
        {"repo": DID, "collection": "app.bsky.feed.post", "record": a_post("x"), "validate": True}
    )
    assert body.validate_ is True
    assert isinstance(body.record, UnknownObject)
    assert set(subscribe_repos.MESSAGE_TYPES) == {
        "#commit",
        "#sync",
        "#identity",
        "#account",
        "#info",
    }


def test_a_record_model_can_fill_an_unknown_field() -> None:
    record = post.Record(text="hi", created_at=WHEN)  # type: ignore[arg-type]
    body = create_record.Input(repo=DID, collection="app.bsky.feed.post", record=record)  # type: ignore[arg-type]
    assert body.to_json()["record"] == {
        "$type": "app.bsky.feed.post",
        "text": "hi",
        "createdAt": WHEN,
    }


def test_permission_set_module_says_what_it_grants() -> None:
    from lexforge.generated.models.app.bsky import auth_view_all

    assert (auth_view_all.__doc__ or "").startswith(
        "Permission set: Read-only access to all content\n\nView Bluesky network content"
    )

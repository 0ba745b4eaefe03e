"""Probes on the generated official models: the rules other SDKs get wrong.

The incumbent Python SDK counts characters instead of graphemes or UTF-8 bytes, never
checks blob MIME types or sizes, and drops most lexicon defaults. Each probe here is one
such rule, on the real generated classes.
"""

from __future__ import annotations

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


def test_every_lexicon_default_reaches_its_model() -> None:
    """All 148 defaults of the official set are on the generated fields."""
    from lexforge.codegen.pipeline import compile_lexicons
    from lexforge.generated.models import _index
    from tests.codegen.conftest import ROOT

    program = compile_lexicons([ROOT / "lexicons"]).program
    seen = 0
    for module in program.modules:
        for model in module.models:
            cls = getattr(__import__(module.module, fromlist=["_"]), model.name)
            for f in model.fields:
                if f.default is not None:
                    seen += 1
                    assert cls.model_fields[f.name].default == f.default, (model.ref, f.name)
    assert seen >= 140
    assert _index.PACKAGE == "lexforge.generated.models"


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

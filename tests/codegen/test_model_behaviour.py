"""Behaviour of generated models, on the golden case packages (one feature each)."""

from __future__ import annotations

import pydantic
import pytest

from lexforge.runtime.data import CID, decode, encode
from lexforge.runtime.data.blob import Blob
from lexforge.runtime.lex import UnknownObject
from lexforge.runtime.syntax import AtUri, Datetime, Did
from tests.codegen.cases.cycles.expected.models.com.example.cycles import a as cycles_a
from tests.codegen.cases.cycles.expected.models.com.example.cycles import b as cycles_b
from tests.codegen.cases.data_types.expected.models.com.example.data import everything
from tests.codegen.cases.known_values.expected.models.com.example.values import defs as values
from tests.codegen.cases.names.expected.models.com.example.names import collide, import_
from tests.codegen.cases.nested.expected.models.com.example.nested import thing
from tests.codegen.cases.official_refs.expected.models.com.example.official import like
from tests.codegen.cases.unions.expected.models.com.example.unions import feed, media
from tests.codegen.cases.xrpc.expected.models.com.example.xrpc import (
    get_thing,
    put_thing,
    subscribe,
    upload,
)

CID_TEXT = "bafyreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"
BLOB_CID = "bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"
DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"


def error_types(exc: pydantic.ValidationError) -> set[str]:
    return {e["type"] for e in exc.errors()}


def invalid(model: type[pydantic.BaseModel], data: object) -> set[str]:
    with pytest.raises(pydantic.ValidationError) as info:
        model.model_validate(data)
    return error_types(info.value)


# --- unions -----------------------------------------------------------------------------


def test_open_union_keeps_unknown_members_as_data() -> None:
    data = {"$type": "com.example.unions.feed", "embed": {"$type": "x.y.z#new", "n": 1}}
    record = feed.Record.model_validate(data)
    assert isinstance(record.embed, UnknownObject)
    assert record.embed.py_type == "x.y.z#new"
    assert record.to_json() == data


def test_open_union_validates_known_members() -> None:
    data = {"$type": "com.example.unions.feed", "embed": {"$type": "com.example.unions.feed#image"}}
    assert "missing" in invalid(feed.Record, data)
    ok = feed.Record.model_validate(
        {"embed": {"$type": "com.example.unions.media#video", "length": 3}}
    )
    assert isinstance(ok.embed, media.Video)


@pytest.mark.parametrize("embed", [{"alt": "no type"}, "text", 1, None, [{"$type": "a.b.c"}]])
def test_union_members_need_type(embed: object) -> None:
    assert invalid(feed.Record, {"embed": embed}) & {"lex_union", "model_type"}


def test_closed_union_rejects_unknown_members() -> None:
    base = {"embed": {"$type": "com.example.unions.feed#image", "alt": "a"}}
    ok = feed.Record.model_validate(
        {**base, "strict": {"$type": "com.example.unions.media", "title": "t"}}
    )
    assert isinstance(ok.strict, media.Record)
    assert invalid(feed.Record, {**base, "strict": {"$type": "x.y.z", "title": "t"}}) == {
        "lex_union"
    }


def test_single_member_closed_union() -> None:
    base = {"embed": {"$type": "com.example.unions.feed#image", "alt": "a"}}
    ok = feed.Record.model_validate(
        {**base, "single": {"$type": "com.example.unions.feed#image", "alt": "b"}}
    )
    assert isinstance(ok.single, feed.Image)
    assert invalid(feed.Record, {**base, "single": {"alt": "b"}}) == {"lex_union"}


def test_empty_open_union_is_any_typed_object() -> None:
    base = {"embed": {"$type": "com.example.unions.feed#image", "alt": "a"}}
    ok = feed.Record.model_validate({**base, "anything": {"$type": "q.r.s", "v": [1]}})
    assert ok.anything == {"$type": "q.r.s", "v": [1]}
    assert invalid(feed.Record, {**base, "anything": {"v": 1}}) == {"lex_union"}


def test_union_in_array_and_type_added_on_serialisation() -> None:
    record = feed.Record(
        embed=feed.Image(alt="x"),
        items=[media.Video(length=1), feed.Image(alt="y")],
    )
    data = record.to_json()
    assert data == {
        "$type": "com.example.unions.feed",
        "embed": {"$type": "com.example.unions.feed#image", "alt": "x"},
        "items": [
            {"$type": "com.example.unions.media#video", "length": 1},
            {"$type": "com.example.unions.feed#image", "alt": "y"},
        ],
    }
    assert feed.Record.model_validate(data).to_json() == data
    assert invalid(feed.Record, {**data, "items": [data["embed"]] * 5}) == {"too_long"}


def test_docstring_with_quotes_and_backslashes_survives() -> None:
    assert media.Video.__doc__ == 'A video "clip"; descriptions with """ and \\ survive."'


# --- knownValues, enums, const, defaults, tokens --------------------------------------


def test_tokens_are_constants() -> None:
    assert values.SPAM == "com.example.values.defs#spam"
    assert values.RUDE == "com.example.values.defs#rude"


def test_defaults_are_applied_but_not_written() -> None:
    settings = values.Settings.model_validate({})
    assert (settings.sort, settings.level, settings.limit, settings.enabled) == (
        "latest",
        2,
        50,
        True,
    )
    assert settings.to_json() == {}


def test_known_values_stay_open_and_enums_closed() -> None:
    assert values.Settings.model_validate({"sort": "anything"}).sort == "anything"
    assert values.Settings.model_validate({"reason": "other.reason"}).reason == "other.reason"
    assert values.Settings.model_validate({"mode": "a"}).mode == "a"
    assert invalid(values.Settings, {"mode": "c"}) == {"literal_error"}
    assert invalid(values.Settings, {"level": 4}) == {"literal_error"}


def test_const_values() -> None:
    ok = values.Settings.model_validate({"fixed": False, "kind": "settings", "version": 3})
    assert ok.fixed is False
    assert invalid(values.Settings, {"fixed": True}) == {"literal_error"}
    assert invalid(values.Settings, {"kind": "other"}) == {"literal_error"}
    assert invalid(values.Settings, {"version": 4}) == {"literal_error"}


def test_integer_bounds() -> None:
    assert invalid(values.Settings, {"limit": 0}) == {"greater_than_equal"}
    assert invalid(values.Settings, {"limit": 101}) == {"less_than_equal"}


# --- nested objects, required/nullable ----------------------------------------------------


def test_inline_objects() -> None:
    data = {
        "point": {"x": 1, "label": {"text": "hi"}},
        "corners": [{"x": 0, "y": 0}],
        "maybe": None,
        "tags": ["a"],
        "empty": {},
    }
    main = thing.Main.model_validate(data)
    assert isinstance(main.point, thing.MainPoint)
    assert isinstance(main.point.label, thing.MainPointLabel)
    assert isinstance(main.corners and main.corners[0], thing.MainCornersItem)
    assert main.to_json() == data


def test_required_and_nullable_are_independent() -> None:
    base = {"point": {"x": 1}, "tags": ["a"]}
    assert "missing" in invalid(thing.Main, base)  # required, even though nullable
    assert thing.Main.model_validate({**base, "maybe": None}).maybe is None
    ok = thing.Main.model_validate({**base, "maybe": "x", "optionalNull": None})
    assert ok.optional_null is None
    assert ok.to_json() == {**base, "maybe": "x", "optionalNull": None}
    # Optional but not nullable: absent is fine, null is not.
    assert thing.Main.model_validate({**base, "maybe": "x"}).optional is None
    assert invalid(thing.Main, {**base, "maybe": "x", "optional": None}) == {"int_type"}
    assert invalid(thing.Main, {**base, "maybe": "x", "tags": []}) == {"too_short"}


# --- names ----------------------------------------------------------------------------------


def test_keyword_and_reserved_fields_use_aliases() -> None:
    wire = {
        "from": "a",
        "class": 1,
        "import": True,
        "validate": False,
        "schema": "s",
        "copy": "c",
        "json": "j",
        "modelDump": "m",
        "list": ["l"],
        "str": "s",
        "id": "i",
        "type": "t",
        "_private": "p",
        "9lives": 9,
        "pyType": "py",
        "XMLHttpRequest": "x",
        "com_example_names_other": {"x": 1},
    }
    fields = collide.Fields.model_validate(wire)
    assert (fields.from_, fields.class_, fields.import_, fields.validate_) == ("a", 1, True, False)
    assert (fields.list_, fields.str_, fields.private_, fields.f_9lives) == (["l"], "s", "p", 9)
    assert (fields.py_type_, fields.xml_http_request, fields.id, fields.type) == (
        "py",
        "x",
        "i",
        "t",
    )
    assert fields.com_example_names_other is not None
    assert fields.to_json() == wire
    by_name = collide.Fields(from_="a", list_=["l"])
    assert by_name.to_json() == {"from": "a", "list": ["l"]}


def test_inline_units_yield_to_def_names() -> None:
    assert collide.ViewRecord.__name__ == "ViewRecord"
    view = collide.View.model_validate(
        {"record": {"$type": "com.example.names.collide#tag", "name": "n"}, "detail": {}}
    )
    assert isinstance(view.record, collide.Tag)
    assert isinstance(view.detail, collide.ViewDetailObject)
    assert import_.MAIN == "com.example.names.import"


def test_def_named_like_a_runtime_type() -> None:
    assert collide.Did.model_validate({"value": DID}).value == DID
    assert invalid(collide.Did, {"value": "not a did"}) == {"invalid_did"}


# --- cycles -------------------------------------------------------------------------------


def test_module_cycle_resolves() -> None:
    data = {
        "name": "n",
        "peer": {"back": {"name": "m"}, "list": [{"$type": "com.example.cycles.b#node"}]},
        "children": [{"name": "c"}],
        "either": {"$type": "com.example.cycles.b#node", "back": {"name": "z"}},
    }
    node = cycles_a.Node.model_validate(data)
    assert isinstance(node.peer, cycles_b.Node)
    assert isinstance(node.peer.back, cycles_a.Node)
    assert isinstance(node.either, cycles_b.Node)
    assert node.to_json() == data


# --- XRPC ---------------------------------------------------------------------------------


def test_params_defaults_and_aliases() -> None:
    params = get_thing.Params.model_validate({"id": "alice.test"})
    assert (params.limit, params.deep, params.tags) == (50, False, None)
    assert invalid(get_thing.Params, {"id": "alice.test", "tags": ["a"] * 4}) == {"too_long"}
    assert get_thing.NSID == "com.example.xrpc.getThing"


def test_errors_are_declared_error_classes() -> None:
    from lexforge.runtime.xrpc.errors import XrpcDeclaredError

    assert issubclass(get_thing.ThingNotFoundError, XrpcDeclaredError)
    assert get_thing.ThingNotFoundError.error == "ThingNotFound"
    assert get_thing.InternalError.error == "InternalError"
    assert get_thing.Output is get_thing.Thing


def test_procedure_input_output() -> None:
    body = put_thing.Input.model_validate({"thing": {"id": "x"}, "validate": True})
    assert body.validate_ is True
    assert put_thing.Output.model_validate({"cid": CID_TEXT}).cid == CID_TEXT
    assert not hasattr(upload, "Input")


def test_subscription_messages() -> None:
    assert {"#event": subscribe.Event, "#info": subscribe.Info} == subscribe.MESSAGE_TYPES
    event = subscribe.Event.model_validate({"seq": 1, "data": b"abc"})
    assert event.to_data() == {"seq": 1, "data": b"abc"}
    assert event.to_json() == {"seq": 1, "data": {"$bytes": "YWJj"}}
    assert issubclass(subscribe.FutureCursorError, Exception)


# --- data types -----------------------------------------------------------------------------


def blob(mime: str = "image/png", size: int = 1000) -> dict[str, object]:
    return {"$type": "blob", "ref": {"$link": BLOB_CID}, "mimeType": mime, "size": size}


def everything_record(**fields: object) -> dict[str, object]:
    return {"$type": "com.example.data.everything", "createdAt": "2024-01-01T00:00:00Z", **fields}


def test_blob_accept_and_size() -> None:
    ok = everything.Record.model_validate(everything_record(avatar=blob()))
    assert isinstance(ok.avatar, Blob)
    assert ok.avatar.size == 1000
    assert invalid(everything.Record, everything_record(avatar=blob("image/gif"))) == {
        "lex_blob_accept"
    }
    assert invalid(everything.Record, everything_record(avatar=blob(size=1000001))) == {
        "lex_blob_size"
    }
    assert everything.Record.model_validate(everything_record(media=blob("image/webp"))).media
    assert everything.Record.model_validate(everything_record(media=blob("video/mp4"))).media
    assert invalid(everything.Record, everything_record(media=blob("video/webm"))) == {
        "lex_blob_accept"
    }
    assert invalid(everything.Record, everything_record(anyBlob={"mimeType": "x/y"})) == {
        "lex_blob"
    }


def test_legacy_blob_is_kept_as_read() -> None:
    legacy = {"cid": CID_TEXT, "mimeType": "image/png"}
    record = everything.Record.model_validate(everything_record(avatar=legacy))
    assert record.to_json()["avatar"] == legacy


def test_bytes_and_links_in_both_forms() -> None:
    json_form = everything_record(sig={"$bytes": "AAEC"}, link={"$link": CID_TEXT})
    record = everything.Record.model_validate(json_form)
    assert record.sig == b"\x00\x01\x02"
    assert record.link == CID.parse(CID_TEXT)
    assert record.to_json() == json_form
    data = record.to_data()
    assert data["sig"] == b"\x00\x01\x02"
    assert data["link"] == CID.parse(CID_TEXT)
    again = everything.Record.model_validate(decode(encode(data)))
    assert encode(again.to_data()) == encode(data)
    assert invalid(everything.Record, everything_record(sig={"$bytes": "AA"})) == {"lex_min_length"}
    assert invalid(everything.Record, everything_record(sig="AAEC")) == {"lex_bytes"}
    assert invalid(everything.Record, everything_record(link=CID_TEXT)) == {"lex_cid_link"}


@pytest.mark.parametrize(
    "payload",
    [True, "text", 12, [1], {"$link": CID_TEXT}, {"$bytes": "AAEC"}, blob()],
)
def test_unknown_must_be_a_plain_object(payload: object) -> None:
    assert invalid(everything.Record, everything_record(payload=payload)) == {"lex_unknown"}


def test_unknown_keeps_nested_data() -> None:
    payload = {"$type": "x.y.z", "link": {"$link": CID_TEXT}, "img": blob(), "n": [1, {"a": None}]}
    record = everything.Record.model_validate(everything_record(payload=payload))
    assert isinstance(record.payload, UnknownObject)
    assert record.payload["link"] == CID.parse(CID_TEXT)
    assert record.to_json()["payload"] == payload
    assert invalid(everything.Record, everything_record(payload={"f": 1.5})) == {"lex_unknown"}


def test_string_lengths_are_bytes_and_graphemes() -> None:
    assert everything.Record.model_validate(everything_record(short="ab")).short == "ab"
    assert invalid(everything.Record, everything_record(short="a")) == {"lex_min_length"}
    # 3 graphemes, 10 bytes: within both limits.
    assert everything.Record.model_validate(everything_record(short="ééa"))
    assert invalid(everything.Record, everything_record(short="abcd")) == {"lex_max_graphemes"}
    # One grapheme of 11 bytes (family emoji is 25 bytes): over the byte limit.
    assert invalid(everything.Record, everything_record(short="👨‍👩‍👧")) == {"lex_max_length"}


def test_integer_and_array_limits_and_strictness() -> None:
    assert invalid(everything.Record, everything_record(count=6)) == {"less_than_equal"}
    assert invalid(everything.Record, everything_record(count="1")) == {"int_type"}
    assert invalid(everything.Record, everything_record(count=1.0)) == {"int_type"}
    assert invalid(everything.Record, everything_record(count=True)) == {"int_type"}
    assert invalid(everything.Record, everything_record(list=[])) == {"too_short"}
    assert invalid(everything.Record, everything_record(list=[1, 2, 3])) == {"too_long"}
    assert invalid(everything.Record, everything_record(list=[-1])) == {"greater_than_equal"}


FORMATS = {
    "atIdentifier": ("alice.example.com", "not an identifier"),
    "atUri": (f"at://{DID}/app.bsky.feed.post/3kqjs5lbz7s2a", "https://example.com"),
    "cid": (CID_TEXT, "QmNotACid"),
    "did": (DID, "did:PLC:x y"),
    "handle": ("alice.example.com", "-alice.com"),
    "language": ("pt-BR", "jaja"),
    "nsid": ("com.example.fooBar", "com.example"),
    "recordKey": ("self", ".."),
    "tid": ("3kqjs5lbz7s2a", "3kqjs5lbz7s2"),
    "uri": ("https://example.com/path", "not a uri"),
    "createdAt": ("2024-02-29T12:00:00.123456+05:30", "2024-02-30T12:00:00Z"),
}


@pytest.mark.parametrize("field", sorted(FORMATS))
def test_every_string_format(field: str) -> None:
    good, bad = FORMATS[field]
    record = everything.Record.model_validate(everything_record(**{field: good}))
    assert record.to_json()[field] == good
    errors = invalid(everything.Record, everything_record(**{field: bad}))
    assert len(errors) == 1
    assert errors.pop().startswith("invalid_")


def test_format_values_are_syntax_types() -> None:
    record = everything.Record.model_validate(
        everything_record(did=DID, atUri=f"at://{DID}/app.bsky.feed.post/3kqjs5lbz7s2a")
    )
    assert isinstance(record.did, Did)
    assert isinstance(record.created_at, Datetime)
    assert isinstance(record.at_uri, AtUri)
    assert record.at_uri.collection == "app.bsky.feed.post"


def test_record_carries_type_and_key() -> None:
    record = everything.Record(created_at=Datetime("2024-01-01T00:00:00Z"))
    assert record.to_json() == {
        "$type": "com.example.data.everything",
        "createdAt": "2024-01-01T00:00:00Z",
    }
    assert "literal:self" in (everything.Record.__doc__ or "")


def test_unknown_fields_are_kept() -> None:
    data = everything_record(future={"nested": [1, {"$link": CID_TEXT}]}, flag=True)
    record = everything.Record.model_validate(data)
    assert record.to_json() == data
    assert record.to_data()["future"]["nested"][1] == CID.parse(CID_TEXT)
    assert invalid(everything.Record, everything_record(future=1.5)) == {"lex_data"}


# --- references to the official set ---------------------------------------------------------


def test_official_refs_resolve_to_lexforge_generated() -> None:
    from lexforge.generated.models.com.atproto.repo import strong_ref

    data = {
        "$type": "com.example.official.like",
        "subject": {"uri": f"at://{DID}/app.bsky.feed.post/3kqjs5lbz7s2a", "cid": CID_TEXT},
        "labels": {"$type": "com.atproto.label.defs#selfLabels", "values": [{"val": "x"}]},
        "reason": "com.atproto.moderation.defs#reasonSpam",
        "createdAt": "2024-01-01T00:00:00Z",
    }
    record = like.Record.model_validate(data)
    assert type(record.subject) is strong_ref.Main
    assert record.to_json() == data

"""The identifier types as pydantic v2 field types."""

from __future__ import annotations

import json
import pickle

import pytest
from pydantic import BaseModel, ValidationError

from lexforge.runtime.syntax import (
    LENIENT_CONTEXT_KEY,
    AtIdentifier,
    AtUri,
    CidString,
    Datetime,
    Did,
    Handle,
    Language,
    Nsid,
    RecordKey,
    Tid,
    Uri,
)


class Everything(BaseModel):
    did: Did
    handle: Handle
    ident: AtIdentifier
    nsid: Nsid
    uri: AtUri
    tid: Tid
    rkey: RecordKey
    created_at: Datetime
    lang: Language
    cid: CidString
    link: Uri
    maybe: Did | None = None


GOOD = {
    "did": "did:plc:7iza6de2dwap2sbkpav7c6c6",
    "handle": "Alice.Example.COM",
    "ident": "Bob.Test",
    "nsid": "COM.Example.fooBar",
    "uri": "at://did:plc:asdf123/app.bsky.feed.post/3jzfcijpj2z2a",
    "tid": "3jzfcijpj2z2a",
    "rkey": "self",
    "created_at": "1985-04-12T23:20:50.123456+01:45",
    "lang": "pt-BR",
    "cid": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm",
    "link": "https://example.com/path?q=1#frag",
}


def test_python_mode_parses_and_keeps_values_exactly() -> None:
    """Model fields hold record data: validated, never normalised (lossless round trips);
    ``Type.parse`` is where normalisation happens."""
    model = Everything.model_validate(GOOD)
    assert type(model.did) is Did
    assert model.handle == "Alice.Example.COM"
    assert Handle.parse(model.handle) == "alice.example.com"
    assert type(model.handle) is Handle
    assert model.ident == GOOD["ident"]
    assert model.nsid == "COM.Example.fooBar"
    assert model.model_dump(exclude_unset=True) == GOOD
    assert type(model.uri) is AtUri
    assert model.uri.rkey == "3jzfcijpj2z2a"
    assert model.created_at == GOOD["created_at"]  # never re-serialised
    assert type(model.tid) is Tid


def test_json_mode_parses() -> None:
    model = Everything.model_validate_json(json.dumps(GOOD))
    assert model == Everything.model_validate(GOOD)
    assert type(model.created_at) is Datetime


def test_serialises_as_plain_str() -> None:
    model = Everything.model_validate(GOOD)
    dumped = model.model_dump()
    for key, value in dumped.items():
        assert value is None or type(value) is str, key
    assert dumped["created_at"] == GOOD["created_at"]
    assert json.loads(model.model_dump_json())["handle"] == "Alice.Example.COM"
    # Round trip through JSON gives an equal model.
    assert Everything.model_validate_json(model.model_dump_json()) == model


def _validate(mode: str, data: dict[str, str]) -> Everything:
    if mode == "python":
        return Everything.model_validate(data)
    return Everything.model_validate_json(json.dumps(data))


@pytest.mark.parametrize(
    ("field", "bad", "code"),
    [
        ("did", "did:METHOD:x", "invalid_did"),
        ("handle", "john..test", "invalid_handle"),
        ("ident", "@handle", "invalid_at_identifier"),
        ("nsid", "com.example", "invalid_nsid"),
        ("uri", "at://did:plc:asdf123/", "invalid_at_uri"),
        ("tid", "3jzfcijpj2z2", "invalid_tid"),
        ("rkey", "..", "invalid_record_key"),
        ("created_at", "1985-04-12T23:20:50.123z", "invalid_datetime"),
        ("lang", "JA", "invalid_language"),
        ("cid", "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR", "invalid_cid"),
        ("link", "example.com", "invalid_uri"),
        ("maybe", "did:x", "invalid_did"),
    ],
)
@pytest.mark.parametrize("mode", ["python", "json"])
def test_failure_is_a_validation_error(field: str, bad: str, code: str, mode: str) -> None:
    data = {**GOOD, field: bad}
    with pytest.raises(ValidationError) as info:
        _validate(mode, data)
    errors = info.value.errors()
    assert len(errors) == 1
    assert errors[0]["loc"][0] == field
    assert errors[0]["type"] == code
    assert bad[:10] in errors[0]["msg"]


@pytest.mark.parametrize("bad", [123, b"did:plc:abc", ["did:plc:abc"], None, 1.5])
def test_non_strings_are_not_coerced(bad: object) -> None:
    with pytest.raises(ValidationError) as info:
        Everything.model_validate({**GOOD, "did": bad})
    assert info.value.errors()[0]["loc"] == ("did",)


def test_lenient_context_for_datetime_and_language() -> None:
    data = {**GOOD, "created_at": "1985-04-12 23:20:50z", "lang": "JA"}
    with pytest.raises(ValidationError):
        Everything.model_validate(data)
    model = Everything.model_validate(data, context={LENIENT_CONTEXT_KEY: True})
    assert model.created_at == "1985-04-12 23:20:50z"
    assert model.lang == "JA"
    model = Everything.model_validate_json(json.dumps(data), context={LENIENT_CONTEXT_KEY: True})
    assert model.created_at == "1985-04-12 23:20:50z"
    # Lenient does not mean anything goes.
    with pytest.raises(ValidationError):
        Everything.model_validate(
            {**data, "created_at": "yesterday"}, context={LENIENT_CONTEXT_KEY: True}
        )
    # The flag does not relax the other types.
    with pytest.raises(ValidationError):
        Everything.model_validate({**GOOD, "did": "DID:x:y"}, context={LENIENT_CONTEXT_KEY: True})


def test_instances_pass_through_and_strict_model_config() -> None:
    class StrictModel(BaseModel, strict=True):
        did: Did
        when: Datetime

    model = StrictModel(did=Did.parse("did:web:example.com"), when=Datetime.now())
    assert type(model.did) is Did
    assert StrictModel.model_validate({"did": "did:web:example.com", "when": model.when})
    with pytest.raises(ValidationError):
        StrictModel.model_validate({"did": "nope", "when": model.when})


def test_json_schema_carries_the_format() -> None:
    schema = Everything.model_json_schema()
    props = schema["properties"]
    assert props["did"] == {"format": "did", "title": "Did", "type": "string"}
    assert props["uri"]["format"] == "at-uri"
    assert props["created_at"]["format"] == "datetime"
    assert props["rkey"]["format"] == "record-key"


def test_pickle_and_copy_keep_type_and_value() -> None:
    import copy

    model = Everything.model_validate(GOOD)
    assert pickle.loads(pickle.dumps(model)) == model
    lenient = Datetime.parse("1985-04-12 23:20:50", strict=False)
    restored = pickle.loads(pickle.dumps(lenient))
    assert type(restored) is Datetime
    assert restored == lenient
    assert copy.deepcopy(model.uri) == model.uri

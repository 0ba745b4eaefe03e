"""Blob references: the Blob view, the legacy form, and find_blobs.

Blobs live in the data model as plain maps; Blob is a validated view. Legacy blobs
(``{"cid", "mimeType"}``) are readable only where the caller knows a blob is expected,
and are written back unchanged so a record's CID never changes.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest

from lexforge.runtime.data import (
    CID,
    Blob,
    InvalidBlobError,
    decode,
    encode,
    find_blobs,
    from_json,
)
from lexforge.runtime.data.blob import LEGACY_SIZE
from tests.conftest import VECTORS

RAW_CID = "bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity"
CBOR_CID = "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a"
RAW = CID.parse(RAW_CID)


def modern_json() -> dict[str, Any]:
    return {"$type": "blob", "ref": {"$link": RAW_CID}, "mimeType": "image/jpeg", "size": 10000}


def modern_data() -> dict[str, Any]:
    return {"$type": "blob", "ref": RAW, "mimeType": "image/jpeg", "size": 10000}


# ---------------------------------------------------------------------------------------
# current form


def test_construct_and_views() -> None:
    blob = Blob(RAW, "image/jpeg", 10000)
    assert not blob.is_legacy
    assert blob.to_data() == modern_data()
    assert blob.to_json() == modern_json()
    assert Blob.from_data(modern_data()) == blob
    assert Blob.from_json(modern_json()) == blob
    assert hash(blob) == hash(Blob(RAW, "image/jpeg", 10000))


def test_frozen() -> None:
    blob = Blob(RAW, "image/jpeg", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        blob.size = 2  # type: ignore[misc]


def test_zero_size_is_valid() -> None:
    assert Blob(RAW, "application/octet-stream", 0).size == 0


def test_to_data_matches_the_interop_fixture_bytes() -> None:
    # Fixture 2 holds a blob under key "c": our map must encode to the same CBOR.
    fixtures = json.loads((VECTORS / "data-model" / "data-model-fixtures.json").read_text())
    fixture = fixtures[1]
    cbor = base64.b64decode(fixture["cbor_base64"] + "==")
    blob = Blob.from_json(fixture["json"]["c"])
    value = from_json(fixture["json"])
    value["c"] = blob.to_data()
    assert encode(value) == cbor
    assert Blob.from_data(decode(cbor)["c"]) == blob


@pytest.mark.parametrize(
    ("ref", "mime", "size", "why"),
    [
        (CID.parse(CBOR_CID), "image/png", 1, "raw codec"),
        (RAW_CID, "image/png", 1, "CID"),
        (RAW, "", 1, "MIME"),
        (RAW, "png", 1, "MIME"),
        (RAW, None, 1, "string"),
        (RAW, "image/png", -1, "out of range"),
        (RAW, "image/png", 2**53, "out of range"),
        (RAW, "image/png", True, "integer"),
        (RAW, "image/png", 1.0, "integer"),
    ],
)
def test_invalid_current_form(ref: Any, mime: Any, size: Any, why: str) -> None:
    with pytest.raises(InvalidBlobError, match=why):
        Blob(ref, mime, size)


@pytest.mark.parametrize(
    "value",
    [
        {**modern_data(), "extra": 1},
        {k: v for k, v in modern_data().items() if k != "size"},
        {**modern_data(), "$type": "blobby"},
        {**modern_data(), "size": "10"},
        {**modern_data(), "ref": {"$link": RAW_CID}},  # JSON form is not the data model
        "blob",
        None,
    ],
    ids=["extra-key", "missing-size", "wrong-type", "string-size", "json-ref", "str", "none"],
)
def test_from_data_rejects(value: Any) -> None:
    with pytest.raises(InvalidBlobError):
        Blob.from_data(value)


@pytest.mark.parametrize(
    "value",
    [
        {**modern_json(), "ref": RAW_CID},
        {**modern_json(), "ref": {"$link": RAW_CID, "x": 1}},
        {**modern_json(), "ref": {"$link": 5}},
        {**modern_json(), "ref": {"$link": "nope"}},
        {**modern_json(), "ref": {"$link": CBOR_CID}},
        {**modern_json(), "mimeType": "jpeg"},
        {**modern_json(), "extra": True},
        [],
    ],
    ids=[
        "ref-string",
        "ref-extra",
        "ref-number",
        "ref-bogus",
        "ref-codec",
        "mime",
        "extra",
        "list",
    ],
)
def test_from_json_rejects(value: Any) -> None:
    with pytest.raises(InvalidBlobError):
        Blob.from_json(value)


# ---------------------------------------------------------------------------------------
# legacy form


def test_legacy_read_and_written_back_unchanged() -> None:
    legacy = {"cid": RAW_CID, "mimeType": "image/png"}
    blob = Blob.from_json(legacy)
    assert blob.is_legacy
    assert blob.ref == RAW
    assert blob.size == LEGACY_SIZE
    assert blob.to_json() == legacy
    assert blob.to_data() == legacy
    assert Blob.from_data(legacy) == blob


def test_legacy_record_cid_is_unchanged_through_the_view() -> None:
    record = {
        "$type": "app.bsky.actor.profile",
        "avatar": {"cid": RAW_CID, "mimeType": "image/png"},
    }
    block = encode(record)
    rewritten = dict(decode(block))
    rewritten["avatar"] = Blob.from_data(rewritten["avatar"]).to_data()
    assert encode(rewritten) == block
    assert CID.for_cbor(encode(rewritten)) == CID.for_cbor(block)


def test_legacy_keeps_the_exact_cid_text() -> None:
    # Another multibase of the same CID: re-serialising must not normalise it to base32.
    text = "z" + _base58(RAW.bytes)
    blob = Blob.from_json({"cid": text, "mimeType": "image/png"})
    assert blob.ref == RAW
    assert blob.to_json() == {"cid": text, "mimeType": "image/png"}


def test_legacy_cidv0_is_tolerated() -> None:
    text = "QmQg1v4o9xdT3Q14wh4S7dxZkDjyZ9ssFzFzyep1YrVJBY"
    blob = Blob.from_json({"cid": text, "mimeType": "image/jpeg"})
    assert blob.ref.version == 0
    assert blob.to_data() == {"cid": text, "mimeType": "image/jpeg"}


@pytest.mark.parametrize(
    "value",
    [
        {"cid": RAW_CID},
        {"mimeType": "image/png"},
        {"cid": RAW_CID, "mimeType": "image/png", "size": 1},
        {"cid": {"$link": RAW_CID}, "mimeType": "image/png"},
        {"cid": "not-a-cid", "mimeType": "image/png"},
        {"cid": RAW_CID, "mimeType": 5},
    ],
    ids=["no-mime", "no-cid", "extra-size", "cid-link", "bogus-cid", "mime-number"],
)
def test_legacy_rejects(value: dict[str, Any]) -> None:
    with pytest.raises(InvalidBlobError):
        Blob.from_json(value)
    with pytest.raises(InvalidBlobError):
        Blob.from_data(value)


def test_legacy_constructor_consistency() -> None:
    with pytest.raises(InvalidBlobError):
        Blob(RAW, "image/png", 10, legacy_cid=RAW_CID)  # legacy blobs have no size
    assert Blob(RAW, "image/png", LEGACY_SIZE, legacy_cid=RAW_CID).is_legacy


# ---------------------------------------------------------------------------------------
# find_blobs


def test_find_blobs_in_document_order() -> None:
    other = CID.for_raw(b"other")
    third = CID.for_raw(b"third")
    record = {
        "$type": "app.bsky.feed.post",
        "embed": {
            "$type": "app.bsky.embed.recordWithMedia",
            "media": {
                "images": [
                    {"image": modern_data(), "alt": ""},
                    {"image": {**modern_data(), "ref": other}, "alt": ""},
                ]
            },
            "external": {"thumb": {**modern_data(), "ref": third, "size": 0}},
        },
        "legacy": {"cid": RAW_CID, "mimeType": "image/png"},
        "text": "hi",
    }
    found = find_blobs(record)
    assert [b.ref for b in found] == [RAW, other, third]
    assert found[2].size == 0


def test_find_blobs_top_level_empty_and_scalars() -> None:
    assert find_blobs(modern_data()) == [Blob(RAW, "image/jpeg", 10000)]
    assert find_blobs({"a": [1, "x", None, b"blob"], "b": {}}) == []
    assert find_blobs("blob") == []


def test_find_blobs_on_decoded_cbor() -> None:
    value = decode(encode({"a": [{"b": modern_data()}]}))
    assert find_blobs(value) == [Blob(RAW, "image/jpeg", 10000)]


def test_find_blobs_rejects_malformed_blob() -> None:
    with pytest.raises(InvalidBlobError):
        find_blobs({"a": [{**modern_data(), "size": -5}]})


def test_find_blobs_is_iterative() -> None:
    deep: Any = modern_data()
    for _ in range(20_000):
        deep = [deep]
    assert find_blobs(deep) == [Blob(RAW, "image/jpeg", 10000)]


def _base58(data: bytes) -> str:
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = alphabet[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out

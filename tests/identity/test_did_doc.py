"""DID document parsing and the atproto extraction rules (identity spec section 5, N4)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from lexforge.runtime.crypto import K256Keypair, P256Keypair, parse_multikey
from lexforge.runtime.crypto.base58 import b58encode
from lexforge.runtime.identity import (
    DidDocument,
    InvalidDidDocumentError,
    KeyNotDeclaredError,
    did_key_document,
    normalize_service_endpoint,
)

DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
# The same K-256 key in the legacy and the Multikey form (spec digest, crypto section 4).
LEGACY_K256 = (
    "zQYEBzXeuTM9UR3rfvNag6L3RNAs5pQZyYPsomTsgQhsxLdEgCrPTLgFna8yqCnxPpNT7DBk6Ym3dgPKNu86vt9GR"
)
MULTIKEY_K256 = "zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF"


def plc_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/multikey/v1",
            "https://w3id.org/security/suites/secp256k1-2019/v1",
        ],
        "id": DID,
        "alsoKnownAs": ["at://atproto.com"],
        "verificationMethod": [
            {
                "id": f"{DID}#atproto",
                "type": "Multikey",
                "controller": DID,
                "publicKeyMultibase": MULTIKEY_K256,
            }
        ],
        "service": [
            {
                "id": "#atproto_pds",
                "type": "AtprotoPersonalDataServer",
                "serviceEndpoint": "https://bsky.social",
            }
        ],
    }
    doc.update(overrides)
    return doc


def test_plc_style_document() -> None:
    doc = DidDocument.parse(plc_doc(), DID)
    assert doc.id == DID
    assert doc.handle() == "atproto.com"
    assert doc.signing_key() == parse_multikey(MULTIKEY_K256)
    assert doc.pds_endpoint() == "https://bsky.social"
    assert doc.labeler_endpoint() is None


def test_id_must_equal_the_resolved_did() -> None:
    with pytest.raises(InvalidDidDocumentError, match="does not match"):
        DidDocument.parse(plc_doc(), "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")
    # case-sensitive: DIDs are never normalised
    with pytest.raises(InvalidDidDocumentError):
        DidDocument.parse(plc_doc(id=DID.upper().replace("DID:PLC", "did:plc")), DID)
    # without an expected DID, any valid id is fine
    assert DidDocument.parse(plc_doc()).id == DID


@pytest.mark.parametrize(
    "bad",
    [
        {"id": 42},
        {"id": "not a did"},
        {"alsoKnownAs": "at://x.test"},
        {"alsoKnownAs": [1]},
        {"verificationMethod": [{"id": "#atproto", "type": "Multikey"}]},
        {"verificationMethod": {"id": "#atproto"}},
        {"service": [{"id": "#atproto_pds", "type": "x", "serviceEndpoint": 5}]},
        {"service": [{"id": "#atproto_pds", "serviceEndpoint": "https://x.test"}]},
    ],
)
def test_malformed_shapes(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidDidDocumentError):
        DidDocument.parse(plc_doc(**bad), DID)


@pytest.mark.parametrize("value", [None, [], "x", 1])
def test_document_must_be_an_object(value: object) -> None:
    with pytest.raises(InvalidDidDocumentError):
        DidDocument.parse(value, DID)


def test_missing_id() -> None:
    doc = plc_doc()
    del doc["id"]
    with pytest.raises(InvalidDidDocumentError):
        DidDocument.parse(doc, DID)


def test_unknown_fields_are_kept_and_raw_json_round_trips() -> None:
    raw = plc_doc(extra={"a": [1, 2]})
    doc = DidDocument.parse(copy.deepcopy(raw), DID)
    assert doc.to_json() == raw


@pytest.mark.parametrize("vm_id", ["#atproto", f"{DID}#atproto"])
@pytest.mark.parametrize("svc_id", ["#atproto_pds", f"{DID}#atproto_pds"])
def test_relative_and_absolute_ids(vm_id: str, svc_id: str) -> None:
    raw = plc_doc()
    raw["verificationMethod"][0]["id"] = vm_id
    raw["service"][0]["id"] = svc_id
    doc = DidDocument.parse(raw, DID)
    assert doc.signing_key() == parse_multikey(MULTIKEY_K256)
    assert doc.pds_endpoint() == "https://bsky.social"


def test_other_did_fragment_does_not_match() -> None:
    raw = plc_doc()
    raw["verificationMethod"][0]["id"] = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa#atproto"
    with pytest.raises(KeyNotDeclaredError):
        DidDocument.parse(raw, DID).signing_key()


def test_legacy_k256_uncompressed_key() -> None:
    """The reference PLC test server still serves this form."""
    raw = plc_doc()
    raw["verificationMethod"][0].update(
        type="EcdsaSecp256k1VerificationKey2019", publicKeyMultibase=LEGACY_K256
    )
    assert DidDocument.parse(raw, DID).signing_key() == parse_multikey(MULTIKEY_K256)


@pytest.mark.parametrize("keypair_cls", [K256Keypair, P256Keypair])
@pytest.mark.parametrize("compressed", [True, False])
def test_legacy_forms_both_curves(keypair_cls: type[Any], compressed: bool) -> None:
    key = keypair_cls.generate().public_key
    point = key.compressed_bytes if compressed else key.uncompressed_bytes
    type_name = (
        "EcdsaSecp256k1VerificationKey2019"
        if keypair_cls is K256Keypair
        else "EcdsaSecp256r1VerificationKey2019"
    )
    raw = plc_doc()
    raw["verificationMethod"][0].update(type=type_name, publicKeyMultibase="z" + b58encode(point))
    assert DidDocument.parse(raw, DID).signing_key() == key


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"controller": "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"}, "controlled by"),
        ({"publicKeyMultibase": None}, "no publicKeyMultibase"),
        ({"type": "JsonWebKey2020"}, "not a usable key"),
        ({"publicKeyMultibase": "zNotBase58!!"}, "not a usable key"),
        ({"publicKeyMultibase": "Q3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF"}, "usable"),
    ],
)
def test_unusable_signing_keys(change: dict[str, Any], match: str) -> None:
    raw = plc_doc()
    raw["verificationMethod"][0].update(change)
    if raw["verificationMethod"][0]["publicKeyMultibase"] is None:
        del raw["verificationMethod"][0]["publicKeyMultibase"]
    with pytest.raises(KeyNotDeclaredError, match=match):
        DidDocument.parse(raw, DID).signing_key()


def test_first_matching_key_wins_even_if_broken() -> None:
    raw = plc_doc()
    broken = dict(raw["verificationMethod"][0], controller="did:web:evil.test")
    raw["verificationMethod"].insert(0, broken)
    with pytest.raises(KeyNotDeclaredError):
        DidDocument.parse(raw, DID).signing_key()


def test_no_verification_methods() -> None:
    doc = DidDocument.parse(plc_doc(verificationMethod=[]), DID)
    with pytest.raises(KeyNotDeclaredError, match="no #atproto"):
        doc.signing_key()


@pytest.mark.parametrize(
    ("aka", "expected"),
    [
        (["at://Alice.Example.COM"], "alice.example.com"),
        (["https://alice.example.com", "at://alice.test"], "alice.test"),
        (["at://not_a_handle", "at://second.test"], "second.test"),
        (["at://did:plc:ewvi7nxzyoun6zhxrhs64oiz", "at://third.test"], "third.test"),
        (["at://first.test", "at://second.test"], "first.test"),
        (["AT://upper.test"], None),
        (["alice.test"], None),
        ([], None),
    ],
)
def test_declared_handle(aka: list[str], expected: str | None) -> None:
    assert DidDocument.parse(plc_doc(alsoKnownAs=aka), DID).handle() == expected


def test_pds_requires_the_right_type() -> None:
    raw = plc_doc()
    raw["service"][0]["type"] = "SomethingElse"
    assert DidDocument.parse(raw, DID).pds_endpoint() is None


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("https://pds.example.com", "https://pds.example.com"),
        ("https://pds.example.com/", "https://pds.example.com"),
        ("http://localhost:2583", "http://localhost:2583"),
        ("https://[2001:db8::1]:8443", "https://[2001:db8::1]:8443"),
        ("https://pds.example.com/xrpc", None),
        ("https://pds.example.com?x=1", None),
        ("https://pds.example.com#frag", None),
        ("https://user:pw@pds.example.com", None),
        ("ftp://pds.example.com", None),
        ("pds.example.com", None),
        ("https://", None),
        ("https://pds.example.com:99999", None),
        ("https://pds.exa mple.com", None),
        ({"uri": "https://pds.example.com"}, None),
        ("https://" + "a" * 3000 + ".com", None),
    ],
)
def test_service_endpoint_rules(endpoint: object, expected: str | None) -> None:
    assert normalize_service_endpoint(endpoint) == expected


def test_labeler_service_and_key() -> None:
    label_key = P256Keypair.generate().public_key
    raw = plc_doc()
    raw["verificationMethod"].append(
        {
            "id": "#atproto_label",
            "type": "Multikey",
            "controller": DID,
            "publicKeyMultibase": label_key.multikey(),
        }
    )
    raw["service"].append(
        {"id": "#atproto_labeler", "type": "AtprotoLabeler", "serviceEndpoint": "https://l.test"}
    )
    doc = DidDocument.parse(raw, DID)
    assert doc.labeler_key() == label_key
    assert doc.labeler_endpoint() == "https://l.test"
    assert doc.service_endpoint("bsky_fg", "BskyFeedGenerator") is None


def test_did_key_document() -> None:
    key = K256Keypair.generate()
    doc = did_key_document(key.did_key())
    assert doc.id == key.did_key()
    assert doc.signing_key() == key.public_key
    assert doc.pds_endpoint() is None
    assert doc.handle() is None
    with pytest.raises(InvalidDidDocumentError):
        did_key_document("did:key:zNotAKey")

"""did:plc operations: known vectors, strict parsing, signatures, DID derivation, limits."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.runtime.data import CID
from lexforge.runtime.plc import (
    MAX_OP_BYTES,
    InvalidOperationError,
    InvalidSignatureError,
    LegacyCreateOperation,
    PlcOperation,
    PlcService,
    PlcTombstone,
    Strictness,
    build_tombstone,
    build_update,
    check_operation,
    create_genesis,
    create_genesis_operation,
    did_for_genesis,
    normalize,
    parse_operation,
)
from lexforge.runtime.plc.b64 import b64url_decode_strict, b64url_encode
from tests.plc.helpers import K256_ORDER, P256_ORDER, der_variant, high_s_variant, k256, p256

# Public data from the PLC directory: the genesis operation of
# did:plc:ewvi7nxzyoun6zhxrhs64oiz (a regular plc_operation) ...
GENESIS_JSON: dict[str, Any] = {
    "sig": "lza4at_jCtGo_TYgL5PC1ZNP7lhF4DV8H50LWHhvdHcB143x1wEwqZ43xvV36Pws6OOnJLJrkibEUFDFqkhIhg",
    "prev": None,
    "type": "plc_operation",
    "services": {
        "atproto_pds": {"type": "AtprotoPersonalDataServer", "endpoint": "https://bsky.social"}
    },
    "alsoKnownAs": ["at://atprotocol.bsky.social"],
    "rotationKeys": [
        "did:key:zQ3shhCGUqDKjStzuDxPkTxN6ujddP4RkEKJJouJGRRkaLGbg",
        "did:key:zQ3shpKnbdPx3g3CmPf5cRVTPe1HtSwVn5ish3wSnDPQCbLJK",
    ],
    "verificationMethods": {"atproto": "did:key:zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF"},
}
GENESIS_DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
GENESIS_CID = "bafyreibfvkh3n6odvdpwj54j4xxdsgnn4zo5utbyf7z7nfbyikhtygzjcq"

# ... and the legacy `create` genesis of did:plc:pyc2ihzpelxtg4cdkfzbhcv4.
LEGACY_JSON: dict[str, Any] = {
    "type": "create",
    "signingKey": "did:key:zQ3shP5TBe1sQfSttXty15FAEHV1DZgcxRZNxvEWnPfLFwLxJ",
    "recoveryKey": "did:key:zQ3shhCGUqDKjStzuDxPkTxN6ujddP4RkEKJJouJGRRkaLGbg",
    "handle": "first-post.bsky.social",
    "service": "https://bsky.social",
    "prev": None,
    "sig": "yvN4nQYWTZTDl9nKSSyC5EC3nsF5g4S56OmRg9G6_-pM6FCItV2U2u14riiMGyHiCD86l6O-1xC5MPwf8vVsRw",
}
LEGACY_DID = "did:plc:pyc2ihzpelxtg4cdkfzbhcv4"
LEGACY_CID = "bafyreid6awsb6lzc54zxaq2roijyvpbjp5d6mii2xyztn55yli7htyjgqy"

PLC_DID_RE = re.compile(r"did:plc:[a-z2-7]{24}")


def test_known_genesis_vector() -> None:
    op = parse_operation(GENESIS_JSON)
    assert isinstance(op, PlcOperation)
    assert did_for_genesis(op) == GENESIS_DID
    assert str(op.cid()) == GENESIS_CID
    assert op.signer(op.rotation_keys) == GENESIS_JSON["rotationKeys"][1]
    assert op.to_json() == GENESIS_JSON


def test_known_legacy_create_vector() -> None:
    op = parse_operation(LEGACY_JSON)
    assert isinstance(op, LegacyCreateOperation)
    assert did_for_genesis(op) == LEGACY_DID
    assert str(op.cid()) == LEGACY_CID
    norm = normalize(op)
    assert norm.rotation_keys == (LEGACY_JSON["recoveryKey"], LEGACY_JSON["signingKey"])
    assert norm.verification_methods == {"atproto": LEGACY_JSON["signingKey"]}
    assert norm.also_known_as == ("at://first-post.bsky.social",)
    assert norm.services == {
        "atproto_pds": PlcService("AtprotoPersonalDataServer", "https://bsky.social")
    }
    assert op.signer(norm.rotation_keys) == LEGACY_JSON["signingKey"]


def test_tampering_changes_cid_and_breaks_signature() -> None:
    tampered = parse_operation({**GENESIS_JSON, "alsoKnownAs": ["at://evil.example.com"]})
    assert did_for_genesis(tampered) != GENESIS_DID
    assert isinstance(tampered, PlcOperation)
    assert tampered.signer(tampered.rotation_keys) is None


# -- strict parsing ------------------------------------------------------------------------


def _without(key: str) -> dict[str, Any]:
    return {k: v for k, v in GENESIS_JSON.items() if k != key}


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [],
        "op",
        {**GENESIS_JSON, "type": "plc_update"},
        {**GENESIS_JSON, "type": 1},
        {**GENESIS_JSON, "extra": 1},  # unknown field would change the CID, not the sig
        _without("prev"),  # prev: null must be present
        _without("sig"),
        _without("services"),
        {**GENESIS_JSON, "sig": None},
        {**GENESIS_JSON, "rotationKeys": "did:key:x"},
        {**GENESIS_JSON, "rotationKeys": [1]},
        {**GENESIS_JSON, "verificationMethods": {"atproto": 5}},
        {**GENESIS_JSON, "verificationMethods": []},
        {**GENESIS_JSON, "alsoKnownAs": [None]},
        {**GENESIS_JSON, "services": {"atproto_pds": "https://x"}},
        {**GENESIS_JSON, "services": {"atproto_pds": {"type": "x"}}},
        {**GENESIS_JSON, "services": {"atproto_pds": {"type": "x", "endpoint": "y", "z": 1}}},
        {**GENESIS_JSON, "prev": {"$link": GENESIS_CID}},  # a link, not a string
        {**GENESIS_JSON, "prev": "not-a-cid"},
        {**GENESIS_JSON, "prev": "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"},  # CIDv0
        {"type": "plc_tombstone", "prev": None, "sig": GENESIS_JSON["sig"]},
        {"type": "plc_tombstone", "sig": GENESIS_JSON["sig"]},
        {"type": "plc_tombstone", "prev": GENESIS_CID, "sig": GENESIS_JSON["sig"], "x": 1},
        {**LEGACY_JSON, "prev": GENESIS_CID},
        {k: v for k, v in LEGACY_JSON.items() if k != "handle"},
    ],
)
def test_malformed_operations(bad: object) -> None:
    with pytest.raises(InvalidOperationError):
        parse_operation(bad)


@pytest.mark.parametrize(
    "sig",
    [
        GENESIS_JSON["sig"] + "==",  # padding
        GENESIS_JSON["sig"][:-1] + "h",  # non-zero trailing bits
        GENESIS_JSON["sig"][:40] + "\n" + GENESIS_JSON["sig"][40:],
        GENESIS_JSON["sig"].replace("_", "/"),  # standard alphabet
        GENESIS_JSON["sig"] + "A",  # canonical, but 65 bytes
        "",  # canonical, but empty
    ],
)
def test_non_canonical_or_wrong_length_signatures(sig: str) -> None:
    with pytest.raises(InvalidOperationError):
        parse_operation({**GENESIS_JSON, "sig": sig})


@pytest.mark.parametrize(("keypair", "order"), [(k256(7), K256_ORDER), (p256(7), P256_ORDER)])
def test_high_s_and_der_signatures_do_not_verify(keypair: Any, order: int) -> None:
    _, op = create_genesis(
        rotation_keys=[keypair.did_key()],
        signing_key=keypair.did_key(),
        handle="alice.test",
        pds_endpoint="https://pds.test",
        signer=keypair,
    )
    assert op.signer(op.rotation_keys) == keypair.did_key()
    mutated = parse_operation(high_s_variant(op.to_json(), order))
    assert isinstance(mutated, PlcOperation)
    assert mutated.signer(mutated.rotation_keys) is None
    with pytest.raises(InvalidSignatureError):
        mutated.require_signer(mutated.rotation_keys)
    with pytest.raises(InvalidOperationError, match="64 bytes"):
        parse_operation(der_variant(op.to_json()))


@settings(max_examples=200)
@given(st.binary(max_size=80))
def test_b64url_round_trip_and_uniqueness(data: bytes) -> None:
    text = b64url_encode(data)
    assert "=" not in text
    assert b64url_decode_strict(text) == data


@settings(max_examples=300)
@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ \n"))
def test_b64url_accepts_only_canonical_text(text: str) -> None:
    try:
        data = b64url_decode_strict(text)
    except InvalidOperationError:
        return
    assert b64url_encode(data) == text


# -- building, signing, deriving -------------------------------------------------------------


def test_genesis_update_tombstone_chain() -> None:
    rot1, rot2, signing = k256(1), p256(2), k256(3)
    did, genesis = create_genesis(
        rotation_keys=[rot1.did_key(), rot2.did_key()],
        signing_key=signing.did_key(),
        handle="Alice.Test",
        pds_endpoint="https://pds.test",
        signer=rot2,
    )
    assert PLC_DID_RE.fullmatch(did)
    assert genesis.also_known_as == ("at://alice.test",)
    assert genesis.prev is None
    assert genesis.to_json()["prev"] is None  # present, not omitted
    assert genesis.signer(genesis.rotation_keys) == rot2.did_key()

    update = build_update(genesis, signer=rot1, handle="bob.test", pds_endpoint="https://p2.test")
    assert update.prev == str(genesis.cid())
    assert CID.parse(update.prev) == genesis.cid()
    assert update.also_known_as == ("at://bob.test",)
    assert update.services["atproto_pds"].endpoint == "https://p2.test"
    assert update.verification_methods == {"atproto": signing.did_key()}

    rotated = build_update(update, signer=rot1, rotation_keys=[k256(9).did_key()])
    assert rotated.rotation_keys == (k256(9).did_key(),)
    with pytest.raises(InvalidSignatureError):
        build_update(rotated, signer=rot1)  # rot1 was rotated out
    tomb = build_tombstone(rotated, signer=k256(9))
    assert isinstance(tomb, PlcTombstone)
    assert tomb.to_json() == {"type": "plc_tombstone", "prev": str(rotated.cid()), "sig": tomb.sig}
    with pytest.raises(InvalidOperationError):
        build_update(tomb, signer=k256(9))


def test_genesis_signer_must_be_a_rotation_key() -> None:
    with pytest.raises(InvalidSignatureError):
        create_genesis(
            rotation_keys=[k256(1).did_key()],
            signing_key=None,
            handle=None,
            pds_endpoint=None,
            signer=k256(2),
        )


def test_did_is_hash_of_signed_not_unsigned_genesis() -> None:
    did, genesis = create_genesis(
        rotation_keys=[k256(1).did_key()],
        signing_key=None,
        handle=None,
        pds_endpoint=None,
        signer=k256(1),
    )
    import base64
    import hashlib

    unsigned = base64.b32encode(hashlib.sha256(genesis.unsigned_bytes()).digest())
    assert did != "did:plc:" + unsigned.decode().lower()[:24]
    assert did == did_for_genesis(genesis)


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=1, max_value=10**6), st.sampled_from(["alice.test", "b.example.com"]))
def test_derived_dids_are_well_formed_and_round_trip(seed: int, handle: str) -> None:
    key = k256(seed)
    did, genesis = create_genesis(
        rotation_keys=[key.did_key()],
        signing_key=key.did_key(),
        handle=handle,
        pds_endpoint="https://pds.test",
        signer=key,
    )
    assert PLC_DID_RE.fullmatch(did)
    reparsed = parse_operation(genesis.to_json())
    assert reparsed == genesis
    assert did_for_genesis(reparsed) == did


# -- limits ------------------------------------------------------------------------------------


def _op(**fields: Any) -> PlcOperation:
    base: dict[str, Any] = {
        "rotation_keys": (k256(1).did_key(),),
        "verification_methods": {"atproto": k256(2).did_key()},
        "also_known_as": ("at://alice.test",),
        "services": {"atproto_pds": PlcService("AtprotoPersonalDataServer", "https://p.test")},
        "prev": None,
    }
    base.update(fields)
    return PlcOperation(**base).sign(k256(1))


def _keys(n: int) -> tuple[str, ...]:
    return tuple(k256(100 + i).did_key() for i in range(n))


@pytest.mark.parametrize(
    ("fields", "submit_ok", "produce_ok"),
    [
        ({}, True, True),
        ({"rotation_keys": _keys(5)}, True, True),
        ({"rotation_keys": _keys(6)}, True, False),
        ({"rotation_keys": _keys(10)}, True, False),
        ({"rotation_keys": _keys(11)}, False, False),
        ({"rotation_keys": ()}, False, False),
        ({"rotation_keys": (k256(1).did_key(), k256(1).did_key())}, False, False),
        ({"rotation_keys": ("did:key:zNotAKey",)}, False, False),
        ({"rotation_keys": ("did:web:example.com",)}, False, False),
        ({"verification_methods": {f"k{i}": k256(2).did_key() for i in range(10)}}, True, True),
        ({"verification_methods": {f"k{i}": k256(2).did_key() for i in range(11)}}, False, False),
        ({"verification_methods": {"atproto": "did:key:z6MkhaXgBZDvotDkL5257"}}, True, True),
        ({"verification_methods": {"atproto": "not-a-did-key"}}, False, False),
        ({"verification_methods": {"atproto": "did:key:z0OIl"}}, False, False),
        ({"verification_methods": {"#atproto": k256(2).did_key()}}, False, False),
        ({"verification_methods": {"a" * 33: k256(2).did_key()}}, False, False),
        ({"also_known_as": tuple(f"at://u{i}.test" for i in range(10))}, True, True),
        ({"also_known_as": tuple(f"at://u{i}.test" for i in range(11))}, False, False),
        ({"also_known_as": ("at://a.test", "at://a.test")}, False, False),
        ({"also_known_as": ("at://" + "a" * 253,)}, True, True),
        ({"also_known_as": ("at://" + "a" * 254,)}, False, False),
        (
            {"services": {f"s{i}": PlcService("t", "https://x.test") for i in range(11)}},
            False,
            False,
        ),
        ({"services": {"s": PlcService("t" * 257, "https://x.test")}}, False, False),
        ({"services": {"s": PlcService("t", "https://" + "x" * 510)}}, False, False),
        ({"services": {"#s": PlcService("t", "https://x.test")}}, False, False),
    ],
)
def test_limits(fields: dict[str, Any], submit_ok: bool, produce_ok: bool) -> None:
    op = _op(**fields)
    check_operation(op, Strictness.LOG)  # existing logs are never limit-checked
    for strictness, ok in ((Strictness.SUBMIT, submit_ok), (Strictness.PRODUCE, produce_ok)):
        if ok:
            check_operation(op, strictness)
        else:
            with pytest.raises(InvalidOperationError):
                check_operation(op, strictness)


def test_size_limit() -> None:
    # Each alias adds ~260 bytes; 10 of them plus 10 long services pass 4000.
    big = _op(
        also_known_as=tuple(f"at://{'a' * 240}{i}.test" for i in range(10)),
        services={f"s{i}": PlcService("t", "https://" + "x" * 200) for i in range(10)},
    )
    assert len(big.signed_bytes()) > MAX_OP_BYTES
    with pytest.raises(InvalidOperationError, match="bytes of DAG-CBOR"):
        check_operation(big, Strictness.SUBMIT)


def test_legacy_create_is_refused_for_submission() -> None:
    op = parse_operation(LEGACY_JSON)
    check_operation(op, Strictness.LOG)
    with pytest.raises(InvalidOperationError, match="legacy"):
        check_operation(op, Strictness.SUBMIT)


def test_builders_enforce_produce_limits() -> None:
    with pytest.raises(InvalidOperationError):
        create_genesis_operation(
            rotation_keys=list(_keys(6)),
            verification_methods={},
            also_known_as=[],
            services={},
            signer=k256(100),
        )


# -- builders check what atproto readers need -------------------------------------------------


@pytest.mark.parametrize(
    ("handle", "expected"),
    [("Alice.Test", "at://alice.test"), ("at://bob.example.com", "at://bob.example.com")],
)
def test_builders_normalise_handles(handle: str, expected: str) -> None:
    _, op = create_genesis(
        rotation_keys=[k256(1).did_key()],
        signing_key=None,
        handle=handle,
        pds_endpoint=None,
        signer=k256(1),
    )
    assert op.also_known_as == (expected,)


@pytest.mark.parametrize(
    "handle", ["bad..handle", "at://", "nodot", "-x.test", "did:plc:x", "a.b/c"]
)
def test_builders_refuse_invalid_handles(handle: str) -> None:
    with pytest.raises(InvalidOperationError, match="invalid handle"):
        create_genesis(
            rotation_keys=[k256(1).did_key()],
            signing_key=None,
            handle=handle,
            pds_endpoint=None,
            signer=k256(1),
        )
    _, genesis = create_genesis(
        rotation_keys=[k256(1).did_key()],
        signing_key=None,
        handle=None,
        pds_endpoint=None,
        signer=k256(1),
    )
    with pytest.raises(InvalidOperationError, match="invalid handle"):
        build_update(genesis, signer=k256(1), handle=handle)


@pytest.mark.parametrize(
    "endpoint",
    ["notaurl", "ftp://pds.test", "https://pds.test/xrpc", "https://u:p@pds.test", "https://"],
)
def test_builders_refuse_invalid_pds_endpoints(endpoint: str) -> None:
    with pytest.raises(InvalidOperationError, match="invalid PDS endpoint"):
        create_genesis(
            rotation_keys=[k256(1).did_key()],
            signing_key=None,
            handle=None,
            pds_endpoint=endpoint,
            signer=k256(1),
        )


def test_builders_accept_local_pds_endpoints() -> None:
    _, op = create_genesis(
        rotation_keys=[k256(1).did_key()],
        signing_key=None,
        handle=None,
        pds_endpoint="http://localhost:2583",
        signer=k256(1),
    )
    assert op.services["atproto_pds"].endpoint == "http://localhost:2583"

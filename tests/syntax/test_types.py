"""Behaviour of each identifier type beyond the interop vectors: parts, normalisation,
error messages and conversions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from lexforge.runtime.syntax import (
    INVALID_HANDLE,
    AtIdentifier,
    AtUri,
    CidString,
    Datetime,
    DatetimeRangeError,
    Did,
    Handle,
    InvalidAtIdentifierError,
    InvalidAtUriError,
    InvalidCidStringError,
    InvalidDatetimeError,
    InvalidDidError,
    InvalidHandleError,
    InvalidLanguageError,
    InvalidNsidError,
    InvalidRecordKeyError,
    InvalidSyntaxError,
    InvalidTidError,
    InvalidUriError,
    Language,
    Nsid,
    RecordKey,
    SyntaxStr,
    Tid,
    Uri,
    parse_did_or_handle,
)

ALL_TYPES: list[type[SyntaxStr]] = [
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
]


# -- common behaviour ---------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL_TYPES)
@pytest.mark.parametrize("value", [None, 1, 1.5, b"did:plc:abc", ["x"], object(), True])
def test_non_strings_raise_the_typed_error(cls: type[SyntaxStr], value: object) -> None:
    with pytest.raises(cls.ERROR, match="expected a string"):
        cls.parse(value)


@pytest.mark.parametrize("cls", ALL_TYPES)
def test_empty_string_is_invalid(cls: type[SyntaxStr]) -> None:
    with pytest.raises(cls.ERROR, match="empty"):
        cls.parse("")


@pytest.mark.parametrize(
    ("cls", "good"),
    [
        (Did, "did:plc:abc"),
        (Handle, "alice.test"),
        (AtIdentifier, "alice.test"),
        (Nsid, "app.bsky.feed.post"),
        (AtUri, "at://alice.test"),
        (Tid, "3jzfcijpj2z2a"),
        (RecordKey, "self"),
        (Datetime, "1985-04-12T23:20:50.123Z"),
        (Language, "en"),
        (CidString, "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"),
        (Uri, "https://example.com"),
    ],
)
def test_trailing_newline_and_nul_are_rejected(cls: type[SyntaxStr], good: str) -> None:
    """``$`` in a Python regex matches before a final newline; fullmatch must be used."""
    assert cls.parse(good) == good
    for bad in (good + "\n", good + "\r\n", good + "\x00", "\n" + good, good + " "):
        with pytest.raises(cls.ERROR):
            cls.parse(bad)


@pytest.mark.parametrize("cls", ALL_TYPES)
def test_error_hierarchy(cls: type[SyntaxStr]) -> None:
    assert issubclass(cls.ERROR, InvalidSyntaxError)
    assert issubclass(cls.ERROR, ValueError)
    assert cls.ERROR is not InvalidSyntaxError


def test_constructor_validates_like_parse() -> None:
    assert Handle("Alice.Test") == "alice.test"
    assert type(Handle("Alice.Test")) is Handle
    with pytest.raises(InvalidDidError):
        Did("did:plc:")


def test_error_message_names_type_reason_and_truncates_value() -> None:
    with pytest.raises(InvalidDidError) as info:
        Did.parse("did:METHOD:val")
    err = info.value
    assert err.value == "did:METHOD:val"
    assert "lowercase" in err.reason
    assert str(err).startswith("invalid DID 'did:METHOD:val': ")
    huge = "x" * 1_000_000
    with pytest.raises(InvalidHandleError) as info2:
        Handle.parse(huge)
    assert len(str(info2.value)) < 200
    assert "1000000 chars" in str(info2.value)


def test_subclass_input_is_accepted_and_becomes_plain_type() -> None:
    handle = Handle.parse("alice.test")
    ident = AtIdentifier.parse(handle)
    assert type(ident) is AtIdentifier
    assert ident == "alice.test"


def test_repr_names_the_type() -> None:
    assert repr(Did.parse("did:plc:abc")) == "Did('did:plc:abc')"
    assert str(Did.parse("did:plc:abc")) == "did:plc:abc"
    assert type(str(Did.parse("did:plc:abc"))) is str


# -- DID ----------------------------------------------------------------------------------


def test_did_parts() -> None:
    did = Did.parse("did:web:localhost%3A1234")
    assert did.method == "web"
    assert did.identifier == "localhost%3A1234"
    assert Did.parse("did:method::::val").identifier == ":::val"


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("DID:plc:abc", "must start with 'did:'"),
        ("did:plc", "missing ':'"),
        ("did:PLC:abc", "lowercase ASCII letters"),
        ("did:m1:abc", "lowercase ASCII letters"),
        ("did:plc:", "empty method-specific identifier"),
        ("did:plc:a/b", "no '/'"),
        ("did:plc:abc:", "must not end with"),
        ("did:plc:abc%", "must not end with"),
        ("did:plc:ab\u00e9", "ASCII"),
    ],
)
def test_did_reasons(bad: str, reason: str) -> None:
    with pytest.raises(InvalidDidError, match=reason):
        Did.parse(bad)


def test_did_length_limit() -> None:
    assert Did.parse("did:plc:" + "a" * (2048 - 8))
    with pytest.raises(InvalidDidError, match="longer than 2048"):
        Did.parse("did:plc:" + "a" * (2049 - 8))


def test_did_is_case_sensitive_and_not_normalised() -> None:
    assert Did.parse("did:method:VAL") == "did:method:VAL"


# -- handle ------------------------------------------------------------------------------


def test_handle_normalisation_and_helpers() -> None:
    handle = Handle.parse("Alice.Example.COM")
    assert handle == "alice.example.com"
    assert handle.tld == "com"
    assert not handle.has_disallowed_tld()
    assert Handle.parse("laptop.local").has_disallowed_tld()
    assert Handle.parse("x.ONION").has_disallowed_tld()
    assert Handle.parse(INVALID_HANDLE).is_invalid_marker()
    assert Handle.parse("Handle.Invalid").is_invalid_marker()


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("john", "at least two"),
        ("john..test", "empty label"),
        (".john.test", "empty label"),
        ("-john.test", "not starting or ending"),
        ("jo_hn.test", "letters, digits"),
        ("john.0", "must start with a letter"),
        ("b\u00fccher.test", "ASCII"),
        ("a." + "o" * 64 + ".test", "longer than 63"),
        ("a." * 127, "longer than 253"),
    ],
)
def test_handle_reasons(bad: str, reason: str) -> None:
    with pytest.raises(InvalidHandleError, match=reason):
        Handle.parse(bad)


def test_handle_rejects_unicode_that_lowercases_to_ascii() -> None:
    # KELVIN SIGN lowercases to ASCII 'k'; it must not sneak through.
    with pytest.raises(InvalidHandleError):
        Handle.parse("\u212aelvin.test")


# -- at-identifier -------------------------------------------------------------------------


def test_at_identifier() -> None:
    did = AtIdentifier.parse("did:plc:abc")
    assert did.is_did
    assert not did.is_handle
    assert did.did == "did:plc:abc"
    assert type(did.did) is Did
    assert did.handle is None
    handle = AtIdentifier.parse("Alice.Test")
    assert handle == "alice.test"
    assert handle.is_handle
    assert type(handle.handle) is Handle
    assert handle.did is None
    assert type(handle.value) is Handle
    assert type(parse_did_or_handle("did:web:x.com")) is Did
    assert type(parse_did_or_handle("X.com")) is Handle
    assert parse_did_or_handle("X.com") == "x.com"


def test_at_identifier_error_says_which_kind_failed() -> None:
    with pytest.raises(InvalidAtIdentifierError, match="not a valid DID"):
        AtIdentifier.parse("did:plc:")
    with pytest.raises(InvalidAtIdentifierError, match="not a valid handle"):
        AtIdentifier.parse("@alice.test")
    with pytest.raises(InvalidAtIdentifierError):
        parse_did_or_handle(5)


# -- NSID ---------------------------------------------------------------------------------


def test_nsid_parts_and_normalisation() -> None:
    nsid = Nsid.parse("COM.Example.fooBar")
    assert nsid == "com.example.fooBar"
    assert nsid.name == "fooBar"
    assert nsid.segments == ("com", "example", "fooBar")
    assert nsid.authority_segments == ("com", "example")
    assert nsid.authority == "example.com"
    assert Nsid.parse("app.bsky.feed.post").authority == "feed.bsky.app"
    assert Nsid.create("Example.com", "someRecord") == "com.example.someRecord"
    assert type(Nsid.create("example.com", "x")) is Nsid
    with pytest.raises(InvalidNsidError):
        Nsid.create("example.com", "2x")


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("com.example", "at least three"),
        ("com..example.foo", "empty segment"),
        ("com.example.foo.*", "name"),
        ("com.exa_mple.foo", "authority segment"),
        ("0com.example.foo", "must not start with a digit"),
        ("com.example.fooBar.2", "name"),
        ("com.example.foo-bar", "name"),
        ("com.example." + "o" * 64, "name segment is longer than 63"),
        ("com." + "o" * 64 + ".foo", "longer than 63"),
        ("com.ex\u00e4mple.foo", "ASCII"),
    ],
)
def test_nsid_reasons(bad: str, reason: str) -> None:
    with pytest.raises(InvalidNsidError, match=reason):
        Nsid.parse(bad)


# -- AT-URI -------------------------------------------------------------------------------


def test_at_uri_parts() -> None:
    uri = AtUri.parse("at://did:plc:asdf123/com.atproto.feed.post/3jzfcijpj2z2a")
    assert uri.authority == "did:plc:asdf123"
    assert type(uri.authority) is Did
    assert uri.did == "did:plc:asdf123"
    assert uri.handle is None
    assert uri.collection == "com.atproto.feed.post"
    assert type(uri.collection) is Nsid
    assert uri.rkey == "3jzfcijpj2z2a"
    assert type(uri.rkey) is RecordKey
    assert uri.path == "/com.atproto.feed.post/3jzfcijpj2z2a"
    assert uri.query is None
    assert uri.fragment is None
    assert uri.repo_path == "com.atproto.feed.post/3jzfcijpj2z2a"


def test_at_uri_authority_only_and_collection_only() -> None:
    uri = AtUri.parse("at://Alice.Test")
    assert uri == "at://Alice.Test"  # the string is kept as given
    assert uri.authority == "alice.test"
    assert type(uri.handle) is Handle
    assert uri.collection is None
    assert uri.rkey is None
    assert uri.path == ""
    assert uri.repo_path is None
    coll = AtUri.parse("at://did:abc:123/io.nsid.someFunc")
    assert coll.collection == "io.nsid.someFunc"
    assert coll.rkey is None
    assert coll.path == "/io.nsid.someFunc"


def test_at_uri_fragment_and_normalize() -> None:
    uri = AtUri.parse("at://Alice.Test/COM.Example.fooBar/self#/json/pointer")
    assert uri.fragment == "/json/pointer"
    assert uri.rkey == "self"
    normal = uri.normalize()
    assert normal == "at://alice.test/com.example.fooBar/self#/json/pointer"
    assert type(normal) is AtUri
    assert AtUri.parse(normal) == normal


def test_at_uri_make() -> None:
    uri = AtUri.make(Did.parse("did:plc:abc"), "app.bsky.feed.post", "3jzfcijpj2z2a")
    assert uri == "at://did:plc:abc/app.bsky.feed.post/3jzfcijpj2z2a"
    assert AtUri.make("alice.test") == "at://alice.test"
    assert AtUri.make("alice.test", "app.bsky.actor.profile") == (
        "at://alice.test/app.bsky.actor.profile"
    )
    with pytest.raises(InvalidAtUriError, match="needs a collection"):
        AtUri.make("alice.test", None, "self")
    with pytest.raises(InvalidAtUriError, match="record key"):
        AtUri.make("alice.test", "app.bsky.feed.post", "a/b")


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("AT://did:plc:abc", "must start with 'at://'"),
        ("at://did:plc:abc/", "empty path segment"),
        ("at://did:plc:abc//x", "empty path segment"),
        ("at://did:plc:abc/a.b.c/d/e", "at most two path segments"),
        ("at://did:plc:abc/a.b/c", "collection is not a valid NSID"),
        ("at://did:plc:abc/a.b.c/%30", "record key"),
        ("at://did:plc:abc/a.b.c/..", "record key"),
        ("at://user@alice.test", "authority"),
        ("at://alice.test:443", "authority"),
        ("at://alice.test?x=1", "authority"),
        ("at://alice.test/a.b.c?x=1", "collection"),
        ("at://alice.test#", "fragment"),
        ("at://alice.test#frag", "fragment"),
        ("at://alice.test#/a b", "fragment"),
        ("at://alice.test#/a#/b", "at most one '#'"),
        ("at://" + "a" * 8200, "longer than 8192"),
    ],
)
def test_at_uri_reasons(bad: str, reason: str) -> None:
    with pytest.raises(InvalidAtUriError, match=reason):
        AtUri.parse(bad)


# -- record key / TID / CID / URI ------------------------------------------------------------


def test_record_key_reasons() -> None:
    with pytest.raises(InvalidRecordKeyError, match=re.escape("'.' and '..'")):
        RecordKey.parse("..")
    with pytest.raises(InvalidRecordKeyError, match="may only contain"):
        RecordKey.parse("a/b")
    with pytest.raises(InvalidRecordKeyError, match="longer than 512"):
        RecordKey.parse("o" * 513)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("3jzfcijpj2z2", "exactly 13"),
        ("3JZFCIJPJ2Z2A", "lowercase"),
        ("3jzfcijpj2z21", "characters must come from"),
        ("kjzfcijpj2z2a", "first character"),
    ],
)
def test_tid_reasons(bad: str, reason: str) -> None:
    with pytest.raises(InvalidTidError, match=reason):
        Tid.parse(bad)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR", "CIDv0"),
        ("bafy", "shorter than 8"),
        ("bafy.reie5737gdxlw5i64vzichcalba3z2v5n6", "multibase alphabets"),
        ("Xafyreie5737gdxlw5i64vzichcalba3z2v5n6", "not a multibase prefix"),
        ("b" + "a" * 256, "longer than 256"),
    ],
)
def test_cid_reasons(bad: str, reason: str) -> None:
    with pytest.raises(InvalidCidStringError, match=reason):
        CidString.parse(bad)


@pytest.mark.parametrize(
    "good",
    [
        "bafkreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm",
        "BAFYREIE5737GDXLW5I64VZICHCALBA3Z2V5N6ICIFVX5XYTVSKE7MR3HPM",
        "uAXESIBo_-base64url",
        "MAXESIBo+/base64pad==",
    ],
)
def test_cid_other_multibases(good: str) -> None:
    assert CidString.parse(good) == good


def test_uri() -> None:
    uri = Uri.parse("HTTPS://example.com/\u00e9t\u00e9?q=1")
    assert uri.scheme == "HTTPS"
    assert Uri.parse("urn:isbn:0451450523") == "urn:isbn:0451450523"
    assert Uri.parse("ipld://bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm")
    assert Uri.parse("mailto:alice@example.com")


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("example.com", "missing scheme"),
        ("1http://x", "scheme must start with a letter"),
        ("ht_tp://x", "scheme"),
        ("http:", "nothing after the scheme"),
        ("http://", "nothing after the scheme"),
        ("file:///etc/passwd", "empty authority"),
        ("http://a\tb", "whitespace"),
        ("http://a\u2003b", "whitespace"),
        ("http://a\x7fb", "control"),
        ("http://a\x85b", "whitespace or control"),
        ("https://x/" + "x" * 8200, "longer than 8192"),
    ],
)
def test_uri_reasons(bad: str, reason: str) -> None:
    with pytest.raises(InvalidUriError, match=reason):
        Uri.parse(bad)


# -- datetime ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("1985-02-29T00:00:00Z", "day 29 does not exist"),
        ("1900-02-29T00:00:00Z", "day 29 does not exist"),
        ("1985-04-31T00:00:00Z", "day 31 does not exist"),
        ("1985-04-12T24:00:00Z", "hour 24"),
        ("1985-04-12T23:60:00Z", "minute 60"),
        ("1985-04-12T23:59:60Z", "no leap seconds"),
        ("1985-04-12T23:59:59+24:00", "offset"),
        ("1985-04-12T23:59:59+05:60", "offset"),
        ("1985-04-12T23:59:59-00:00", "-00:00"),
        ("0000-01-01T00:59:59+01:00", "before year 0000"),
        ("1985-04-12T23:59:59." + "1" * 44 + "Z", "longer than 64"),
        ("\u0661985-04-12T23:20:50Z", "must be YYYY"),  # Arabic-Indic digit
    ],
)
def test_datetime_strict_reasons(bad: str, reason: str) -> None:
    with pytest.raises(InvalidDatetimeError, match=reason):
        Datetime.parse(bad)


@pytest.mark.parametrize(
    "good",
    ["2000-02-29T00:00:00Z", "0000-02-29T12:00:00Z", "0000-01-01T01:00:00+01:00"],
)
def test_datetime_calendar_edges(good: str) -> None:
    assert Datetime.parse(good) == good


@pytest.mark.parametrize(
    "value",
    [
        "1985-04-12T23:20:50.123z",
        "1985-04-12t23:20:50.123Z",
        "1985-04-12 23:20:50.123Z",
        "1985-04-12T23:20:50.123",
        "1985-04-12T23:20:50",
        "1985-04-12T23:20Z",
        "1985-04-12T23:20:50,5Z",
        "1985-04-12T23:20:50.123+0000",
        "1985-04-12T23:20:50.123+00",
        "1985-04-12T23:20:50.123-00:00",
        "1985-04-12",
    ],
)
def test_datetime_lenient_accepts_what_strict_rejects(value: str) -> None:
    with pytest.raises(InvalidDatetimeError):
        Datetime.parse(value)
    parsed = Datetime.parse(value, strict=False)
    assert parsed == value
    assert not parsed.is_strict()
    assert parsed.to_datetime().tzinfo is not None


@pytest.mark.parametrize(
    "value",
    [
        "1985-04-32T23:20:50Z",
        "1985-13-12T23:20:50Z",
        " 1985-04-12T23:20:50Z",
        "1985-04-12T23:20:50Z ",
        "85-04-12T23:20:50Z",
        "+001985-04-12T23:20:50.123Z",
        "23:20:50.123Z",
        "1985-04-12Z",
        "1985-04-12T23:20:50.123+",
        "1985\u201404-12T23:20:50Z",
        "yesterday",
    ],
)
def test_datetime_lenient_still_rejects_garbage(value: str) -> None:
    with pytest.raises(InvalidDatetimeError):
        Datetime.parse(value, strict=False)


def test_datetime_to_datetime() -> None:
    value = Datetime.parse("1985-04-12T23:20:50.1234567Z")
    converted = value.to_datetime()
    assert converted == datetime(1985, 4, 12, 23, 20, 50, 123456, tzinfo=UTC)
    assert value == "1985-04-12T23:20:50.1234567Z"  # unchanged
    offset = Datetime.parse("1985-04-12T23:20:50-07:00").to_datetime()
    assert offset.utcoffset() == timedelta(hours=-7)
    assert offset == datetime(1985, 4, 13, 6, 20, 50, tzinfo=UTC)
    naive_read = Datetime.parse("1985-04-12T23:20", strict=False).to_datetime()
    assert naive_read == datetime(1985, 4, 12, 23, 20, tzinfo=UTC)
    with pytest.raises(DatetimeRangeError):
        Datetime.parse("0000-01-01T00:00:00Z").to_datetime()


def test_datetime_canonical_forms() -> None:
    aware = datetime(2024, 1, 2, 3, 4, 5, 678999, tzinfo=timezone(timedelta(hours=2)))
    assert Datetime.from_datetime(aware) == "2024-01-02T01:04:05.678Z"
    assert type(Datetime.from_datetime(aware)) is Datetime
    with pytest.raises(InvalidDatetimeError, match="naive"):
        Datetime.from_datetime(datetime(2024, 1, 2))
    with pytest.raises(InvalidDatetimeError):
        Datetime.from_datetime("2024-01-02")  # type: ignore[arg-type]
    with pytest.raises(DatetimeRangeError):
        Datetime.from_datetime(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))))
    now = Datetime.now()
    assert now.is_strict()
    assert len(now) == 24
    assert now.endswith("Z")
    assert abs(now.to_datetime() - datetime.now(UTC)) < timedelta(seconds=5)
    lenient = Datetime.parse("1985-04-12 23:20:50.5+0130", strict=False)
    assert lenient.normalize() == "1985-04-12T21:50:50.500Z"
    assert Datetime.parse(lenient.normalize()) == lenient.normalize()


# -- language ------------------------------------------------------------------------------


def test_language_parts() -> None:
    parts = Language.parse("en-GB-boont-r-extended-sequence-x-private").parts
    assert parts.language == "en"
    assert parts.region == "GB"
    assert parts.variants == ("boont",)
    assert parts.extensions == (("r", ("extended", "sequence")),)
    assert parts.private_use == ("private",)
    parts = Language.parse("hy-Latn-IT-arevela").parts
    assert (parts.script, parts.region, parts.variants) == ("Latn", "IT", ("arevela",))
    parts = Language.parse("zh-yue-Hant-HK").parts
    assert parts.extlangs == ("yue",)
    assert Language.parse("es-419").parts.region == "419"
    assert Language.parse("de-CH-1901").parts.variants == ("1901",)
    assert Language.parse("x-whatever").primary == ""
    assert Language.parse("i-default").primary == "i-default"
    assert Language.parse("pt-BR").primary == "pt"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("JA", "must be lowercase"),
        ("Ja-JP", "must be lowercase"),
        ("jaja", "4-letter"),
        ("I-DEFAULT", "lowercase"),
    ],
)
def test_language_strict_only(value: str, reason: str) -> None:
    with pytest.raises(InvalidLanguageError, match=reason):
        Language.parse(value)
    lenient = Language.parse(value, strict=False)
    assert lenient == value
    assert not lenient.is_strict()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("en--US", "empty subtag"),
        ("en-", "empty subtag"),
        ("en_US", "only ASCII letters"),
        ("en-US-toolongsubtag", "longer than 8"),
        ("e", "2-8 ASCII letters"),
        ("e1", "2-8 ASCII letters"),
        ("en-a", "no subtags"),
        ("en-a-b-cd", "no subtags"),
        ("en-x", "private-use"),
        ("x", "private-use"),
        ("en-US-US", "unexpected subtag"),
        ("de-419-DE", "unexpected subtag"),
        ("en-abcd-abcd", "unexpected subtag"),
        ("\u00e9n", "only ASCII"),
    ],
)
def test_language_invalid_even_when_lenient(value: str, reason: str) -> None:
    with pytest.raises(InvalidLanguageError, match=reason):
        Language.parse(value, strict=False)
    with pytest.raises(InvalidLanguageError):
        Language.parse(value)


@pytest.mark.parametrize(
    "value",
    ["en-x-a-a", "en-a-foo-b-foo", "sl-rozaj-biske-1994", "en-u-co-phonebk-x-u-u", "abcde"],
)
def test_language_strict_accepts(value: str) -> None:
    assert Language.parse(value) == value

"""Hypothesis properties of the identifier types.

- ``is_valid_x(s)`` is exactly "``parse`` succeeds", for arbitrary input, and ``parse``
  raises nothing but its own error class;
- parsing is idempotent: ``parse(str(parse(s))) == parse(s)``;
- each hand-written validator agrees with an independent oracle (the spec regexes, an
  RFC 5646 regex, Python's ISO parser) on generated near-valid strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from hypothesis import assume, event, example, given, settings
from hypothesis import strategies as st

from lexforge.runtime.syntax import (
    AtIdentifier,
    AtUri,
    CidString,
    Datetime,
    Did,
    Handle,
    Language,
    Nsid,
    RecordKey,
    SyntaxStr,
    Tid,
    Uri,
    is_valid_at_identifier,
    is_valid_at_uri,
    is_valid_cid,
    is_valid_datetime,
    is_valid_did,
    is_valid_handle,
    is_valid_language,
    is_valid_nsid,
    is_valid_record_key,
    is_valid_tid,
    is_valid_uri,
)

PAIRS: list[tuple[type[SyntaxStr], Callable[[object], bool]]] = [
    (AtIdentifier, is_valid_at_identifier),
    (AtUri, is_valid_at_uri),
    (CidString, is_valid_cid),
    (Datetime, is_valid_datetime),
    (Did, is_valid_did),
    (Handle, is_valid_handle),
    (Language, is_valid_language),
    (Nsid, is_valid_nsid),
    (RecordKey, is_valid_record_key),
    (Tid, is_valid_tid),
    (Uri, is_valid_uri),
]

# The regexes as the spec writes them (lexicon.md §4), used as oracles.
SPEC_DID = re.compile(r"did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]")
SPEC_HANDLE = re.compile(
    r"([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
)
SPEC_NSID = re.compile(
    r"[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+"
    r"(\.[a-zA-Z]([a-zA-Z0-9]{0,62})?)"
)
SPEC_TID = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
SPEC_RKEY = re.compile(r"[a-zA-Z0-9_~.:-]{1,512}")
SPEC_DATETIME = re.compile(
    r"[0-9]{4}-(0[1-9]|1[012])-([0-2][0-9]|3[01])T([0-1][0-9]|2[0-3]):[0-5][0-9]:"
    r"([0-5][0-9]|60)(\.[0-9]+)?(Z|[+-]([0-1][0-9]|2[0-3]):[0-5][0-9])"
)

# RFC 5646 §2.1 ABNF as one case-insensitive regex: the lenient language oracle.
_ALNUM = "[a-z0-9]"
RFC5646 = re.compile(
    r"(?:"
    r"(?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4}|[a-z]{5,8})"  # language (+extlang)
    r"(?:-[a-z]{4})?"  # script
    r"(?:-(?:[a-z]{2}|[0-9]{3}))?"  # region
    rf"(?:-(?:{_ALNUM}{{5,8}}|[0-9]{_ALNUM}{{3}}))*"  # variants
    rf"(?:-[0-9a-wy-z](?:-{_ALNUM}{{2,8}})+)*"  # extensions
    rf"(?:-x(?:-{_ALNUM}{{1,8}})+)?"  # private use
    rf"|x(?:-{_ALNUM}{{1,8}})+"
    r"|en-gb-oed|i-ami|i-bnn|i-default|i-enochian|i-hak|i-klingon|i-lux|i-mingo"
    r"|i-navajo|i-pwn|i-tao|i-tay|i-tsu|sgn-be-fr|sgn-be-nl|sgn-ch-de"
    r"|art-lojban|cel-gaulish|no-bok|no-nyn|zh-guoyu|zh-hakka|zh-min|zh-min-nan|zh-xiang"
    r")",
    re.IGNORECASE | re.ASCII,
)


def mutated(base: st.SearchStrategy[str], alphabet: str) -> st.SearchStrategy[str]:
    """Valid-looking strings and small mutations of them (insert, delete, swap case)."""

    @st.composite
    def mutate(draw: st.DrawFn) -> str:
        text = draw(base)
        for _ in range(draw(st.integers(0, 2))):
            op = draw(st.sampled_from(["insert", "delete", "case", "keep"]))
            pos = draw(st.integers(0, len(text)))
            if op == "insert":
                text = text[:pos] + draw(st.sampled_from(alphabet)) + text[pos:]
            elif op == "delete" and text:
                text = text[:pos] + text[pos + 1 :]
            elif op == "case":
                text = text.swapcase()
        return text

    return mutate()


ANY_TEXT = st.one_of(
    st.text(),
    st.text(alphabet="did:plcatAT/.-_~%#?@ 0123456789Zz+xX\n", max_size=40),
)


# -- universal properties -------------------------------------------------------------------


def _check_consistent(cls: type[SyntaxStr], is_valid: Callable[[object], bool], s: str) -> None:
    try:
        parsed = cls.parse(s)
    except cls.ERROR:
        assert not is_valid(s)
        return
    assert is_valid(s)
    assert type(parsed) is cls
    again = cls.parse(str(parsed))
    assert again == parsed
    assert type(again) is cls
    assert str.__str__(cls(parsed)) == str.__str__(parsed)


@given(ANY_TEXT)
@settings(max_examples=300)
@example("did:plc:abc")
@example("at://alice.test/app.bsky.feed.post/3jzfcijpj2z2a")
def test_is_valid_matches_parse_for_arbitrary_text(s: str) -> None:
    for cls, is_valid in PAIRS:
        _check_consistent(cls, is_valid, s)


@given(st.one_of(st.none(), st.integers(), st.binary(), st.lists(st.text()), st.floats()))
@settings(max_examples=50)
def test_is_valid_never_raises_on_non_strings(value: object) -> None:
    for _, is_valid in PAIRS:
        assert is_valid(value) is False


# -- oracles --------------------------------------------------------------------------------


@given(mutated(st.from_regex(SPEC_DID, fullmatch=True), "dD:%/#?a1-_."))
@settings(max_examples=300)
def test_did_agrees_with_spec_regex(s: str) -> None:
    expected = bool(SPEC_DID.fullmatch(s)) and len(s) <= 2048
    event(f"valid={expected}")
    assert is_valid_did(s) == expected
    _check_consistent(Did, is_valid_did, s)


@given(mutated(st.from_regex(SPEC_HANDLE, fullmatch=True), ".-_aA0é"))
@settings(max_examples=300)
def test_handle_agrees_with_spec_regex(s: str) -> None:
    expected = bool(SPEC_HANDLE.fullmatch(s)) and len(s) <= 253
    event(f"valid={expected}")
    assert is_valid_handle(s) == expected
    _check_consistent(Handle, is_valid_handle, s)
    if expected:
        assert Handle.parse(s) == s.lower()


@given(mutated(st.from_regex(SPEC_NSID, fullmatch=True), ".-_aA0*"))
@settings(max_examples=300)
def test_nsid_agrees_with_spec_regex(s: str) -> None:
    expected = bool(SPEC_NSID.fullmatch(s)) and len(s) <= 317
    event(f"valid={expected}")
    assert is_valid_nsid(s) == expected
    _check_consistent(Nsid, is_valid_nsid, s)
    if expected:
        parsed = Nsid.parse(s)
        assert parsed.name == s.rpartition(".")[2]  # name keeps its case
        assert parsed.lower() == s.lower()


@given(mutated(st.from_regex(SPEC_TID, fullmatch=True), "2jkzA1-"))
@settings(max_examples=200)
def test_tid_agrees_with_spec_regex(s: str) -> None:
    event(f"valid={bool(SPEC_TID.fullmatch(s))}")
    assert is_valid_tid(s) == bool(SPEC_TID.fullmatch(s))
    if is_valid_tid(s):
        assert Tid.from_int(Tid.parse(s).to_int()) == s


@given(mutated(st.from_regex(SPEC_RKEY, fullmatch=True), "./#@ a"))
@settings(max_examples=200)
def test_record_key_agrees_with_spec_regex(s: str) -> None:
    expected = bool(SPEC_RKEY.fullmatch(s)) and s not in {".", ".."}
    event(f"valid={expected}")
    assert is_valid_record_key(s) == expected


def _python_accepts(s: str) -> bool:
    try:
        datetime.fromisoformat(s)
    except ValueError:
        return False
    return True


@given(mutated(st.from_regex(SPEC_DATETIME, fullmatch=True), "0123456789:.TZz -+"))
@settings(max_examples=300)
@example("1985-04-12T23:59:60Z")
@example("1985-04-12T23:59:59-00:00")
def test_strict_datetime_agrees_with_spec_regex_and_calendar(s: str) -> None:
    assume(not s.startswith("0000"))  # below datetime.MINYEAR; covered by unit tests
    expected = (
        bool(SPEC_DATETIME.fullmatch(s))
        and len(s) <= 64
        and not s.endswith("-00:00")
        and _python_accepts(s)
    )
    event(f"valid={expected}")
    assert is_valid_datetime(s) == expected
    _check_consistent(Datetime, is_valid_datetime, s)
    if expected:
        # Strict values are lenient values, and convert to the same instant Python sees.
        assert is_valid_datetime(s, strict=False)
        parsed = Datetime.parse(s)
        assert parsed.to_datetime() == datetime.fromisoformat(s)
        assert Datetime.parse(parsed.normalize()).to_datetime() == parsed.to_datetime().replace(
            microsecond=parsed.to_datetime().microsecond // 1000 * 1000
        )


@given(mutated(st.from_regex(SPEC_DATETIME, fullmatch=True), "0123456789:.TtZz -+,"))
@settings(max_examples=200)
def test_strict_datetimes_are_a_subset_of_lenient(s: str) -> None:
    if is_valid_datetime(s):
        assert is_valid_datetime(s, strict=False)
    lenient_ok = is_valid_datetime(s, strict=False)
    if lenient_ok and not s.startswith("0000"):
        Datetime.parse(s, strict=False).to_datetime()  # always convertible


SUBTAGS = st.one_of(
    st.from_regex(r"[a-zA-Z]{1,8}", fullmatch=True),
    st.from_regex(r"[0-9]{1,4}", fullmatch=True),
    st.from_regex(r"[0-9][a-zA-Z0-9]{3}", fullmatch=True),
    st.sampled_from(["x", "X", "a", "u", "i", "en", "DE", "Latn", "419", "1901", "rozaj"]),
)
LANGUAGE_LIKE = st.lists(SUBTAGS, min_size=1, max_size=7).map("-".join)


@given(st.one_of(LANGUAGE_LIKE, mutated(LANGUAGE_LIKE, "-_x1")))
@settings(max_examples=500)
@example("zh-min-nan")
@example("en-GB-oed")
def test_lenient_language_agrees_with_rfc5646_regex(s: str) -> None:
    event(f"valid={bool(RFC5646.fullmatch(s))}, strict={is_valid_language(s)}")
    assert is_valid_language(s, strict=False) == bool(RFC5646.fullmatch(s))
    if is_valid_language(s):
        assert is_valid_language(s, strict=False)
    _check_consistent(Language, is_valid_language, s)


@st.composite
def at_uri_parts(draw: st.DrawFn) -> tuple[str, str | None, str | None]:
    authority = draw(
        st.one_of(
            st.from_regex(r"did:[a-z]{1,5}:[a-zA-Z0-9._-]{1,20}", fullmatch=True),
            st.from_regex(r"[a-zA-Z][a-zA-Z0-9]{0,8}\.[a-zA-Z]{2,5}", fullmatch=True),
        )
    )
    collection = draw(st.one_of(st.none(), st.from_regex(SPEC_NSID, fullmatch=True)))
    rkey = None
    if collection is not None:
        rkey = draw(st.one_of(st.none(), st.from_regex(r"[a-zA-Z0-9_~.:-]{3,20}", fullmatch=True)))
    return authority, collection, rkey


@given(at_uri_parts())
@settings(max_examples=300)
def test_at_uri_parts_round_trip(parts: tuple[str, str | None, str | None]) -> None:
    authority, collection, rkey = parts
    assume(collection is None or len(collection) <= 317)
    uri = AtUri.make(authority, collection, rkey)
    assert uri.authority == AtIdentifier.parse(authority).value
    assert uri.collection == (Nsid.parse(collection) if collection else None)
    assert uri.rkey == rkey
    assert AtUri.parse(uri.normalize()).normalize() == uri.normalize()
    _check_consistent(AtUri, is_valid_at_uri, str(uri))


@given(st.text(alphabet="bafyreiQmzu0123456789+/=_-.: ", min_size=0, max_size=70))
@settings(max_examples=200)
def test_cid_consistent(s: str) -> None:
    _check_consistent(CidString, is_valid_cid, s)

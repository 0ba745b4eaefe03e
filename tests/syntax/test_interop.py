"""The atproto interop syntax vectors, one test per line.

Lines are used exactly as written (leading/trailing spaces are part of the value);
``#`` lines are comments and empty lines are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from _pytest.mark import ParameterSet

from lexforge.runtime.syntax import (
    AtIdentifier,
    AtUri,
    CidString,
    Datetime,
    Did,
    Handle,
    InvalidSyntaxError,
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

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "syntax"

TYPES: dict[str, tuple[type[SyntaxStr], Callable[[object], bool]]] = {
    "atidentifier": (AtIdentifier, is_valid_at_identifier),
    "aturi": (AtUri, is_valid_at_uri),
    "cid": (CidString, is_valid_cid),
    "datetime": (Datetime, is_valid_datetime),
    "did": (Did, is_valid_did),
    "handle": (Handle, is_valid_handle),
    "language": (Language, is_valid_language),
    "nsid": (Nsid, is_valid_nsid),
    "recordkey": (RecordKey, is_valid_record_key),
    "tid": (Tid, is_valid_tid),
    "uri": (Uri, is_valid_uri),
}


def _lines(filename: str) -> list[tuple[str, int, str]]:
    """(file stem, line number, value) for every value line of a vector file."""
    text = (VECTORS / filename).read_bytes().decode("utf-8")
    out = []
    # split("\n"), not splitlines(): values may contain U+2028 and friends.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line or line.startswith("#"):
            continue
        out.append((filename.removesuffix(".txt"), number, line))
    return out


def _params(suffix: str) -> list[ParameterSet]:
    params = []
    for path in sorted(VECTORS.glob(f"*_{suffix}.txt")):
        for stem, number, value in _lines(path.name):
            kind = stem.split("_", 1)[0]
            params.append(pytest.param(kind, value, id=f"{stem}:{number}"))
    return params


VALID = _params("syntax_valid")
INVALID = _params("syntax_invalid")
PARSE_INVALID = _params("parse_invalid")


def test_every_vector_file_is_used() -> None:
    files = {path.name for path in VECTORS.glob("*.txt")}
    kinds = {name.split("_", 1)[0] for name in files}
    assert kinds == set(TYPES)
    assert len(files) == 24
    # Counts as of snapshot 056e5741; a change means the vendored files changed.
    assert len(VALID) == 244
    assert len(INVALID) == 281
    assert len(PARSE_INVALID) == 11


@pytest.mark.parametrize(("kind", "value"), VALID)
def test_valid(kind: str, value: str) -> None:
    cls, is_valid = TYPES[kind]
    parsed = cls.parse(value)
    assert type(parsed) is cls
    assert is_valid(value)
    if kind in {"handle"} or (kind == "atidentifier" and not value.startswith("did:")):
        assert parsed == value.lower()
    elif kind == "nsid":
        authority, _, name = value.rpartition(".")
        assert parsed == f"{authority.lower()}.{name}"
    else:
        assert parsed == value
    # Valid under the strict rules means valid under the lenient ones too.
    if cls is Datetime:
        assert Datetime.parse(value, strict=False) == value
    if cls is Language:
        assert Language.parse(value, strict=False) == value


@pytest.mark.parametrize(("kind", "value"), INVALID)
def test_invalid(kind: str, value: str) -> None:
    cls, is_valid = TYPES[kind]
    with pytest.raises(cls.ERROR):
        cls.parse(value)
    with pytest.raises(cls.ERROR):
        cls(value)
    assert not is_valid(value)


@pytest.mark.parametrize(("kind", "value"), PARSE_INVALID)
def test_parse_invalid_rejected_by_strict_parser(kind: str, value: str) -> None:
    cls, is_valid = TYPES[kind]
    with pytest.raises(cls.ERROR) as info:
        cls.parse(value)
    assert isinstance(info.value, InvalidSyntaxError)
    assert not is_valid(value)


@pytest.mark.parametrize(("kind", "value"), PARSE_INVALID)
def test_parse_invalid_under_lenient_rules(kind: str, value: str) -> None:
    """Lenient language accepts well-formed-but-invalid tags (what the reference's
    permissive validator does); a datetime that is not a real instant stays invalid."""
    if kind == "language":
        assert Language.parse(value, strict=False) == value
        assert is_valid_language(value, strict=False)
    else:
        assert kind == "datetime"
        assert not is_valid_datetime(value, strict=False)

"""Hostile input: every type rejects huge or pathological strings fast (lengths are
capped before any regex runs, and no pattern backtracks catastrophically)."""

from __future__ import annotations

import contextlib
import functools
import time

import pytest

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
)

TYPES: list[type[SyntaxStr]] = [
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

BUDGET_S = 0.010  # "well under 10 ms" is the requirement; typical is < 0.1 ms


@functools.cache
def _shapes(n: int) -> dict[str, str]:
    """Strings built to make a backtracking regex work hard, exactly ``n`` characters."""

    def fill(prefix: str, unit: str, suffix: str = "") -> str:
        body = prefix + unit * (n // len(unit) + 1)
        return (body[: max(n - len(suffix), 0)] + suffix)[:n]

    return {
        "letters": fill("", "a"),
        "digits": fill("", "1"),
        "did": fill("did:plc:", "a"),
        "did-colons": fill("did:a:", ":", "%"),
        "labels": fill("", "a."),
        "hyphens": fill("", "a-"),
        "label-62": fill("", "a" * 62 + "."),
        "at-uri": fill("at://", "a."),
        "at-uri-path": fill("at://did:plc:abc/a.b.c/", "x"),
        "datetime": fill("1985-04-12T23:20:50.", "1", "Z"),
        "uri": fill("https://", "x", " "),
        "language": fill("en-", "-abcde"),
        "nul": fill("", "\x00"),
        "non-ascii": fill("", "\u00e9"),
    }


def _best_of_three(cls: type[SyntaxStr], text: str) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        with contextlib.suppress(InvalidSyntaxError):
            cls.parse(text)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("cls", TYPES, ids=lambda cls: cls.__name__)
def test_million_character_input_is_rejected_fast(cls: type[SyntaxStr]) -> None:
    for name, text in _shapes(1_000_000).items():
        with pytest.raises(cls.ERROR, match="longer than"):
            cls.parse(text)
        assert _best_of_three(cls, text) < BUDGET_S, name


@pytest.mark.parametrize("cls", TYPES, ids=lambda cls: cls.__name__)
def test_pathological_input_at_the_length_cap_is_fast(cls: type[SyntaxStr]) -> None:
    for n in (cls.MAX_LENGTH, cls.MAX_LENGTH - 1):
        for name, text in _shapes(n).items():
            assert _best_of_three(cls, text) < BUDGET_S, (name, n)


@pytest.mark.parametrize(
    ("cls", "limit"),
    [
        (Did, 2048),
        (Handle, 253),
        (Nsid, 317),
        (AtUri, 8192),
        (RecordKey, 512),
        (Datetime, 64),
        (CidString, 256),
        (Uri, 8192),
        (Tid, 13),
        (Language, 256),
        (AtIdentifier, 2048),
    ],
)
def test_documented_length_caps(cls: type[SyntaxStr], limit: int) -> None:
    assert limit == cls.MAX_LENGTH

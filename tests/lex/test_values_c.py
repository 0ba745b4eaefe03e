"""The C value constructors of the fast validator (``lexforge.runtime.lex._values``).

``BlobChecker`` (the fast form of a blob field) must take a subset of what the full form
takes (``validate_blob`` and the field's ``BlobConstraints``) and build an identical
``Blob``; it must also take every common blob (or the fast path would silently be lost),
at least whatever the pure-Python fast form takes. ``StrMaker(cls)`` must be
``str.__new__(cls, ...)``. Plus: the extension is active wherever it could be built, the
pure-Python forms still work (``LEXFORGE_LEX_BACKEND=python``), and nothing leaks.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import os
import pickle
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import PydanticCustomError, SchemaValidator

from lexforge.generated.models.app.bsky.embed import images
from lexforge.runtime import syntax
from lexforge.runtime.data.blob import Blob
from lexforge.runtime.data.cid import CID
from lexforge.runtime.lex import datamodel, formats
from lexforge.runtime.lex.constraints import BlobConstraints
from tests.buildenv import can_build_extensions

_values = pytest.importorskip("lexforge.runtime.lex._values")

ROOT = Path(__file__).resolve().parents[2]
RAW = "bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"
RAW2 = "bafkreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
CBOR = "bafyreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"
MAX = 2**53 - 1


def test_accelerator_is_active_when_buildable() -> None:
    if os.environ.get("LEXFORGE_LEX_BACKEND") == "python":
        assert datamodel._BlobChecker is None
        assert formats._StrMaker is None
        return
    if not can_build_extensions():  # pragma: no cover - depends on the machine
        pytest.skip("no C compiler or Python.h here: the pure-Python forms are expected")
    spec = importlib.util.find_spec("lexforge.runtime.lex._values")
    assert spec is not None, (
        "lexforge.runtime.lex._values is not built although a compiler is available: "
        "reinstall (pip install -e .) and check the compiler output"
    )
    assert datamodel._BlobChecker is _values.BlobChecker
    assert formats._StrMaker is _values.StrMaker
    schema = datamodel.fast_blob_schema(None, None)
    assert schema["type"] == "function-plain"
    assert type(schema["function"]["function"]) is _values.BlobChecker


# --- BlobChecker ---------------------------------------------------------------------

# (accept, max_size) of the fields the checker is tried as.
CONFIGS: list[tuple[tuple[str, ...] | None, int | None]] = [
    (None, None),
    (("image/*",), 1_000_000),
    (("image/png", "image/jpeg"), 5000),
    (("video/mp4", "IMAGE/*"), None),
    (("*/*",), 0),
    (("text/ht*", "image/PNG"), 10),  # not MIME patterns / upper case
    ((), None),
    (None, -5),
    (None, 2**60),
]


def checker(accept: tuple[str, ...] | None, max_size: int | None) -> Any:
    schema = datamodel.fast_blob_schema(accept, max_size)
    if datamodel._BlobChecker is None:  # pragma: no cover - LEXFORGE_LEX_BACKEND=python
        pytest.skip("the C blob checker is off")
    return schema["function"]["function"]


def python_fast_form(accept: tuple[str, ...] | None, max_size: int | None) -> SchemaValidator:
    limit = MAX if max_size is None else max(-1, min(max_size, MAX))
    return SchemaValidator(datamodel._fast_blob_dataclass_schema(accept, limit))


def full(value: object, accept: tuple[str, ...] | None, max_size: int | None) -> Blob | None:
    """The full form's result, or None where it refuses."""
    try:
        return BlobConstraints(accept, max_size).check(datamodel.validate_blob(value))
    except PydanticCustomError:
        return None


def assert_identical(got: Blob, want: Blob) -> None:
    assert type(got) is Blob
    assert got == want
    assert type(got.ref) is CID
    assert got.ref.bytes == want.ref.bytes
    assert got.ref._parts == want.ref._parts
    assert str(got.ref) == str(want.ref)
    assert type(got.mime_type) is type(want.mime_type)
    assert got.mime_type == want.mime_type
    assert type(got.size) is type(want.size)
    assert got.size == want.size
    assert got.legacy_cid is None
    assert want.legacy_cid is None


class Text(str):
    pass


class Int(int):
    pass


mimes = st.sampled_from(
    [
        "image/jpeg",
        "image/png",
        "IMAGE/PNG",
        "image/png; q=1",
        " image/png",
        "video/mp4",
        "video/mp4\n",
        "text/html",
        "image/é",
        "imagé/png",
        "image/",
        "image",
        "",
        "/",
        "\ud800/x",
        Text("image/png"),
    ]
) | st.text(max_size=12)
sizes = st.sampled_from([0, 1, 5000, 5001, 1_000_000, MAX, MAX + 1, 2**64, -1, -(2**70)]) | (
    st.sampled_from([True, False, 1.0, "5", None, Int(5)])
)


def refs() -> st.SearchStrategy[object]:
    return st.sampled_from(
        [
            {"$link": RAW},
            {"$link": RAW2},
            {"$link": CBOR},
            {"$link": RAW[:-1] + "z"},  # non-zero trailing bits
            {"$link": RAW[:-1]},
            {"$link": RAW + "a"},
            {"$link": RAW.upper()},
            {"$link": "bafkreiaaaa" + "=" * 49},
            {"$link": "bafkreq" + RAW[7:]},  # digest length byte 0x21
            {"$link": Text(RAW)},
            {"$link": RAW, "x": 1},
            {"$link": 1},
            {},
            CID.parse(RAW),
            CID.parse(CBOR),
            RAW,
            None,
        ]
    )


@st.composite
def blob_inputs(draw: st.DrawFn) -> object:
    value: dict[object, object] = {
        "$type": draw(st.sampled_from(["blob", "blob", "blob", "Blob", Text("blob"), 1])),
        "ref": draw(refs()),
        "mimeType": draw(mimes),
        "size": draw(sizes),
    }
    change = draw(st.sampled_from(["none", "none", "drop", "extra", "legacy", "blob", "other"]))
    if change == "drop":
        del value[draw(st.sampled_from(sorted(value, key=str)))]
    elif change == "extra":
        value[draw(st.sampled_from(["extra", "cid", 1]))] = 1
    elif change == "legacy":
        return {"cid": RAW, "mimeType": value["mimeType"]}
    elif change == "blob":
        ref = value["ref"]
        mime, size = value["mimeType"], value["size"]
        if isinstance(ref, CID) and isinstance(mime, str) and "/" in mime:
            try:
                return Blob(ref, mime, size)  # type: ignore[arg-type]
            except ValueError:
                pass
    elif change == "other":
        return draw(st.sampled_from([None, "blob", [value], {"ref": value}]))
    return value


@settings(max_examples=500, deadline=None)
@given(value=blob_inputs(), config=st.sampled_from(CONFIGS))
def test_blob_checker_takes_a_subset_with_identical_results(
    value: object, config: tuple[tuple[str, ...] | None, int | None]
) -> None:
    accept, max_size = config
    try:
        got = checker(accept, max_size)(value)
    except ValueError:
        return
    want = full(value, accept, max_size)
    assert want is not None, value
    assert_identical(got, want)
    if isinstance(value, Blob):
        assert got is value  # as the full form returns it
    else:
        assert got.ref._str == str(got.ref)  # the text cached, as CID.parse caches it


common_blobs = st.builds(
    lambda ref, mime, size: {"$type": "blob", "ref": ref, "mimeType": mime, "size": size},
    st.sampled_from([{"$link": RAW}, {"$link": RAW2}, CID.parse(RAW)]),
    st.sampled_from(["image/jpeg", "image/png", "image/webp", "video/mp4", "image/é"]),
    st.integers(0, 10_000),
)


@settings(max_examples=300, deadline=None)
@given(value=common_blobs | blob_inputs(), config=st.sampled_from(CONFIGS))
def test_blob_checker_takes_whatever_the_python_fast_form_takes(
    value: object, config: tuple[tuple[str, ...] | None, int | None]
) -> None:
    accept, max_size = config
    try:
        expected = python_fast_form(accept, max_size).validate_python(value)
    except pydantic.ValidationError:
        return
    if not isinstance(value, dict) or any(
        type(v) not in (str, int, dict, CID) for v in value.values()
    ):
        return  # subclasses of str or int: the C form leaves them to the full form
    ref = value["ref"]
    if isinstance(ref, dict) and any(type(v) is not str for v in ref.values()):
        return
    assert_identical(checker(accept, max_size)(value), expected)


def test_blob_checker_takes_the_common_shapes() -> None:
    link = {"$type": "blob", "ref": {"$link": RAW}, "mimeType": "image/jpeg", "size": 5000}
    cid = {**link, "ref": CID.parse(RAW)}
    for accept, max_size in [(None, None), (("image/*",), 1_000_000), (("image/jpeg",), 5000)]:
        check = checker(accept, max_size)
        for value in (link, cid):
            blob = check(value)
            assert_identical(blob, Blob(CID.parse(RAW), "image/jpeg", 5000))
        instance = Blob(CID.parse(RAW), "image/jpeg", 5000)
        assert check(instance) is instance
    assert checker(None, None)(cid).ref is cid["ref"]
    assert checker(("*/*",), None)({**link, "mimeType": "x/y"}).mime_type == "x/y"


def test_blob_checker_refusals_are_value_errors() -> None:
    check = checker(("image/*",), 100)
    good = {"$type": "blob", "ref": {"$link": RAW}, "mimeType": "image/png", "size": 100}
    assert check(good).size == 100
    for bad in [
        {**good, "size": 101},
        {**good, "size": -1},
        {**good, "size": True},
        {**good, "size": 2**80},
        {**good, "mimeType": "video/mp4"},
        {**good, "mimeType": "IMAGE/png"},
        {**good, "ref": {"$link": CBOR}},
        {**good, "ref": CID.parse(CBOR)},
        {**good, "ref": {"$link": RAW[:-1] + "z"}},
        {**good, "extra": 1},
        {k: v for k, v in good.items() if k != "size"},
        Blob(CID.parse(RAW), "video/mp4", 5),
        Blob(CID.parse(RAW), "image/png", 500),
        Blob(CID.parse(RAW), "image/png", -1, legacy_cid=RAW),
        [good],
        None,
    ]:
        with pytest.raises(ValueError, match=r"."):  # any message: it is never shown
            check(bad)


def test_blob_checker_arguments() -> None:
    cls = _values.BlobChecker
    with pytest.raises(TypeError):
        cls(Blob, CID, CID.parse, None)
    with pytest.raises(TypeError):
        cls(Blob, CID, CID.parse, None, 1, extra=1)
    with pytest.raises(TypeError):
        cls(Blob, CID, CID.parse, ["image/"], 1)
    with pytest.raises(ValueError, match="accept entries"):
        cls(Blob, CID, CID.parse, ("image",), 1)
    with pytest.raises(ValueError, match="accept entries"):
        cls(Blob, CID, CID.parse, ("imagé/",), 1)
    with pytest.raises(TypeError):
        cls(Blob, CID, CID.parse, None, 1.0)
    with pytest.raises(TypeError):
        cls(dict, CID, CID.parse, None, 1)  # no such slots
    with pytest.raises(TypeError):
        cls(Blob, CID, 1, None, 1)
    check = cls(Blob, CID, CID.parse, ("image/",), 7)
    with pytest.raises(TypeError):
        check()
    with pytest.raises(TypeError):
        check({}, {})
    again = pickle.loads(pickle.dumps(check))
    value = {"$type": "blob", "ref": {"$link": RAW}, "mimeType": "image/png", "size": 7}
    assert again(value) == check(value)
    assert "limit=7" in repr(check)


def test_blob_checker_with_the_python_cid_parser() -> None:
    check = _values.BlobChecker(Blob, CID, CID.parse, None, MAX)
    value = {"$type": "blob", "ref": {"$link": RAW}, "mimeType": "image/png", "size": 7}
    assert_identical(check(value), Blob(CID.parse(RAW), "image/png", 7))


# --- model level ------------------------------------------------------------------------


def test_blob_instances_outside_the_constraints_are_refused() -> None:
    """A ``Blob`` instance goes through the field's checks (the fast forms used to
    return instances unchecked)."""
    image = {"alt": "", "image": Blob(CID.parse(RAW), "video/mp4", 5)}
    with pytest.raises(pydantic.ValidationError, match="is not accepted"):
        images.Image.model_validate(image)
    image["image"] = Blob(CID.parse(RAW), "image/png", 10**9)
    with pytest.raises(pydantic.ValidationError, match="larger than"):
        images.Image.model_validate(image)
    ok = Blob(CID.parse(RAW), "image/png", 5)
    assert images.Image.model_validate({"alt": "", "image": ok}).image is ok


def test_pure_python_forms_pass_the_fast_validator_tests() -> None:
    """The model-level differential tests, with the extension switched off."""
    env = {**os.environ, "LEXFORGE_LEX_BACKEND": "python"}
    tests = ["tests/lex/test_fast_validator.py", "tests/lex/test_fast_validator_all.py"]
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=600,
        capture_output=True,
    )
    code = (
        "from lexforge.runtime.lex import datamodel, formats;"
        "assert datamodel._BlobChecker is None and formats._StrMaker is None"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)


# --- StrMaker ---------------------------------------------------------------------------

SYNTAX = sorted(formats.FAST_RULES, key=lambda cls: cls.__name__)


class Odd(str):
    def __str__(self) -> str:
        return "odd"


def made(make: Any, value: object) -> tuple[object, ...]:
    try:
        out = make(value)
    except Exception as exc:
        return ("error", type(exc), str(exc))
    state = out.__dict__.copy()
    out.attribute = 1
    copied = pickle.loads(pickle.dumps(out))
    return (
        "ok",
        type(out),
        str.__str__(out),
        type(str.__str__(out)),
        hash(out),
        state,
        out.__dict__,
        type(copied),
        str.__str__(copied),
    )


@settings(max_examples=300, deadline=None)
@given(
    cls=st.sampled_from(SYNTAX),
    value=st.text(max_size=40)
    | st.sampled_from(["2024-01-01T00:00:00Z", "did:plc:x", "", "\ud800", Odd("x"), 5, None]),
)
def test_str_maker_is_str_new(cls: type[syntax.Did], value: object) -> None:
    if formats._StrMaker is None:  # pragma: no cover - LEXFORGE_LEX_BACKEND=python
        pytest.skip("the C StrMaker is off")
    maker = formats.instance_maker(cls)
    assert type(maker) is _values.StrMaker
    assert made(maker, value) == made(lambda v: str.__new__(cls, v), value)


def test_str_maker_arguments() -> None:
    for bad in (int, "x", bytes):
        with pytest.raises(TypeError):
            _values.StrMaker(bad)
    with pytest.raises(TypeError):
        _values.StrMaker()
    maker = _values.StrMaker(syntax.Did)
    assert maker.cls is syntax.Did
    with pytest.raises(TypeError):
        maker()
    with pytest.raises(TypeError):
        maker("a", "b")
    with pytest.raises(TypeError):
        maker(value="a")
    assert type(maker(*("did:x:y",))) is syntax.Did
    assert type(maker.__call__("did:x:y")) is syntax.Did
    again = pickle.loads(pickle.dumps(maker))
    assert type(again("did:x:y")) is syntax.Did
    assert repr(maker) == "StrMaker(Did)"
    assert type(_values.StrMaker(str)("x")) is str


def test_str_maker_reentrant_calls() -> None:
    """A call made while another is in progress (a finalizer run by a collection that
    the instance's allocation started) builds its own argument tuple."""
    maker = _values.StrMaker(syntax.Did)
    seen: list[object] = []

    class Cycle:
        def __init__(self) -> None:
            self.me = self

        def __del__(self) -> None:
            seen.append(maker("did:plc:inner"))

    old = gc.get_threshold()
    gc.set_threshold(1)
    try:
        for i in range(2000):
            Cycle()
            out = maker(f"did:plc:{i}")
            assert type(out) is syntax.Did
            assert out == f"did:plc:{i}"
    finally:
        gc.set_threshold(*old)
    gc.collect()
    assert seen
    assert all(type(x) is syntax.Did and x == "did:plc:inner" for x in seen)


# --- leaks ------------------------------------------------------------------------------


def test_no_leaks() -> None:
    check = checker(("image/*",), 10**6)
    maker = _values.StrMaker(syntax.Datetime)
    mime = "".join(["image/", "png"])  # not interned: its count is ours
    size = 10**6 - 1 + len(mime) - 9  # 999999: not a small cached int
    link = "".join([RAW[:10], RAW[10:]])
    good = {"$type": "blob", "ref": {"$link": link}, "mimeType": mime, "size": size}
    instance = Blob(CID.parse(RAW), mime, size)
    bad = [
        {**good, "size": 10**6 + 1},
        {**good, "ref": {"$link": link[:-1] + "z"}},
        {**good, "mimeType": "video/mp4"},
        {**good, "extra": 1},
        None,
    ]
    text = "".join(["2024-01-01T00:00:00", ".000Z"])

    def run(n: int) -> None:
        for _ in range(n):
            check(good)
            check(instance)
            maker(text)
            for value in bad:
                with contextlib.suppress(ValueError):
                    check(value)

    run(1000)
    counts = [sys.getrefcount(x) for x in (mime, size, link, text, good, instance)]
    tracemalloc.start()
    try:
        run(2000)
        before = tracemalloc.get_traced_memory()[0]
        run(20000)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert [sys.getrefcount(x) for x in (mime, size, link, text, good, instance)] == counts
    assert after - before < 64 * 1024, (before, after)

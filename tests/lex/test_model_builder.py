"""The fast validator's model form: a typed dict plus the C ``ModelBuilder``
(``runtime/lex/_models.c``), against pydantic's own model validator.

Instances must be indistinguishable: same ``__dict__`` (values and order), fields set,
extras (and their order), private state; and behave the same afterwards (assignment,
copies, pickling, equality). Models the form cannot reproduce (custom ``__init__``,
``model_post_init``, private attributes, non-trivial defaults) keep pydantic's validator.
"""

from __future__ import annotations

import copy
import inspect
import json
import pickle
from typing import Any

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.generated.models.app.bsky.embed import images
from lexforge.generated.models.app.bsky.feed import post
from lexforge.generated.models.app.bsky.graph import get_list
from lexforge.generated.models.com.atproto.repo import strong_ref
from lexforge.runtime.lex import LexModel, accel, fast
from lexforge.runtime.lex import model as model_module
from lexforge.runtime.lex.model import _fast_validator
from tests.buildenv import can_build_extensions

from .test_fast_validator import BLOB_CID, CID_TEXT, URI, realistic_posts

try:
    from lexforge.runtime.lex import _models
except ImportError:  # pragma: no cover - checked by test_the_accelerator_is_built
    _models = None  # type: ignore[assignment]

needs_c = pytest.mark.skipif(
    fast._ModelBuilder is None, reason="the C accelerator is not built here, or not used"
)


def state(model: pydantic.BaseModel) -> tuple[object, ...]:
    return (
        type(model),
        list(vars(model).items()),
        type(model.__pydantic_fields_set__),
        model.__pydantic_fields_set__,
        type(model.__pydantic_extra__),
        None if model.__pydantic_extra__ is None else list(model.__pydantic_extra__.items()),
        model.__pydantic_private__,
    )


def both(model: type[LexModel], data: Any) -> tuple[Any, Any]:
    fast_model = _fast_validator(model).validate_python(data)
    full_model = model.__pydantic_validator__.validate_python(data)
    assert state(fast_model) == state(full_model)
    return fast_model, full_model


def schema_types(schema: Any, found: set[str]) -> set[str]:
    if isinstance(schema, dict):
        if isinstance(schema.get("type"), str):
            found.add(schema["type"])
        for key, value in schema.items():
            if key != "metadata":
                schema_types(value, found)
    elif isinstance(schema, list):
        for item in schema:
            schema_types(item, found)
    return found


@needs_c
def test_the_fast_schema_has_no_model_nodes() -> None:
    post.Record.model_validate(realistic_posts(1)[0])
    types = schema_types(fast.fast_schema(post.Record.__pydantic_core_schema__), set())
    assert "model" not in types
    assert "typed-dict" in types


def test_instances_match_pydantics() -> None:
    for record in realistic_posts(200, seed=3):
        both(post.Record, record)
    record = {
        "$type": "app.bsky.feed.post",
        "text": "x",
        "createdAt": "2024-05-01T12:00:00Z",
        "zeta": 1,
        "alpha": {"a": [1, {"$link": CID_TEXT}]},
        "reply": {
            "root": {"uri": URI, "cid": CID_TEXT, "later": True},
            "parent": {"cid": CID_TEXT, "uri": URI},
        },
    }
    fast_model, _ = both(post.Record, record)
    assert list(fast_model.__pydantic_extra__) == ["zeta", "alpha"]
    assert fast_model.__pydantic_fields_set__ == {
        "py_type",
        "text",
        "created_at",
        "reply",
        "zeta",
        "alpha",
    }
    assert fast_model.reply is not None
    assert fast_model.reply.root.__pydantic_extra__ == {"later": True}


def test_defaults_are_applied_and_not_counted_as_set() -> None:
    fast_model, _ = both(get_list.Params, {"list": URI})
    assert fast_model.limit == 50
    assert fast_model.cursor is None
    assert fast_model.model_fields_set == {"list_"}
    assert fast_model.model_dump() == {"list": URI}
    given_limit, _ = both(get_list.Params, {"list": URI, "limit": 50})
    assert given_limit.model_fields_set == {"list_", "limit"}


def test_fields_given_by_python_name_go_to_the_full_validator() -> None:
    """The typed dict looks fields up by alias; a Python name (alone, or beside the
    alias, where pydantic keeps it as an extra field) makes the fast form refuse."""
    by_alias, _ = both(images.Image, {"alt": "", "image": blob(), "aspectRatio": ratio()})
    fast_validator = _fast_validator(images.Image)
    for data in (
        {"alt": "", "image": blob(), "aspect_ratio": ratio()},
        {"alt": "", "image": blob(), "aspectRatio": ratio(), "aspect_ratio": 1},
        {"$type": "app.bsky.embed.images#image", "py_type": 1, "alt": "", "image": blob()},
    ):
        if fast._ModelBuilder is not None:
            with pytest.raises(pydantic.ValidationError):
                fast_validator.validate_python(data)
        model = images.Image.model_validate(data)
        assert state(model) == state(images.Image.__pydantic_validator__.validate_python(data))
    by_name = images.Image.model_validate({"alt": "", "image": blob(), "aspect_ratio": ratio()})
    assert by_name == by_alias
    both_given = images.Image.model_validate(
        {"alt": "", "image": blob(), "aspectRatio": ratio(), "aspect_ratio": 1}
    )
    assert both_given.__pydantic_extra__ == {"aspect_ratio": 1}


def blob() -> dict[str, Any]:
    return {"$type": "blob", "ref": {"$link": BLOB_CID}, "mimeType": "image/png", "size": 10}


def ratio() -> dict[str, Any]:
    return {"width": 3, "height": 2}


def test_built_instances_behave_like_pydantics() -> None:
    ref = {"uri": URI, "cid": CID_TEXT, "extra": [1]}
    fast_model, full_model = both(strong_ref.Main, ref)
    assert fast_model == full_model
    assert repr(fast_model) == repr(full_model)
    assert fast_model.model_dump_json() == full_model.model_dump_json()
    assert pickle.loads(pickle.dumps(fast_model)) == fast_model
    assert copy.deepcopy(fast_model) == fast_model
    copied = fast_model.model_copy(update={"cid": CID_TEXT})
    assert state(copied)[1] == state(fast_model)[1]
    # Assignment updates the fields set; unknown attributes land in the extras.
    fast_model.uri = URI  # type: ignore[assignment]
    full_model.uri = URI  # type: ignore[assignment]
    fast_model.note = "n"
    full_model.note = "n"
    assert state(fast_model) == state(full_model)
    assert fast_model.model_dump() == full_model.model_dump()


def test_json_input_builds_the_same_instances() -> None:
    for record in realistic_posts(50, seed=5):
        text = json.dumps(record)
        fast_model = _fast_validator(post.Record).validate_json(text)
        full_model = post.Record.__pydantic_validator__.validate_json(text)
        assert state(fast_model) == state(full_model)


def test_models_the_form_cannot_reproduce_keep_pydantics_validator() -> None:
    class WithPrivate(strong_ref.Main):
        _seen: int = pydantic.PrivateAttr(default=0)

    class WithPostInit(strong_ref.Main):
        def model_post_init(self, context: Any, /) -> None:
            object.__setattr__(self, "touched", True)

    class WithInit(strong_ref.Main):
        def __init__(self, **data: Any) -> None:
            super().__init__(**data)

    ref = {"uri": URI, "cid": CID_TEXT}
    for cls in (WithPrivate, WithPostInit, WithInit):
        model = cls.model_validate(ref)
        assert type(model) is cls
        types = schema_types(fast.fast_schema(cls.__pydantic_core_schema__), set())
        assert "model" in types, cls
    assert WithPrivate.model_validate(ref).__pydantic_private__ == {"_seen": 0}
    assert WithPostInit.model_validate(ref).touched  # type: ignore[attr-defined]


def test_a_plain_subclass_gets_its_own_builder() -> None:
    class Sub(strong_ref.Main):
        pass

    model, _ = both(Sub, {"uri": URI, "cid": CID_TEXT})
    assert type(model) is Sub


def make_builder() -> Any:
    slots = pydantic.BaseModel.__dict__
    return _models.ModelBuilder(
        strong_ref.Main,
        ("py_type", "uri", "cid"),
        ("com.atproto.repo.strongRef", fast._ABSENT, fast._ABSENT),
        fast._ABSENT,
        slots["__pydantic_extra__"],
        slots["__pydantic_fields_set__"],
        slots["__pydantic_private__"],
    )


@needs_c
def test_the_builder_refuses_what_it_cannot_vouch_for() -> None:
    builder = make_builder()
    good = {"py_type": fast._ABSENT, "uri": URI, "cid": CID_TEXT}
    model = builder(dict(good))
    assert model.py_type == "com.atproto.repo.strongRef"
    assert model.model_fields_set == {"uri", "cid"}
    with pytest.raises(ValueError, match="expected a dict"):
        builder([good])
    with pytest.raises(ValueError, match="out of order"):
        builder({"uri": URI, "py_type": fast._ABSENT, "cid": CID_TEXT})
    with pytest.raises(ValueError, match="missing fields"):
        builder({"uri": URI})
    with pytest.raises(TypeError):
        builder()
    with pytest.raises(TypeError):
        builder(good, extra=1)
    with pytest.raises(ValueError, match="differ in length"):
        _models.ModelBuilder(strong_ref.Main, ("a",), (), None, *([pydantic.BaseModel] * 3))
    with pytest.raises(TypeError):
        _models.ModelBuilder(strong_ref.Main, (1,), (2,), None, *([object()] * 3))


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["uri", "cid", "$type", "py_type", "x", "y", "$link"]),
        st.one_of(st.none(), st.integers(), st.text(max_size=5), st.just(URI), st.just(CID_TEXT)),
    )
)
def test_random_strong_refs_agree(data: dict[str, Any]) -> None:
    fast_validator = _fast_validator(strong_ref.Main)
    try:
        fast_model = fast_validator.validate_python(data)
    except pydantic.ValidationError:
        return
    assert state(fast_model) == state(strong_ref.Main.__pydantic_validator__.validate_python(data))


def test_the_accelerator_is_built_and_used() -> None:
    """setup.py marks the extension optional: a compile error must not pass silently."""
    if accel.BACKEND == "python":
        assert fast._ModelBuilder is None
        return
    if not can_build_extensions():
        pytest.skip("no C compiler or Python.h here: the pure-Python fallback is expected")
    assert _models is not None, "lexforge.runtime.lex._models did not build: pip install -e ."
    assert fast._ModelBuilder is _models.ModelBuilder
    assert model_module._FastEntry is _models.FastEntry


def test_without_the_accelerator_models_keep_pydantics_validator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fast, "_ModelBuilder", None)

    class Fresh(post.Record):
        pass

    record = realistic_posts(1)[0]
    model = Fresh.model_validate(record)
    assert type(model) is Fresh
    assert "model" in schema_types(fast.fast_schema(Fresh.__pydantic_core_schema__), set())
    assert state(model) == state(Fresh.__pydantic_validator__.validate_python(record))


# --- FastEntry: the class's own model_validate / model_validate_json ------------------------


@needs_c
def test_the_entry_points_are_c_and_look_like_the_classmethods() -> None:
    ref = {"uri": URI, "cid": CID_TEXT}
    strong_ref.Main.model_validate(ref)
    for name in ("model_validate", "model_validate_json"):
        entry = strong_ref.Main.__dict__[name]
        assert type(entry) is _models.FastEntry
        assert getattr(strong_ref.Main, name) is entry
        assert inspect.signature(entry) == inspect.signature(getattr(LexModel, name))
        assert entry.__doc__ == getattr(LexModel, name).__doc__
        assert entry.__name__ == name
    # An instance sees the same entry; a subclass gets the generic classmethod.
    model = strong_ref.Main.model_validate(ref)
    assert model.model_validate is strong_ref.Main.__dict__["model_validate"]

    class Sub(strong_ref.Main):
        pass

    assert type(Sub.model_validate(ref)) is Sub
    assert type(Sub.model_validate_json(json.dumps(ref))) is Sub


def test_the_entry_points_behave_like_the_generic_ones() -> None:
    ref = {"uri": URI, "cid": CID_TEXT}
    main = strong_ref.Main
    assert type(main.model_validate(ref)) is main
    assert type(main.model_validate_json(json.dumps(ref))) is main
    # Errors are the full validator's.
    bad = {"uri": "nope", "cid": CID_TEXT}
    with pytest.raises(pydantic.ValidationError) as caught:
        main.model_validate(bad)
    with pytest.raises(pydantic.ValidationError) as full_error:
        main.__pydantic_validator__.validate_python(bad)
    assert caught.value.errors() == full_error.value.errors()
    with pytest.raises(pydantic.ValidationError) as caught_json:
        main.model_validate_json(json.dumps(bad))
    assert caught_json.value.errors()[0]["type"] == full_error.value.errors()[0]["type"]
    # Options take the generic path (lax mode accepts what strict refuses... here: nothing
    # coerces a str, so check by_name/by_alias and context reach pydantic).
    assert main.model_validate(ref, by_alias=True) == main.model_validate(ref)
    assert main.model_validate_json(json.dumps(ref), context={}) == main.model_validate(ref)
    with pytest.raises(TypeError):
        main.model_validate()
    with pytest.raises(TypeError):
        main.model_validate(ref, ref)
    # Non-validation exceptions from the fast validator propagate as they are.
    with pytest.raises(pydantic.ValidationError):
        main.model_validate_json(b"\xff")


def test_without_the_accelerator_the_entry_points_are_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(model_module, "_FastEntry", None)

    class Fresh(strong_ref.Main):
        pass

    ref = {"uri": URI, "cid": CID_TEXT}
    assert type(Fresh.model_validate(ref)) is Fresh
    entry = Fresh.__dict__["model_validate"]
    assert isinstance(entry, classmethod)
    assert inspect.signature(Fresh.model_validate) == inspect.signature(LexModel.model_validate)
    with pytest.raises(pydantic.ValidationError):
        Fresh.model_validate({"uri": "nope", "cid": CID_TEXT})
    with pytest.raises(pydantic.ValidationError):
        Fresh.model_validate_json(json.dumps({"uri": "nope", "cid": CID_TEXT}))
    assert type(Fresh.model_validate_json(json.dumps(ref))) is Fresh

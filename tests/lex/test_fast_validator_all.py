"""Every official generated model has a fast validator (its schema compiles), and a
schema rebuild replaces it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import lexforge.generated.models
from lexforge.generated.models.com.atproto.repo import strong_ref
from lexforge.runtime.lex import LexModel
from lexforge.runtime.lex.model import _fast_validator

URI = "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3kqjs5lbz7s2a"
CID_TEXT = "bafyreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"


@pytest.mark.slow
def test_every_official_model_builds_its_fast_validator() -> None:
    package = lexforge.generated.models
    names = [
        info.name
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
        if not info.ispkg
    ]
    built = 0
    for name in sorted(names):
        module = importlib.import_module(name)
        for obj in vars(module).values():
            if inspect.isclass(obj) and issubclass(obj, LexModel) and obj.__module__ == name:
                _fast_validator(obj)
                assert obj.__lexforge_fast__[0] is obj
                built += 1
    assert built > 900


def test_a_rebuild_replaces_the_fast_validator() -> None:
    ref = {"uri": URI, "cid": CID_TEXT}
    strong_ref.Main.model_validate(ref)
    before = strong_ref.Main.__lexforge_fast__[1]
    assert "model_validate" in strong_ref.Main.__dict__  # specialised
    assert strong_ref.Main.model_rebuild(force=True)
    assert strong_ref.Main.__lexforge_fast__ == (None, None)
    assert "model_validate" not in strong_ref.Main.__dict__
    assert type(strong_ref.Main.model_validate(ref)) is strong_ref.Main
    assert strong_ref.Main.__lexforge_fast__[1] is not before

"""Generated model modules import only what they use: the string formats (and with them
``lexforge.runtime.syntax``) and ``lexforge.runtime.data`` load when a model is first
built, and a named string def with a format still works (its value is a forward
reference to the lazily bound ``formats`` module)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pydantic
import pytest

from lexforge.codegen.generate import GenConfig, build

LEXICON = {
    "lexicon": 1,
    "id": "com.example.lazy.thing",
    "defs": {
        "main": {
            "type": "record",
            "key": "tid",
            "record": {
                "type": "object",
                "required": ["owner", "when"],
                "properties": {
                    "owner": {"type": "ref", "ref": "#ownerDid"},
                    "when": {"type": "string", "format": "datetime"},
                    "others": {"type": "array", "items": {"type": "ref", "ref": "#ownerDid"}},
                    "note": {"type": "ref", "ref": "#shortUri"},
                },
            },
        },
        "ownerDid": {"type": "string", "format": "did"},
        "shortUri": {"type": "string", "format": "uri", "maxLength": 30},
    },
}


def test_importing_a_model_module_imports_neither_syntax_nor_data() -> None:
    code = (
        "import sys\n"
        "import lexforge.generated.models.app.bsky.feed.post as post\n"
        "loaded = [m for m in sys.modules if m.startswith(('lexforge.runtime.syntax',"
        " 'lexforge.runtime.data', 'lexforge.generated.models.app.bsky.embed'))]\n"
        "assert not loaded, loaded\n"
        "post.Record.model_validate({'text': 'x', 'createdAt': '2024-01-01T00:00:00Z'})\n"
        "assert 'lexforge.runtime.syntax' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_named_format_defs_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lexicons = tmp_path / "lexicons"
    (lexicons / "com" / "example" / "lazy").mkdir(parents=True)
    (lexicons / "com" / "example" / "lazy" / "thing.json").write_text(json.dumps(LEXICON))
    out = tmp_path / "lazypkg"
    config = GenConfig(
        lexicon_dirs=(lexicons,), out_dir=out, package="lazypkg", artifacts=("models",)
    )
    files, _ = build(config)
    for path, text in files.items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    (out / "__init__.py").touch()
    monkeypatch.syspath_prepend(str(tmp_path))
    thing = importlib.import_module("lazypkg.models.com.example.lazy.thing")
    did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
    record = thing.Record.model_validate(
        {"owner": did, "when": "2024-01-01T00:00:00Z", "others": [did], "note": "https://a.b/c"}
    )
    assert record.owner == did
    assert type(record.owner).__name__ == "Did"
    with pytest.raises(pydantic.ValidationError):
        thing.Record.model_validate({"owner": "nope", "when": "2024-01-01T00:00:00Z"})
    with pytest.raises(pydantic.ValidationError):
        thing.Record.model_validate(
            {"owner": did, "when": "2024-01-01T00:00:00Z", "note": "https://a.b/" + "c" * 40}
        )

"""A user's subclass of a generated model, declared before the model was ever used."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# A fresh interpreter: in this process the generated models may already be built.
_SCRIPT = textwrap.dedent(
    """
    from lexforge.generated.models.app.bsky.feed import post

    assert post.Record.__pydantic_complete__ is False  # nothing built it yet

    class MyPost(post.Record):
        note: str | None = None

    record = {
        "$type": "app.bsky.feed.post",
        "text": "hello",
        "createdAt": "2024-01-01T00:00:00Z",
        "embed": {"$type": "app.bsky.embed.external", "external": {
            "uri": "https://example.com", "title": "t", "description": "d"}},
    }
    mine = MyPost.model_validate({**record, "note": "n"})
    assert type(mine) is MyPost and mine.note == "n"
    assert mine.embed is not None and mine.embed.py_type == "app.bsky.embed.external"
    assert post.Record.model_validate(record).text == "hello"
    print("ok")
    """
)


def test_a_subclass_declared_before_first_use_builds() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"

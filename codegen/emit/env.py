"""The jinja2 environment every emitter renders with.

One environment, created on first use: ``StrictUndefined`` (a misspelt variable is an
error, not an empty string), block trimming, kept trailing newlines, no autoescaping
(the output is Python). Templates are package data of ``lexforge.templates``.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2

__all__ = ["environment", "render", "templates_dir"]


def templates_dir() -> Path:
    """The folder holding the compiler's templates (``lexforge.templates``)."""
    return Path(str(files("lexforge.templates")))


@cache
def environment() -> jinja2.Environment:
    """The shared, cached jinja2 environment."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(template: str, **context: Any) -> str:
    """Render ``template`` (a path below ``templates/``) with ``context``."""
    return environment().get_template(template).render(**context)

"""Text checks the Lexicon language needs, shared with the runtime so the rules agree.

These runtime modules need no pydantic (``lexforge.runtime.syntax`` imports it only to
build schemas, ``lexforge.runtime.lex`` loads its names on first access), so
``lexforge gen`` never loads it: ``tests/codegen/test_gen_imports.py`` holds it to that.
"""

from __future__ import annotations

from lexforge.runtime.lex.mime import is_valid_mime_pattern
from lexforge.runtime.lex.text import count_graphemes, utf8_len
from lexforge.runtime.syntax.nsid import is_valid_nsid
from lexforge.runtime.syntax.recordkey import is_valid_record_key

__all__ = [
    "count_graphemes",
    "is_valid_mime_pattern",
    "is_valid_nsid",
    "is_valid_record_key",
    "utf8_len",
]

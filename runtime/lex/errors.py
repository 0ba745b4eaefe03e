"""Validation error types of generated models.

Generated models fail with ``pydantic.ValidationError``; each entry's ``type`` is a
stable code that tools and tests can match. Pydantic's own codes cover what pydantic
checks (``missing``, ``int_type``, ``greater_than_equal``, ``too_long``,
``literal_error``...); the syntax types use ``invalid_<format>`` (``invalid_did``,
``invalid_datetime``...); the codes below are this package's.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ERROR_TYPES"]

#: Error ``type`` -> what it means.
ERROR_TYPES: Final[dict[str, str]] = {
    "lex_max_length": "a string longer than its maxLength in UTF-8 bytes (or bytes too long)",
    "lex_min_length": "a string shorter than its minLength in UTF-8 bytes (or bytes too short)",
    "lex_max_graphemes": "a string with more grapheme clusters than maxGraphemes",
    "lex_min_graphemes": "a string with fewer grapheme clusters than minGraphemes",
    "lex_blob": "not a blob (current or legacy form)",
    "lex_blob_accept": "a blob whose MIME type the field's accept list does not match",
    "lex_blob_size": "a blob larger than the field's maxSize",
    "lex_bytes": 'not bytes ({"$bytes": "<base64>"} in JSON)',
    "lex_cid_link": 'not a CID link ({"$link": "<cid>"} in JSON)',
    "lex_unknown": "an unknown-typed value that is not a plain object",
    "lex_data": "a value outside the atproto data model (floats, bad links, bad blobs...)",
    "lex_union": "a union member without a $type, or (closed unions) with an unlisted one",
}

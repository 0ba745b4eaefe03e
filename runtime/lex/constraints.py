"""Lexicon constraints pydantic cannot express natively, as ``Annotated`` metadata.

* ``StringLimits``: string ``minLength``/``maxLength`` in UTF-8 *bytes* and
  ``minGraphemes``/``maxGraphemes`` in extended grapheme clusters. Pydantic's own
  ``max_length`` counts code points, which is wrong for both. The byte cap is checked
  first: counting graphemes of an over-long string would be wasted (and attackable) work.
* ``BytesLength``: ``bytes`` lengths (for the ``Bytes`` type, which has a custom schema).
* ``BlobConstraints``: ``accept`` MIME patterns and ``maxSize`` of a blob.
* ``Omittable[T]``: a field that may be absent but, when present, is never ``null``.
  Statically it is ``T | None`` (absent reads as ``None``); at validation time ``null``
  is rejected, because only properties listed in ``nullable`` may be null.

Violations raise pydantic errors with stable ``type`` codes (``lex_max_length``,
``lex_max_graphemes``, ``lex_blob_accept``...).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple, TypeVar, Union

from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

from lexforge.runtime.lex.fast import prefer_fast
from lexforge.runtime.lex.mime import mime_matches
from lexforge.runtime.lex.text import count_graphemes, graphemes_at_most, utf8_len
from lexforge.runtime.lex.values import fast_blob_schema

if TYPE_CHECKING:
    from lexforge.runtime.data.blob import Blob

__all__ = ["BlobConstraints", "BytesLength", "Omittable", "StringLimits"]

T = TypeVar("T")


def _after(
    check: Callable[[Any], Any], handler: GetCoreSchemaHandler, source: Any
) -> core_schema.CoreSchema:
    return core_schema.no_info_after_validator_function(check, handler(source))


class StringLimits(NamedTuple):
    """Byte and grapheme limits of a Lexicon string (see the module docstring)."""

    min_length: int | None = None
    max_length: int | None = None
    min_graphemes: int | None = None
    max_graphemes: int | None = None

    def check(self, value: str) -> str:
        """Return ``value`` if it satisfies the limits, else raise a pydantic error."""
        n = len(value)
        # A code point is 1 to 4 UTF-8 bytes: most strings are decided without encoding.
        max_length = self.max_length
        if (
            max_length is not None
            and n * 4 > max_length
            and (n > max_length or (not value.isascii() and utf8_len(value) > max_length))
        ):
            raise PydanticCustomError(
                "lex_max_length",
                "string longer than {limit} UTF-8 bytes",
                {"limit": max_length},
            )
        min_length = self.min_length
        if min_length is not None and n < min_length and utf8_len(value) < min_length:
            raise PydanticCustomError(
                "lex_min_length",
                "string shorter than {limit} UTF-8 bytes",
                {"limit": min_length},
            )
        if self.max_graphemes is not None and not graphemes_at_most(value, self.max_graphemes):
            raise PydanticCustomError(
                "lex_max_graphemes",
                "string longer than {limit} graphemes",
                {"limit": self.max_graphemes},
            )
        if self.min_graphemes is not None and (
            len(value) < self.min_graphemes or count_graphemes(value) < self.min_graphemes
        ):
            raise PydanticCustomError(
                "lex_min_graphemes",
                "string shorter than {limit} graphemes",
                {"limit": self.min_graphemes},
            )
        return value

    def check_str(self, value: object) -> str:
        """``check`` for a plain ``str`` field, including the (strict) type check."""
        if type(value) is not str:
            if not isinstance(value, str):
                raise PydanticCustomError("string_type", "Input should be a valid string")
            value = str(value)
        return self.check(value)

    def code_point_bounds(self) -> tuple[int | None, int | None] | None:
        """Bounds on ``len(value)`` that imply every limit, or None if there are none.

        A code point is 1 to 4 UTF-8 bytes and a grapheme cluster at least one code
        point, so at most ``min(max_graphemes, max_length // 4)`` code points satisfy
        both maxima, and at least ``min_length`` code points satisfy the byte minimum.
        A grapheme minimum cannot be decided this way.
        """
        if self.min_graphemes is not None:
            return None
        uppers = [] if self.max_graphemes is None else [self.max_graphemes]
        uppers += [] if self.max_length is None else [self.max_length // 4]
        upper = min(uppers) if uppers else None
        if upper is None and self.min_length is None:
            return None
        return self.min_length, upper

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        if source is not str:
            return _after(self.check, handler, source)
        # One plain validator instead of str + after-validator: cheaper per call.
        schema = core_schema.no_info_plain_validator_function(
            self.check_str, serialization=core_schema.to_string_ser_schema()
        )
        bounds = self.code_point_bounds()
        if bounds is None:
            return schema
        lower, upper = bounds
        fast = core_schema.str_schema(min_length=lower, max_length=upper, strict=True)
        return prefer_fast(schema, fast)


class BytesLength(NamedTuple):
    """Length limits of a Lexicon ``bytes`` value, in bytes."""

    min_length: int | None = None
    max_length: int | None = None

    def check(self, value: bytes) -> bytes:
        """Return ``value`` if its length is within the limits."""
        if self.max_length is not None and len(value) > self.max_length:
            raise PydanticCustomError(
                "lex_max_length", "more than {limit} bytes", {"limit": self.max_length}
            )
        if self.min_length is not None and len(value) < self.min_length:
            raise PydanticCustomError(
                "lex_min_length", "fewer than {limit} bytes", {"limit": self.min_length}
            )
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return _after(self.check, handler, source)


class BlobConstraints(NamedTuple):
    """``accept`` MIME patterns (``image/*``, ``*/*``, exact types) and ``max_size``.

    A legacy blob has no size; only its MIME type can be checked.
    """

    accept: tuple[str, ...] | None = None
    max_size: int | None = None

    def check(self, value: Blob) -> Blob:
        """Return ``value`` if its type and size are allowed."""
        from lexforge.runtime.data.blob import LEGACY_SIZE  # noqa: PLC0415 - import cost

        if self.accept is not None and not mime_matches(value.mime_type, self.accept):
            raise PydanticCustomError(
                "lex_blob_accept",
                "blob type {mime} is not accepted ({accept})",
                {"mime": value.mime_type, "accept": ", ".join(self.accept)},
            )
        if self.max_size is not None and value.size != LEGACY_SIZE and value.size > self.max_size:
            raise PydanticCustomError(
                "lex_blob_size",
                "blob of {size} bytes is larger than {limit}",
                {"size": value.size, "limit": self.max_size},
            )
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        schema = _after(self.check, handler, source)
        if self.accept == ():
            return schema  # nothing is accepted: no fast form to offer
        return prefer_fast(schema, fast_blob_schema(self.accept, self.max_size))


class _NotNull:
    """Metadata for ``Omittable``: validate ``T | None`` as plain ``T``.

    Defaults are not validated by pydantic, so an absent field still reads as ``None``;
    an explicit ``null`` fails with the type's own error.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "NotNull"

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        origin = typing.get_origin(source)
        if origin is Union or origin is types.UnionType:
            members = tuple(a for a in typing.get_args(source) if a is not type(None))
            source = members[0] if len(members) == 1 else Union[members]  # noqa: UP007
        return handler(source)


#: A property that may be absent (reads as ``None``) but is never ``null`` on the wire.
Omittable = Annotated[T | None, _NotNull()]

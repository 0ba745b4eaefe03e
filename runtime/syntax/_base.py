"""The shared base of every identifier type: a validated, immutable ``str``.

Why a ``str`` subclass: identifiers travel through JSON, CBOR, URLs and SQL as plain
strings, so the validated value must *be* a string (no ``.value`` unwrapping, equal and
hash-equal to the raw text). Construction always validates: ``Did(x)`` is the same as
``Did.parse(x)``, so an instance is proof of validity. ``parse`` is the one entry point;
``is_valid_*`` functions wrap it and never raise.

Pydantic v2: every subclass is usable directly as a field type. Input must be a ``str``
(strict: bytes or numbers are not coerced), it is parsed with the type's ``parse``, and it
serialises as a plain ``str`` in both python and JSON mode. A failure is a pydantic
``ValidationError`` whose error ``type`` is the error class's ``code`` (``invalid_did``,
...) and whose message is the parse error's message.

pydantic itself is imported only when a schema is built or a validation fails: the
identifier rules need none of it, and ``lexforge gen`` (which checks NSIDs and record
keys in lexicons) never loads pydantic.

Lenient reading: :class:`~lexforge.runtime.syntax.Datetime` and
:class:`~lexforge.runtime.syntax.Language` validate strictly by default, also in pydantic.
Passing ``context={LENIENT_CONTEXT_KEY: True}`` to ``model_validate``/
``model_validate_json`` switches those two to their lenient (read-side) rules; the other
types have a single rule and ignore the flag.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Self

from lexforge.runtime.syntax.errors import InvalidSyntaxError

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, ValidationInfo
    from pydantic.json_schema import JsonSchemaValue
    from pydantic_core import CoreSchema

__all__ = ["LENIENT_CONTEXT_KEY", "StrictOrLenientStr", "SyntaxStr"]

#: Key of the pydantic validation context that selects lenient (read-side) validation for
#: the types that have one (datetime, language).
LENIENT_CONTEXT_KEY = "lexforge_syntax_lenient"


def _plain_str(value: str) -> str:
    # str.__str__ on a subclass instance returns an exact ``str`` copy.
    return str.__str__(value)


def _reconstruct(cls: type[SyntaxStr], text: str) -> SyntaxStr:
    """Unpickle without re-validation (pickles are trusted; lenient values must survive)."""
    return str.__new__(cls, text)


class SyntaxStr(str):
    """Base class; see the module docstring. Subclasses set the class variables below and
    implement :meth:`_check`."""

    #: The Lexicon ``format`` name, also used as the JSON-schema ``format``.
    FORMAT: ClassVar[str] = ""
    #: Inputs longer than this are rejected before any other work (DoS guard).
    MAX_LENGTH: ClassVar[int] = 8192
    #: Error class raised by :meth:`parse`.
    ERROR: ClassVar[type[InvalidSyntaxError]] = InvalidSyntaxError

    def __new__(cls, value: object) -> Self:
        return cls.parse(value)

    @classmethod
    def parse(cls, value: object) -> Self:
        """Validate ``value`` and return it as an instance (normalised where the spec
        says so). Raises this type's :class:`InvalidSyntaxError` subclass."""
        return cls._make(cls._check(cls._text(value)))

    # -- helpers for subclasses ---------------------------------------------------------

    @classmethod
    def _text(cls, value: object) -> str:
        """Type check and length cap: the only work done before rejecting huge input."""
        if not isinstance(value, str):
            raise cls.ERROR(value, f"expected a string, got {type(value).__name__}")
        text = str.__str__(value)
        if not text:
            raise cls.ERROR(text, "empty string")
        if len(text) > cls.MAX_LENGTH:
            raise cls.ERROR(text, f"longer than {cls.MAX_LENGTH} characters")
        return text

    @classmethod
    def _check(cls, text: str) -> str:
        """Validate a length-capped string; return its normalised form or raise."""
        raise NotImplementedError  # pragma: no cover - every concrete type overrides

    @classmethod
    def _make(cls, text: str) -> Self:
        """Wrap an already-validated string without re-validating it."""
        return str.__new__(cls, text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str.__repr__(self)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reconstruct, (type(self), str.__str__(self)))

    # -- pydantic v2 ---------------------------------------------------------------------

    @classmethod
    def _parse_for_pydantic(cls, text: str, lenient: bool) -> Self:
        """Validate for a model field: the value is kept exactly as given.

        Unlike :meth:`parse`, nothing is normalised: a model holds record data, and
        JSON -> model -> JSON (or DAG-CBOR) must give back the same bytes, so a handle
        written ``Alice.Example.com`` stays that way (``Handle.parse(value)`` gives the
        normalised form). Overridden by types with a lenient mode.
        """
        cls._check(cls._text(text))
        return cls._make(text)

    @classmethod
    def _pydantic_validate(cls, value: str, info: ValidationInfo) -> Self:
        context = info.context
        lenient = isinstance(context, dict) and bool(context.get(LENIENT_CONTEXT_KEY))
        try:
            return cls._parse_for_pydantic(value, lenient)
        except InvalidSyntaxError as exc:
            from pydantic_core import PydanticCustomError  # noqa: PLC0415 - see the docstring

            raise PydanticCustomError(exc.code, "{message}", {"message": str(exc)}) from exc

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        from pydantic_core import core_schema  # noqa: PLC0415 - see the module docstring

        return core_schema.with_info_after_validator_function(
            cls._pydantic_validate,
            core_schema.str_schema(strict=True),
            serialization=core_schema.plain_serializer_function_ser_schema(
                _plain_str, info_arg=False, return_schema=core_schema.str_schema()
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler.resolve_ref_schema(handler(schema))
        if cls.FORMAT:
            json_schema["format"] = cls.FORMAT
        return json_schema


class StrictOrLenientStr(SyntaxStr):
    """Base of the types with two rules, strict for writing and lenient for reading
    (datetime and language): one place decides how the ``strict`` flag, the pydantic
    lenient context and :meth:`is_strict` map onto the subclass's :meth:`_validate`.

    The value is always kept exactly as given; only acceptance differs.
    """

    @classmethod
    def _validate(cls, text: str, strict: bool) -> object:
        """Check a length-capped string under the strict or the lenient rules; raise
        this type's error if it fails (the return value is the subclass's own)."""
        raise NotImplementedError  # pragma: no cover - every concrete type overrides

    @classmethod
    def parse(cls, value: object, *, strict: bool = True) -> Self:
        """Validate ``value``: strictly (the default, for writing) or leniently
        (``strict=False``, for reading). The returned string is unchanged."""
        text = cls._text(value)
        cls._validate(text, strict)
        return cls._make(text)

    @classmethod
    def _check(cls, text: str) -> str:
        cls._validate(text, True)
        return text

    @classmethod
    def _parse_for_pydantic(cls, text: str, lenient: bool) -> Self:
        return cls.parse(text, strict=not lenient)

    def is_strict(self) -> bool:
        """True if this value also satisfies the strict (write-side) rules."""
        try:
            self._validate(self, True)
        except InvalidSyntaxError:
            return False
        return True

"""Stage 4, name: the only place Python names are made.

Rules (style README section 3 and anchors 3.3):

* Module per document: the NSID authority segments become packages (lowercased; any
  character that cannot appear in an identifier becomes ``_``, keywords get a trailing
  ``_``), the name segment becomes snake_case: ``app.bsky.feed.getTimeline`` ->
  ``models/app/bsky/feed/get_timeline.py``.
* Classes: a record ``main`` is ``Record``, any other ``main`` is ``Main``, other defs
  are PascalCase (``replyRef`` -> ``ReplyRef``). Method modules add ``Params``,
  ``Input``, ``Output``, ``Message`` and ``<ErrorName>Error``. Inline units are named
  ``{Owner}{Field}`` (``Record.embed`` -> ``RecordEmbed``), array items add ``Item``,
  knownValues aliases add ``KnownValues``. Tokens are UPPER_SNAKE constants.
* Attributes: snake_case of the wire name; a trailing ``_`` for keywords, ``BaseModel``
  attributes and the builtins generated annotations use (a field named ``list`` with a
  default would shadow ``list[...]`` in its own class body); ``$type`` is ``py_type``.
  Leading underscores (private attributes to pydantic) are moved to the end.
* Import aliases: the module path joined with ``_`` (``app_bsky_feed_defs``).

Nothing here renames on collision: ``NameScope`` reports ``name-collision`` and the
document is dropped, because a silent rename would change a public name.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from functools import cache

__all__ = [
    "BASEMODEL_ATTRIBUTES",
    "RESERVED_FIELD_NAMES",
    "NameScope",
    "error_class_name",
    "field_name",
    "module_alias",
    "module_parts",
    "pascal_case",
    "snake_case",
    "upper_snake",
]

#: Public attributes of ``pydantic.BaseModel`` and of ``lexforge.runtime.lex.LexModel``.
#: Frozen here (not read from pydantic at run time) so output never depends on the
#: installed pydantic version.
BASEMODEL_ATTRIBUTES = frozenset(
    {
        "construct",
        "copy",
        "dict",
        "fields",
        "from_orm",
        "json",
        "model_computed_fields",
        "model_config",
        "model_construct",
        "model_copy",
        "model_dump",
        "model_dump_json",
        "model_extra",
        "model_fields",
        "model_fields_set",
        "model_json_schema",
        "model_parametrized_name",
        "model_post_init",
        "model_rebuild",
        "model_validate",
        "model_validate_json",
        "model_validate_strings",
        "parse_file",
        "parse_obj",
        "parse_raw",
        "schema",
        "schema_json",
        "update_forward_refs",
        "validate",
        # LexModel
        "py_type",
        "to_data",
        "to_json",
    }
)

#: Builtins that generated annotations use unqualified.
_ANNOTATION_BUILTINS = frozenset({"bool", "bytes", "int", "list", "str"})

#: Attribute names a Lexicon property can never get as is.
RESERVED_FIELD_NAMES = BASEMODEL_ATTRIBUTES | _ANNOTATION_BUILTINS

_BOUNDARY_1 = re.compile(r"([a-z0-9])([A-Z])")
_BOUNDARY_2 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_NON_IDENT = re.compile(r"[^0-9A-Za-z]+")


@cache  # pure, and called for every name of every lexicon, most of them more than once
def snake_case(name: str) -> str:
    """``getDIDDocument`` -> ``get_did_document``; non-identifier characters -> ``_``."""
    text = _NON_IDENT.sub("_", name)
    text = _BOUNDARY_2.sub(r"\1_\2", text)
    text = _BOUNDARY_1.sub(r"\1_\2", text)
    return re.sub("_+", "_", text).lower()


def pascal_case(name: str) -> str:
    """``replyRef`` -> ``ReplyRef``, ``foo-bar`` -> ``FooBar`` (inner caps kept)."""
    parts = [p for p in _NON_IDENT.split(name) if p]
    text = "".join(p[0].upper() + p[1:] for p in parts)
    if not text or text[0].isdigit():
        text = "T" + text
    return text


def upper_snake(name: str) -> str:
    """``requestLess`` -> ``REQUEST_LESS``."""
    text = snake_case(name).strip("_").upper()
    if not text or text[0].isdigit():
        text = "T_" + text
    return text


def _identifier(segment: str) -> str:
    text = _NON_IDENT.sub("_", segment)
    if not text or text[0].isdigit():
        text = "_" + text
    if keyword.iskeyword(text):
        text += "_"
    return text


def module_parts(nsid: str) -> tuple[str, ...]:
    """Module path below the models package for a document id."""
    *authority, name = nsid.split(".")
    parts = [_identifier(segment.lower()) for segment in authority]
    leaf = snake_case(name)
    if keyword.iskeyword(leaf):
        leaf += "_"
    return (*parts, leaf)


def module_alias(parts: tuple[str, ...]) -> str:
    """Local alias for ``import <package>.models.<parts> as <alias>``."""
    return "_".join(p.strip("_") for p in parts)


def field_name(wire: str) -> str:
    """The Python attribute for a wire property name (see the module docstring)."""
    if wire == "$type":
        return "py_type"
    text = snake_case(wire)
    moved = text.startswith("_")
    text = text.strip("_")
    if not text:
        return "field_"
    if text[0].isdigit():
        text = "f_" + text
    if moved or keyword.iskeyword(text) or text in RESERVED_FIELD_NAMES:
        text += "_"
    return text


def error_class_name(name: str) -> str:
    """``RecordNotFound`` -> ``RecordNotFoundError`` (no double ``Error`` suffix)."""
    base = pascal_case(name)
    return base if base.endswith("Error") else base + "Error"


@dataclass(slots=True)
class NameScope:
    """Names already taken in one namespace (a module or a class), and by what."""

    taken: dict[str, str] = field(default_factory=dict)

    def claim(self, name: str, owner: str) -> str | None:
        """Take ``name`` for ``owner``; returns the previous owner on a collision."""
        previous = self.taken.get(name)
        if previous is not None and previous != owner:
            return previous
        self.taken[name] = owner
        return None

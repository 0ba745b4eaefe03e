"""The Lexicon language: typed schema values (``schema``) and the checking parser (``parse``)."""

from lexforge.codegen.lexicon.parse import parse_document, parse_ref
from lexforge.codegen.lexicon.schema import LexiconDoc

__all__ = ["LexiconDoc", "parse_document", "parse_ref"]

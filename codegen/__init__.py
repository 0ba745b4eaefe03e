"""The Lexicon compiler: Lexicon JSON schemas in, typed models, clients and servers out."""

__all__: list[str] = []

"""What generated Lexicon models import: the model base, Lexicon value types and checks.

This package is the runtime half of the compiler's output. It never imports
``lexforge.generated``.
"""

__all__: list[str] = []

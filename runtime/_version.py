"""The one place lexforge's version is written (pyproject.toml reads it from here).

A literal rather than ``importlib.metadata.version()``: reading installed metadata costs
about 20 ms at import, paid by every program that imports any part of lexforge.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"

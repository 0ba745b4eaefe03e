"""lexforge's hand-written runtime: identifiers, data model, crypto, repositories, identity,
XRPC plumbing and sync.

The core packages never import ``lexforge.generated``; services built on generated
bindings live beside them and may.
"""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("lexforge")
except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
    __version__ = "0.0.0"

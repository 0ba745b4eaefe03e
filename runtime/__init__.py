"""lexforge's hand-written runtime: identifiers, data model, crypto, repositories, identity,
XRPC plumbing and sync.

The core packages never import ``lexforge.generated``; services built on generated
bindings live beside them and may.
"""

from lexforge.runtime._version import __version__

__all__ = ["__version__"]

"""Errors of the handler merge.

::

    MergeError
    ├── HandlerSourceError   the author's module cannot be parsed (left untouched)
    └── StubError            the desired stub is not a valid handler stub (a bug)
"""

from __future__ import annotations

__all__ = ["HandlerSourceError", "MergeError", "StubError"]


class MergeError(Exception):
    """Base class: a handler module could not be merged."""


class HandlerSourceError(MergeError):
    """The existing handler module is not valid Python, so it cannot be merged."""


class StubError(MergeError):
    """The stub lacks what every stub has (``NSID``, an ``async def handle``)."""

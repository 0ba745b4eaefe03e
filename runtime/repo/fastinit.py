"""Building frozen, slotted dataclass instances without their generated ``__init__``.

A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``, about
0.15 us a field: 0.9 us for a :class:`~.commit.Commit`, paid for every commit written
and every event verified. Writing the slots through their member descriptors costs a
third of that. :func:`slot_setters` hands out those descriptors' setters, refusing a
field list that does not name every field exactly once, so a field added to the class
later cannot be left unset by a hand-written constructor.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

__all__ = ["slot_setters"]


def slot_setters(cls: type, *fields: str) -> tuple[Callable[[Any, Any], None], ...]:
    """The slot setters of ``cls``'s ``fields`` (which must be all its fields, in order)."""
    names = tuple(f.name for f in dataclasses.fields(cls))
    if fields != names:
        raise TypeError(f"{cls.__name__} fields are {names}, not {fields}")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__ the setters would skip")
    setters = []
    for name in fields:
        descriptor = cls.__dict__.get(name)
        if descriptor is None or type(descriptor).__name__ != "member_descriptor":
            raise TypeError(f"{cls.__name__}.{name} is not a __slots__ member")
        setters.append(descriptor.__set__)
    return tuple(setters)

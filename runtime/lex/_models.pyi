"""Type stub for the C accelerator runtime/lex/_models.c (see lexforge.runtime.lex.fast)."""

from collections.abc import Callable
from typing import Any

class ModelBuilder:
    """Called with a typed dict's output, returns the model instance."""

    def __init__(
        self,
        cls: type[Any],
        names: tuple[str, ...],
        defaults: tuple[object, ...],
        sentinel: object,
        extra_slot: object,
        fields_set_slot: object,
        private_slot: object,
    ) -> None: ...
    def __call__(self, data: dict[str, Any], /) -> Any: ...

class FastEntry:
    """A model class's own ``model_validate``: the fast validator first, the full one
    when it fails; keyword options go to ``generic``."""

    def __init__(
        self,
        cls: type[Any],
        fast: Callable[[Any], Any],
        full: Callable[[Any], Any],
        generic: Callable[..., Any],
        error: type[BaseException],
    ) -> None: ...
    def __call__(self, obj: Any, /, **options: Any) -> Any: ...
    def __get__(self, obj: object, owner: type[Any] | None = None) -> Any: ...

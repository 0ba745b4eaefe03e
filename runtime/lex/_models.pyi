"""Type stub for the C accelerator runtime/lex/_models.c (see lexforge.runtime.lex.fast)."""

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

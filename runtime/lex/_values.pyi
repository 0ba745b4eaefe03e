"""Type stub for the C accelerator runtime/lex/_values.c (value constructors of the fast
validator; see the C file's header for what each must match)."""

from collections.abc import Callable
from typing import Generic, TypeVar

from lexforge.runtime.data.blob import Blob
from lexforge.runtime.data.cid import CID

_S = TypeVar("_S", bound=str)

class StrMaker(Generic[_S]):
    """``StrMaker(cls)(value)`` is ``str.__new__(cls, value)``."""

    def __init__(self, cls: type[_S], /) -> None: ...
    @property
    def cls(self) -> type[_S] | None: ...
    def __call__(self, value: object, /) -> _S: ...

class BlobChecker:
    """The fast form of a blob field: the ``Blob`` of a common blob, else ValueError."""

    def __init__(
        self,
        blob_type: type[Blob],
        cid_type: type[CID],
        parse: Callable[[str], CID],
        accept: tuple[str, ...] | None,
        limit: int,
        /,
    ) -> None: ...
    def __call__(self, value: object, /) -> Blob: ...

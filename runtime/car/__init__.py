"""CAR v1 (content-addressed archive) reading and writing, as atproto repositories use it.

:class:`CarReader` streams and verifies (every block is hashed against its CID, every
length is capped before allocation); :func:`read_car` collects a whole CAR into a dict.
:class:`CarWriter` streams block by block; :func:`write_car` builds bytes in memory.
All errors are :class:`~lexforge.runtime.car.errors.CarError` subclasses.
"""

from lexforge.runtime.car.errors import (
    CarBlockMismatchError,
    CarCidError,
    CarError,
    CarHeaderError,
    CarLimitError,
    CarRootsError,
    CarTruncatedError,
    CarVarintError,
)
from lexforge.runtime.car.reader import (
    DEFAULT_MAX_BLOCKS,
    DEFAULT_MAX_HEADER_SIZE,
    DEFAULT_MAX_SECTION_SIZE,
    CarReader,
    read_car,
)
from lexforge.runtime.car.writer import CarWriter, write_car

__all__ = [
    "DEFAULT_MAX_BLOCKS",
    "DEFAULT_MAX_HEADER_SIZE",
    "DEFAULT_MAX_SECTION_SIZE",
    "CarBlockMismatchError",
    "CarCidError",
    "CarError",
    "CarHeaderError",
    "CarLimitError",
    "CarReader",
    "CarRootsError",
    "CarTruncatedError",
    "CarVarintError",
    "CarWriter",
    "read_car",
    "write_car",
]

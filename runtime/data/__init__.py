"""The atproto data model: CIDs, canonical DAG-CBOR (DRISL) and the JSON form.

Values are plain Python: None, bool, int, str, bytes, list, dict[str, ...] and
:class:`CID` for links.
"""

from lexforge.runtime.data.cbor import BACKEND, decode, decode_prefix, encode
from lexforge.runtime.data.cid import CID
from lexforge.runtime.data.errors import DataModelError, DecodeError, EncodeError, InvalidCidError

__all__ = [
    "BACKEND",
    "CID",
    "DataModelError",
    "DecodeError",
    "EncodeError",
    "InvalidCidError",
    "decode",
    "decode_prefix",
    "encode",
]

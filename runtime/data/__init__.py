"""The atproto data model: CIDs, canonical DAG-CBOR (DRISL) and the JSON form.

Values are plain Python: None, bool, int, str, bytes, list, dict[str, ...] and
:class:`CID` for links.
"""

from lexforge.runtime.data.blob import Blob, find_blobs
from lexforge.runtime.data.cbor import BACKEND, decode, decode_prefix, encode
from lexforge.runtime.data.cid import CID
from lexforge.runtime.data.errors import (
    DataModelError,
    DecodeError,
    EncodeError,
    InvalidBase64Error,
    InvalidBlobError,
    InvalidCidError,
    InvalidJsonError,
)
from lexforge.runtime.data.json import dumps_json, from_json, loads_json, to_json

__all__ = [
    "BACKEND",
    "CID",
    "Blob",
    "DataModelError",
    "DecodeError",
    "EncodeError",
    "InvalidBase64Error",
    "InvalidBlobError",
    "InvalidCidError",
    "InvalidJsonError",
    "decode",
    "decode_prefix",
    "dumps_json",
    "encode",
    "find_blobs",
    "from_json",
    "loads_json",
    "to_json",
]

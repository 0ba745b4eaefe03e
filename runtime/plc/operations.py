"""did:plc operations: parse, check, sign, verify, hash, derive the DID.

Three operation types exist on the wire (JSON; DAG-CBOR for hashing and signing):

- ``plc_operation``: ``rotationKeys``, ``verificationMethods``, ``alsoKnownAs``,
  ``services``, ``prev`` (a CID *string*, or ``null`` for the genesis operation: the key
  is always present) and ``sig``;
- ``plc_tombstone``: ``prev`` (never null) and ``sig``: deactivates the DID;
- ``create``: the legacy genesis format (``signingKey``, ``recoveryKey``, ``handle``,
  ``service``, ``prev: null``, ``sig``). Many live DIDs are hashes of one, so logs that
  start with it must validate; we never produce it, and our directory refuses new ones.

Signing: drop ``sig`` entirely, DAG-CBOR-encode, ECDSA over SHA-256 with a rotation key
(64-byte compact low-S), base64url without padding. The operation's CID is the CID of
the DAG-CBOR of the *signed* operation; the DID is ``did:plc:`` + the first 24 characters
of lowercase base32 of SHA-256 over the signed genesis operation.

Parsing is strict: exact key sets (an unknown field would change the CID without
touching the signature), exact types, canonical base64url signatures. Limits come in
three levels (:class:`Strictness`): ``LOG`` (validating existing logs: structure only,
as the reference does; real logs contain duplicate and even empty rotation-key lists),
``SUBMIT`` (what a directory accepts: the reference server's constraints) and
``PRODUCE`` (what we create: additionally 1-5 unique rotation keys and ``#``-free ids).
"""

from __future__ import annotations

import base64
import enum
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, ClassVar, Self

from lexforge.runtime.crypto import CryptoError, Keypair, parse_did_key
from lexforge.runtime.data import CID, DataModelError, encode
from lexforge.runtime.plc.b64 import b64url_decode_strict, b64url_encode
from lexforge.runtime.plc.errors import InvalidOperationError, InvalidSignatureError

__all__ = [
    "MAX_AKA_LENGTH",
    "MAX_ALSO_KNOWN_AS",
    "MAX_DID_KEY_LENGTH",
    "MAX_ID_LENGTH",
    "MAX_OP_BYTES",
    "MAX_ROTATION_KEYS",
    "MAX_ROTATION_KEYS_PRODUCE",
    "MAX_SERVICES",
    "MAX_SERVICE_ENDPOINT_LENGTH",
    "MAX_SERVICE_TYPE_LENGTH",
    "MAX_VERIFICATION_METHODS",
    "RECOVERY_WINDOW",
    "LegacyCreateOperation",
    "Operation",
    "PlcOperation",
    "PlcService",
    "PlcTombstone",
    "Strictness",
    "check_operation",
    "did_for_genesis",
    "normalize",
    "parse_operation",
]

#: Maximum DAG-CBOR size of a signed operation (the reference directory's limit; the
#: spec text says 7500, we follow the stricter number both ways).
MAX_OP_BYTES = 4000
MAX_ROTATION_KEYS = 10
MAX_ROTATION_KEYS_PRODUCE = 5
MAX_ALSO_KNOWN_AS = 10
#: A 253-character handle plus ``at://``.
MAX_AKA_LENGTH = 258
MAX_SERVICES = 10
MAX_VERIFICATION_METHODS = 10
MAX_ID_LENGTH = 32
MAX_SERVICE_TYPE_LENGTH = 256
MAX_SERVICE_ENDPOINT_LENGTH = 512
MAX_DID_KEY_LENGTH = 256
#: How long after an operation a higher-priority rotation key may still nullify it.
RECOVERY_WINDOW = timedelta(hours=72)

_DID_KEY_PREFIX = "did:key:"
_SIG_LENGTH = 64
_B58_ALPHABET = frozenset("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")


class Strictness(enum.Enum):
    """Which limits :func:`check_operation` applies (see the module docstring)."""

    LOG = "log"
    SUBMIT = "submit"
    PRODUCE = "produce"


@dataclass(frozen=True, slots=True)
class PlcService:
    """A ``services`` entry: ``{"type": ..., "endpoint": ...}``."""

    type: str
    endpoint: str

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "endpoint": self.endpoint}


class _Operation:
    """Shared signing / hashing behaviour. Subclasses are frozen dataclasses."""

    TYPE: ClassVar[str]
    sig: str | None

    def unsigned_json(self) -> dict[str, Any]:
        """The operation without ``sig`` (what gets signed)."""
        raise NotImplementedError  # pragma: no cover

    def to_json(self) -> dict[str, Any]:
        """The wire form (JSON object); requires a signature."""
        if self.sig is None:
            raise InvalidOperationError("operation is not signed")
        return {**self.unsigned_json(), "sig": self.sig}

    def unsigned_bytes(self) -> bytes:
        """DAG-CBOR of the unsigned operation: the bytes the signature covers."""
        return encode(self.unsigned_json())

    def signed_bytes(self) -> bytes:
        """DAG-CBOR of the signed operation: the bytes its CID (and DID) hash."""
        return encode(self.to_json())

    def cid(self) -> CID:
        """The CID of the signed operation (CIDv1, dag-cbor, sha-256)."""
        return CID.for_cbor(self.signed_bytes())

    def signature(self) -> bytes:
        """The decoded signature bytes (strict base64url)."""
        if self.sig is None:
            raise InvalidOperationError("operation is not signed")
        return b64url_decode_strict(self.sig)

    def sign(self, keypair: Keypair) -> Self:
        """A copy signed by ``keypair`` (any previous signature is replaced)."""
        unsigned = replace(self, sig=None)  # type: ignore[type-var]
        sig = b64url_encode(keypair.sign(unsigned.unsigned_bytes()))
        return replace(self, sig=sig)  # type: ignore[type-var]

    def signer(self, allowed_keys: Sequence[str]) -> str | None:
        """The first of ``allowed_keys`` (did:key strings) whose key verifies the
        signature, or None. Keys that do not parse are skipped."""
        try:
            sig = self.signature()
        except InvalidOperationError:
            return None
        message = self.unsigned_bytes()
        for did_key in allowed_keys:
            try:
                key = parse_did_key(did_key)
            except CryptoError:
                continue
            if key.verify(message, sig):
                return did_key
        return None

    def require_signer(self, allowed_keys: Sequence[str], what: str = "rotation keys") -> str:
        """Like :meth:`signer` but raises :class:`InvalidSignatureError`."""
        found = self.signer(allowed_keys)
        if found is None:
            raise InvalidSignatureError(
                f"invalid signature on {self.TYPE} operation: not signed by any of the "
                f"{len(allowed_keys)} allowed {what}"
            )
        return found


@dataclass(frozen=True, slots=True)
class PlcOperation(_Operation):
    """A regular ``plc_operation`` (genesis when ``prev`` is None)."""

    TYPE: ClassVar[str] = "plc_operation"

    rotation_keys: tuple[str, ...]
    verification_methods: Mapping[str, str]
    also_known_as: tuple[str, ...]
    services: Mapping[str, PlcService]
    prev: str | None
    sig: str | None = None

    def unsigned_json(self) -> dict[str, Any]:
        return {
            "type": self.TYPE,
            "rotationKeys": list(self.rotation_keys),
            "verificationMethods": dict(self.verification_methods),
            "alsoKnownAs": list(self.also_known_as),
            "services": {name: svc.to_json() for name, svc in self.services.items()},
            "prev": self.prev,
        }


@dataclass(frozen=True, slots=True)
class PlcTombstone(_Operation):
    """A ``plc_tombstone``: deactivates the DID."""

    TYPE: ClassVar[str] = "plc_tombstone"

    prev: str
    sig: str | None = None

    def unsigned_json(self) -> dict[str, Any]:
        return {"type": self.TYPE, "prev": self.prev}


@dataclass(frozen=True, slots=True)
class LegacyCreateOperation(_Operation):
    """The deprecated ``create`` genesis format (read-only support)."""

    TYPE: ClassVar[str] = "create"

    signing_key: str
    recovery_key: str
    handle: str
    service: str
    sig: str | None = None
    prev: None = field(default=None, init=False)

    def unsigned_json(self) -> dict[str, Any]:
        return {
            "type": self.TYPE,
            "signingKey": self.signing_key,
            "recoveryKey": self.recovery_key,
            "handle": self.handle,
            "service": self.service,
            "prev": None,
        }


Operation = PlcOperation | PlcTombstone | LegacyCreateOperation


def normalize(op: PlcOperation | LegacyCreateOperation) -> PlcOperation:
    """The regular-format equivalent of ``op`` (legacy ``create`` converted the way the
    reference does: rotation keys ``[recoveryKey, signingKey]``, the signing key as
    ``atproto``, the handle as ``at://`` alias, the service as ``atproto_pds``)."""
    if isinstance(op, PlcOperation):
        return op
    return PlcOperation(
        rotation_keys=(op.recovery_key, op.signing_key),
        verification_methods={"atproto": op.signing_key},
        also_known_as=(f"at://{op.handle}",),
        services={"atproto_pds": PlcService("AtprotoPersonalDataServer", op.service)},
        prev=None,
        sig=op.sig,
    )


def did_for_genesis(op: Operation) -> str:
    """``did:plc:`` + base32lower(sha256(DAG-CBOR of the *signed* genesis op))[:24]."""
    digest = hashlib.sha256(op.signed_bytes()).digest()
    return "did:plc:" + base64.b32encode(digest).decode("ascii").lower()[:24]


# -- parsing ---------------------------------------------------------------------------------


def _keys(obj: Mapping[str, Any], required: set[str], what: str) -> None:
    present = set(obj)
    missing = required - present
    if missing:
        raise InvalidOperationError(f"{what}: missing field(s) {sorted(missing)}")
    extra = present - required
    if extra:
        shown = sorted(k[:40] for k in extra)[:5]
        raise InvalidOperationError(f"{what}: unexpected field(s) {shown}")


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidOperationError(f"{where} must be a string, not {type(value).__name__}")
    return value


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InvalidOperationError(f"{where} must be an array, not {type(value).__name__}")
    return tuple(_str(item, f"{where}[{i}]") for i, item in enumerate(value))


def _str_map(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise InvalidOperationError(f"{where} must be an object, not {type(value).__name__}")
    return {_str(k, f"{where} key"): _str(v, f"{where}.{k}") for k, v in value.items()}


def _prev(value: Any, nullable: bool) -> str | None:
    if value is None:
        if nullable:
            return None
        raise InvalidOperationError("prev must be a CID string, not null")
    text = _str(value, "prev")
    try:
        cid = CID.parse(text)
    except DataModelError as exc:
        raise InvalidOperationError(f"prev is not a valid CID: {exc}") from None
    if cid.version != 1:
        raise InvalidOperationError("prev must be a CIDv1")
    return text


def _sig(value: Any) -> str:
    text = _str(value, "sig")
    size = len(b64url_decode_strict(text))
    if size != _SIG_LENGTH:
        raise InvalidOperationError(
            f"signature must be {_SIG_LENGTH} bytes (compact r||s), not {size}"
        )
    return text


def parse_operation(obj: object) -> Operation:
    """Parse a signed operation from its JSON form (strict; see the module docstring).

    Raises :class:`InvalidOperationError`.
    """
    if not isinstance(obj, dict):
        raise InvalidOperationError(f"operation must be a JSON object, not {type(obj).__name__}")
    op_type = obj.get("type")
    if op_type == PlcOperation.TYPE:
        _keys(
            obj,
            {"type", "rotationKeys", "verificationMethods", "alsoKnownAs", "services"}
            | {"prev", "sig"},
            "plc_operation",
        )
        services_raw = obj["services"]
        if not isinstance(services_raw, dict):
            raise InvalidOperationError("services must be an object")
        services: dict[str, PlcService] = {}
        for name, entry in services_raw.items():
            if not isinstance(entry, dict):
                raise InvalidOperationError(f"services.{name} must be an object")
            _keys(entry, {"type", "endpoint"}, f"services.{name}")
            services[name] = PlcService(
                _str(entry["type"], f"services.{name}.type"),
                _str(entry["endpoint"], f"services.{name}.endpoint"),
            )
        return PlcOperation(
            rotation_keys=_str_list(obj["rotationKeys"], "rotationKeys"),
            verification_methods=_str_map(obj["verificationMethods"], "verificationMethods"),
            also_known_as=_str_list(obj["alsoKnownAs"], "alsoKnownAs"),
            services=services,
            prev=_prev(obj["prev"], nullable=True),
            sig=_sig(obj["sig"]),
        )
    if op_type == PlcTombstone.TYPE:
        _keys(obj, {"type", "prev", "sig"}, "plc_tombstone")
        prev = _prev(obj["prev"], nullable=False)
        assert prev is not None
        return PlcTombstone(prev=prev, sig=_sig(obj["sig"]))
    if op_type == LegacyCreateOperation.TYPE:
        _keys(
            obj,
            {"type", "signingKey", "recoveryKey", "handle", "service", "prev", "sig"},
            "create",
        )
        if obj["prev"] is not None:
            raise InvalidOperationError("legacy create operation must have prev: null")
        return LegacyCreateOperation(
            signing_key=_str(obj["signingKey"], "signingKey"),
            recovery_key=_str(obj["recoveryKey"], "recoveryKey"),
            handle=_str(obj["handle"], "handle"),
            service=_str(obj["service"], "service"),
            sig=_sig(obj["sig"]),
        )
    shown = op_type[:40] if isinstance(op_type, str) else type(op_type).__name__
    raise InvalidOperationError(f"unknown operation type {shown!r}")


# -- limits ------------------------------------------------------------------------------------


def _is_syntactic_did_key(value: str) -> bool:
    body = value[len(_DID_KEY_PREFIX) :]
    return (
        value.startswith(_DID_KEY_PREFIX)
        and len(value) <= MAX_DID_KEY_LENGTH
        and len(body) > 1
        and body[0] == "z"
        and all(c in _B58_ALPHABET for c in body[1:])
    )


def _check_rotation_key(key: str, where: str) -> None:
    if len(key) > MAX_DID_KEY_LENGTH:
        raise InvalidOperationError(f"{where} is longer than {MAX_DID_KEY_LENGTH} characters")
    try:
        parse_did_key(key)
    except CryptoError as exc:
        raise InvalidOperationError(
            f"{where} {key[:80]!r} is not a supported did:key: {exc}"
        ) from None


def _check_id(name: str, where: str) -> None:
    if not name:
        raise InvalidOperationError(f"{where} id must not be empty")
    if len(name) > MAX_ID_LENGTH:
        raise InvalidOperationError(f"{where} id {name[:40]!r} is longer than {MAX_ID_LENGTH}")
    if "#" in name:
        raise InvalidOperationError(f"{where} id {name[:40]!r} must not contain '#'")


def check_operation(op: Operation, strictness: Strictness) -> None:
    """Apply the size and content limits of ``strictness``; raises
    :class:`InvalidOperationError`. The operation must be signed (size counts ``sig``)."""
    if strictness is Strictness.LOG:
        return
    size = len(op.signed_bytes())
    if size > MAX_OP_BYTES:
        raise InvalidOperationError(
            f"operation is {size} bytes of DAG-CBOR (maximum {MAX_OP_BYTES})"
        )
    if isinstance(op, LegacyCreateOperation):
        raise InvalidOperationError(
            "legacy 'create' operations are only accepted in existing logs; "
            "use a plc_operation genesis"
        )
    if isinstance(op, PlcTombstone):
        return
    produce = strictness is Strictness.PRODUCE
    keys = op.rotation_keys
    limit = MAX_ROTATION_KEYS_PRODUCE if produce else MAX_ROTATION_KEYS
    if not keys:
        raise InvalidOperationError("rotationKeys must contain at least one key")
    if len(keys) > limit:
        raise InvalidOperationError(f"too many rotationKeys: {len(keys)} (maximum {limit})")
    if len(set(keys)) != len(keys):
        raise InvalidOperationError("rotationKeys must not contain duplicates")
    for i, key in enumerate(keys):
        _check_rotation_key(key, f"rotationKeys[{i}]")
    if len(op.verification_methods) > MAX_VERIFICATION_METHODS:
        raise InvalidOperationError(
            f"too many verificationMethods: {len(op.verification_methods)} "
            f"(maximum {MAX_VERIFICATION_METHODS})"
        )
    for name, key in op.verification_methods.items():
        _check_id(name, "verificationMethods")
        if not _is_syntactic_did_key(key):
            raise InvalidOperationError(
                f"verificationMethods.{name[:40]} is not a syntactically valid did:key"
            )
    if len(op.also_known_as) > MAX_ALSO_KNOWN_AS:
        raise InvalidOperationError(
            f"too many alsoKnownAs entries: {len(op.also_known_as)} (maximum {MAX_ALSO_KNOWN_AS})"
        )
    if len(set(op.also_known_as)) != len(op.also_known_as):
        raise InvalidOperationError("alsoKnownAs must not contain duplicates")
    for aka in op.also_known_as:
        if len(aka) > MAX_AKA_LENGTH:
            raise InvalidOperationError(
                f"alsoKnownAs entry longer than {MAX_AKA_LENGTH} characters: {aka[:40]!r}..."
            )
    if len(op.services) > MAX_SERVICES:
        raise InvalidOperationError(
            f"too many services: {len(op.services)} (maximum {MAX_SERVICES})"
        )
    for name, svc in op.services.items():
        _check_id(name, "services")
        if len(svc.type) > MAX_SERVICE_TYPE_LENGTH:
            raise InvalidOperationError(
                f"services.{name} type longer than {MAX_SERVICE_TYPE_LENGTH} characters"
            )
        if len(svc.endpoint) > MAX_SERVICE_ENDPOINT_LENGTH:
            raise InvalidOperationError(
                f"services.{name} endpoint longer than {MAX_SERVICE_ENDPOINT_LENGTH} characters"
            )

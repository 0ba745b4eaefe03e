"""DID documents and the parts of them atproto uses.

A DID document is untrusted JSON (up to 64 KiB, see the resolvers). Parsing checks the
*shape* the TypeScript reference requires (``id`` string; optional ``alsoKnownAs``
strings; ``verificationMethod`` objects with string ``id``/``type``/``controller``;
``service`` objects with string ``id``/``type`` and a string-or-object
``serviceEndpoint``) and that ``id`` is exactly the DID that was resolved. Everything
else is kept (``extra="allow"``) and ignored.

Extraction follows the atproto DID spec:

- **handle**: the first ``alsoKnownAs`` entry that starts with ``at://`` *and* is a
  syntactically valid handle, lowercased. It still has to be verified bidirectionally
  before anyone may display it (see :mod:`lexforge.runtime.identity.directory`).
- **keys**: the first verification method whose id is ``#<name>`` or ``<did>#<name>``
  (``atproto`` for the repo signing key, ``atproto_label`` for labelers); its
  ``controller`` must be the DID and its type ``Multikey`` or one of the legacy
  ``EcdsaSecp256{k,r}1VerificationKey2019`` forms (raw 33- or 65-byte point).
- **services**: the first ``service`` whose id is ``#<name>`` or ``<did>#<name>`` with the
  expected ``type`` (``atproto_pds``/``AtprotoPersonalDataServer``,
  ``atproto_labeler``/``AtprotoLabeler``); the endpoint must be a string http(s) URL
  with a host and no credentials, path, query or fragment.

Relative and absolute ids are both accepted everywhere, because real documents use
both (the PLC directory qualifies verification-method ids but not service ids).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from lexforge.runtime.crypto import (
    MULTIKEY_TYPE,
    CryptoError,
    PublicKey,
    parse_did_key,
    parse_verification_method,
)
from lexforge.runtime.identity.errors import InvalidDidDocumentError, KeyNotDeclaredError
from lexforge.runtime.syntax import Did, Handle, is_valid_handle

__all__ = [
    "ATPROTO_KEY_ID",
    "ATPROTO_LABEL_KEY_ID",
    "LABELER_SERVICE_ID",
    "LABELER_SERVICE_TYPE",
    "PDS_SERVICE_ID",
    "PDS_SERVICE_TYPE",
    "DidDocument",
    "Service",
    "VerificationMethod",
    "did_key_document",
    "normalize_service_endpoint",
]

#: Fragment of the repo signing key.
ATPROTO_KEY_ID = "atproto"
#: Fragment of a labeler's label-signing key.
ATPROTO_LABEL_KEY_ID = "atproto_label"
PDS_SERVICE_ID = "atproto_pds"
PDS_SERVICE_TYPE = "AtprotoPersonalDataServer"
LABELER_SERVICE_ID = "atproto_labeler"
LABELER_SERVICE_TYPE = "AtprotoLabeler"

_AT_PREFIX = "at://"
_MAX_ENDPOINT_LENGTH = 2048


class VerificationMethod(BaseModel):
    """One ``verificationMethod`` entry."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True, populate_by_name=True)

    id: str
    type: str
    controller: str
    public_key_multibase: str | None = Field(default=None, alias="publicKeyMultibase")


class Service(BaseModel):
    """One ``service`` entry; ``serviceEndpoint`` may be a string or (W3C) an object."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True, populate_by_name=True)

    id: str
    type: str
    service_endpoint: str | dict[str, Any] = Field(alias="serviceEndpoint")


def _matches_id(entry_id: str, did: str, name: str) -> bool:
    return entry_id in (f"#{name}", f"{did}#{name}")


def normalize_service_endpoint(endpoint: object) -> str | None:
    """``endpoint`` as ``scheme://host[:port]`` if it is an acceptable service URL.

    Acceptable: a string, ``http`` or ``https``, a host, no credentials, and no path
    (a bare ``/`` is tolerated and dropped), query or fragment. Anything else gives
    None: a DID document with a malformed endpoint has no usable service.
    """
    if not isinstance(endpoint, str) or len(endpoint) > _MAX_ENDPOINT_LENGTH:
        return None
    if not endpoint.isascii() or any(c.isspace() for c in endpoint):
        return None
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in endpoint:
        return None
    if endpoint.endswith("#"):
        return None
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


class DidDocument(BaseModel):
    """A parsed DID document. Build with :meth:`parse` (which checks ``id``)."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True, populate_by_name=True)

    context: Any = Field(default=None, alias="@context")
    id: Did
    also_known_as: list[str] = Field(default_factory=list, alias="alsoKnownAs")
    verification_method: list[VerificationMethod] = Field(
        default_factory=list, alias="verificationMethod"
    )
    service: list[Service] = Field(default_factory=list)

    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @classmethod
    def parse(cls, data: object, did: str | None = None) -> DidDocument:
        """Validate ``data`` (decoded JSON) as a DID document, and if ``did`` is given,
        require ``id == did`` exactly (case-sensitive).

        Raises :class:`InvalidDidDocumentError`.
        """
        if not isinstance(data, dict):
            raise InvalidDidDocumentError(
                f"DID document must be a JSON object, not {type(data).__name__}"
            )
        try:
            doc = cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = "/".join(str(p) for p in first["loc"])
            raise InvalidDidDocumentError(
                f"malformed DID document at {where or '/'}: {first['msg']}"
                f" ({exc.error_count()} problem(s))"
            ) from None
        if did is not None and doc.id != did:
            raise InvalidDidDocumentError(
                f"DID document id {str(doc.id)[:100]!r} does not match the DID resolved ({did})"
            )
        doc._raw = data
        return doc

    def to_json(self) -> dict[str, Any]:
        """The document as JSON: the original object if parsed, else a fresh dump."""
        if self._raw:
            return dict(self._raw)
        return self.model_dump(by_alias=True, exclude_defaults=True, mode="json")

    # -- extraction ---------------------------------------------------------------------

    def handle(self) -> Handle | None:
        """The declared (unverified) handle: first ``at://`` alias that is a valid handle."""
        for aka in self.also_known_as:
            if aka.startswith(_AT_PREFIX):
                rest = aka[len(_AT_PREFIX) :]
                if is_valid_handle(rest):
                    return Handle.parse(rest)
        return None

    def find_verification_method(self, name: str) -> VerificationMethod | None:
        """The first verification method with id ``#name`` or ``<did>#name``."""
        for method in self.verification_method:
            if _matches_id(method.id, self.id, name):
                return method
        return None

    def verification_key(self, name: str = ATPROTO_KEY_ID) -> PublicKey:
        """The public key of verification method ``name``.

        Raises :class:`KeyNotDeclaredError` if it is missing, controlled by someone
        else, of an unsupported type, or not a valid key.
        """
        method = self.find_verification_method(name)
        if method is None:
            raise KeyNotDeclaredError(f"{self.id} declares no #{name} verification method")
        if method.controller != self.id:
            raise KeyNotDeclaredError(
                f"{self.id}#{name} is controlled by {method.controller[:100]!r}, not the DID"
            )
        if method.public_key_multibase is None:
            raise KeyNotDeclaredError(f"{self.id}#{name} has no publicKeyMultibase")
        try:
            return parse_verification_method(method.type, method.public_key_multibase)
        except CryptoError as exc:
            raise KeyNotDeclaredError(f"{self.id}#{name} is not a usable key: {exc}") from None

    def signing_key(self) -> PublicKey:
        """The ``#atproto`` repo signing key (raises :class:`KeyNotDeclaredError`)."""
        return self.verification_key(ATPROTO_KEY_ID)

    def labeler_key(self) -> PublicKey:
        """The ``#atproto_label`` label-signing key (raises :class:`KeyNotDeclaredError`)."""
        return self.verification_key(ATPROTO_LABEL_KEY_ID)

    def service_endpoint(self, name: str, type_: str) -> str | None:
        """The endpoint of the first service with id ``#name``/``<did>#name`` if it has
        type ``type_`` and a valid endpoint URL (see :func:`normalize_service_endpoint`),
        else None."""
        for entry in self.service:
            if _matches_id(entry.id, self.id, name):
                if entry.type != type_:
                    return None
                return normalize_service_endpoint(entry.service_endpoint)
        return None

    def pds_endpoint(self) -> str | None:
        """The ``#atproto_pds`` endpoint (``https://pds.example.com``), or None."""
        return self.service_endpoint(PDS_SERVICE_ID, PDS_SERVICE_TYPE)

    def labeler_endpoint(self) -> str | None:
        """The ``#atproto_labeler`` endpoint, or None."""
        return self.service_endpoint(LABELER_SERVICE_ID, LABELER_SERVICE_TYPE)


def did_key_document(did: str) -> DidDocument:
    """The DID document of a ``did:key`` DID, built locally.

    The key is exposed as ``#atproto`` (Multikey) so :meth:`DidDocument.signing_key`
    works; a did:key has no services and no handle. Raises
    :class:`InvalidDidDocumentError` if the key does not parse.
    """
    try:
        key = parse_did_key(did)
    except CryptoError as exc:
        raise InvalidDidDocumentError(f"invalid did:key {did[:100]!r}: {exc}") from None
    return DidDocument.parse(
        {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": did,
            "verificationMethod": [
                {
                    "id": f"{did}#{ATPROTO_KEY_ID}",
                    "type": MULTIKEY_TYPE,
                    "controller": did,
                    "publicKeyMultibase": key.multikey(),
                }
            ],
        },
        did,
    )

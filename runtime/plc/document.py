"""The current state of a did:plc identity and its renderings.

:class:`PlcState` is what the log's last (non-tombstone) operation says; it renders as
the directory's ``/data`` JSON and as the DID document served at ``/<did>``. The
document uses Multikey verification methods with fully qualified ids (``<did>#atproto``)
and relative service ids (``#atproto_pds``), as plc.directory does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lexforge.runtime.plc.operations import (
    LegacyCreateOperation,
    PlcOperation,
    PlcService,
    normalize,
)

__all__ = ["PlcState"]

_K256_PREFIX = "did:key:zQ3s"
_P256_PREFIX = "did:key:zDna"
_BASE_CONTEXT = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]
_K256_CONTEXT = "https://w3id.org/security/suites/secp256k1-2019/v1"
_P256_CONTEXT = "https://w3id.org/security/suites/ecdsa-2019/v1"


@dataclass(frozen=True, slots=True)
class PlcState:
    """The data of a live did:plc identity (``/<did>/data``)."""

    did: str
    rotation_keys: tuple[str, ...]
    verification_methods: Mapping[str, str]
    also_known_as: tuple[str, ...]
    services: Mapping[str, PlcService]

    @classmethod
    def from_operation(cls, did: str, op: PlcOperation | LegacyCreateOperation) -> PlcState:
        """The state an operation establishes."""
        norm = normalize(op)
        return cls(
            did=did,
            rotation_keys=norm.rotation_keys,
            verification_methods=dict(norm.verification_methods),
            also_known_as=norm.also_known_as,
            services=dict(norm.services),
        )

    def to_data_json(self) -> dict[str, Any]:
        """The ``/<did>/data`` JSON object."""
        return {
            "did": self.did,
            "verificationMethods": dict(self.verification_methods),
            "rotationKeys": list(self.rotation_keys),
            "alsoKnownAs": list(self.also_known_as),
            "services": {name: svc.to_json() for name, svc in self.services.items()},
        }

    def to_did_document(self) -> dict[str, Any]:
        """The DID document JSON object served at ``/<did>``."""
        context = list(_BASE_CONTEXT)
        methods = []
        for name, key in self.verification_methods.items():
            extra = (
                _K256_CONTEXT
                if key.startswith(_K256_PREFIX)
                else _P256_CONTEXT
                if key.startswith(_P256_PREFIX)
                else None
            )
            if extra is not None and extra not in context:
                context.append(extra)
            methods.append(
                {
                    "id": f"{self.did}#{name}",
                    "type": "Multikey",
                    "controller": self.did,
                    "publicKeyMultibase": key.removeprefix("did:key:"),
                }
            )
        return {
            "@context": context,
            "id": self.did,
            "alsoKnownAs": list(self.also_known_as),
            "verificationMethod": methods,
            "service": [
                {"id": f"#{name}", "type": svc.type, "serviceEndpoint": svc.endpoint}
                for name, svc in self.services.items()
            ],
        }

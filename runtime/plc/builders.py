"""Build and sign did:plc operations: genesis, updates, tombstones.

Everything produced here passes :func:`~lexforge.runtime.plc.operations.check_operation`
at ``PRODUCE`` strictness (1-5 unique k256/p256 rotation keys, ids without ``#``, op
under 4000 bytes), and the signer must be one of the keys that may sign: the genesis'
own rotation keys, or the rotation keys of the operation being built on. The atproto
conveniences check what they publish: ``handle`` must be a syntactically valid handle
(stored lowercased as ``at://<handle>``) and ``pds_endpoint`` an http(s) URL of scheme,
host and port only, as DID-document readers require; a malformed one would leave the
account without a usable handle or PDS.

    >>> rotation = K256Keypair.generate()
    >>> did, genesis = create_genesis(
    ...     rotation_keys=[rotation.did_key()], signing_key=signing.did_key(),
    ...     handle="alice.test", pds_endpoint="https://pds.test", signer=rotation)
    >>> update = build_update(genesis, signer=rotation, handle="alice2.test")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lexforge.runtime.crypto import Keypair
from lexforge.runtime.identity.did_doc import normalize_service_endpoint
from lexforge.runtime.plc.errors import InvalidOperationError, InvalidSignatureError
from lexforge.runtime.plc.operations import (
    LegacyCreateOperation,
    Operation,
    PlcOperation,
    PlcService,
    PlcTombstone,
    Strictness,
    check_operation,
    did_for_genesis,
    normalize,
)
from lexforge.runtime.syntax import Handle, InvalidHandleError

__all__ = [
    "ATPROTO_PDS_TYPE",
    "build_tombstone",
    "build_update",
    "create_genesis",
    "create_genesis_operation",
]

ATPROTO_PDS_TYPE = "AtprotoPersonalDataServer"


def _at_uri(handle: str) -> str:
    """``at://<handle>`` for a valid handle (``at://`` prefix optional), lowercased."""
    try:
        return f"at://{Handle.parse(handle.removeprefix('at://'))}"
    except InvalidHandleError as exc:
        raise InvalidOperationError(f"invalid handle {handle[:100]!r}: {exc}") from None


def _pds_service(endpoint: str) -> PlcService:
    if normalize_service_endpoint(endpoint) is None:
        raise InvalidOperationError(
            f"invalid PDS endpoint {endpoint[:100]!r}: must be an http(s) URL with a host "
            "and no path, query, fragment or credentials (e.g. https://pds.example.com)"
        )
    return PlcService(ATPROTO_PDS_TYPE, endpoint)


def _check_signer(signer: Keypair, allowed: Sequence[str], what: str) -> None:
    if signer.did_key() not in allowed:
        raise InvalidSignatureError(f"the signing key {signer.did_key()} is not one of {what}")


def create_genesis_operation(
    *,
    rotation_keys: Sequence[str],
    verification_methods: Mapping[str, str],
    also_known_as: Sequence[str],
    services: Mapping[str, PlcService],
    signer: Keypair,
) -> tuple[str, PlcOperation]:
    """A signed genesis operation from raw fields, and the DID it creates."""
    _check_signer(signer, rotation_keys, "the genesis rotation keys")
    op = PlcOperation(
        rotation_keys=tuple(rotation_keys),
        verification_methods=dict(verification_methods),
        also_known_as=tuple(also_known_as),
        services=dict(services),
        prev=None,
    ).sign(signer)
    check_operation(op, Strictness.PRODUCE)
    return did_for_genesis(op), op


def create_genesis(
    *,
    rotation_keys: Sequence[str],
    signing_key: str | None,
    handle: str | None,
    pds_endpoint: str | None,
    signer: Keypair,
) -> tuple[str, PlcOperation]:
    """An atproto genesis: ``atproto`` signing key, ``at://handle``, ``atproto_pds``."""
    return create_genesis_operation(
        rotation_keys=rotation_keys,
        verification_methods={"atproto": signing_key} if signing_key else {},
        also_known_as=[_at_uri(handle)] if handle else [],
        services={"atproto_pds": _pds_service(pds_endpoint)} if pds_endpoint else {},
        signer=signer,
    )


def build_update(
    prev: Operation,
    *,
    signer: Keypair,
    rotation_keys: Sequence[str] | None = None,
    signing_key: str | None = None,
    handle: str | None = None,
    pds_endpoint: str | None = None,
    verification_methods: Mapping[str, str] | None = None,
    also_known_as: Sequence[str] | None = None,
    services: Mapping[str, PlcService] | None = None,
) -> PlcOperation:
    """A signed update on top of ``prev`` (pass an older operation to fork for recovery).

    Fields not given are carried over from ``prev``. ``signing_key`` replaces the
    ``atproto`` verification method; ``handle`` replaces the first ``at://`` alias (or
    adds one); ``pds_endpoint`` replaces ``atproto_pds``. The raw ``verification_methods``
    / ``also_known_as`` / ``services`` replace the whole field and are applied first.
    """
    if isinstance(prev, PlcTombstone):
        raise InvalidOperationError("cannot build on a tombstone")
    base = normalize(prev)
    _check_signer(signer, base.rotation_keys, "the previous operation's rotation keys")
    methods = dict(
        base.verification_methods if verification_methods is None else verification_methods
    )
    aka = list(base.also_known_as if also_known_as is None else also_known_as)
    svcs = dict(base.services if services is None else services)
    if signing_key is not None:
        methods["atproto"] = signing_key
    if handle is not None:
        uri = _at_uri(handle)
        index = next((i for i, a in enumerate(aka) if a.startswith("at://")), None)
        if index is None:
            aka.insert(0, uri)
        else:
            aka[index] = uri
    if pds_endpoint is not None:
        svcs["atproto_pds"] = _pds_service(pds_endpoint)
    op = PlcOperation(
        rotation_keys=tuple(base.rotation_keys if rotation_keys is None else rotation_keys),
        verification_methods=methods,
        also_known_as=tuple(aka),
        services=svcs,
        prev=str(prev.cid()),
    ).sign(signer)
    check_operation(op, Strictness.PRODUCE)
    return op


def build_tombstone(prev: PlcOperation | LegacyCreateOperation, *, signer: Keypair) -> PlcTombstone:
    """A signed tombstone on top of ``prev`` (deactivates the DID)."""
    _check_signer(signer, normalize(prev).rotation_keys, "the previous operation's rotation keys")
    op = PlcTombstone(prev=str(prev.cid())).sign(signer)
    check_operation(op, Strictness.PRODUCE)
    return op

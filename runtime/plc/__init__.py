"""did:plc: operations, log validation, a client, and a local PLC directory server.

- :mod:`.operations`: parse / check / sign / verify / hash operations, derive the DID.
- :mod:`.builders`: genesis, update and tombstone builders.
- :mod:`.log`: next-operation checks (signatures, ``prev`` chain, 72-hour nullification
  window) and full log / audit-log validation.
- :mod:`.document`: the identity state, rendered as ``/data`` and as a DID document.
- :mod:`.client`: talk to a directory (``plc.directory`` or ours).
- :mod:`.server` / :mod:`.store`: ``create_app(db_path)``, the directory HTTP API over
  SQLite (``lexforge plc serve``).
"""

from __future__ import annotations

from lexforge.runtime.plc.builders import (
    build_tombstone,
    build_update,
    create_genesis,
    create_genesis_operation,
)
from lexforge.runtime.plc.document import PlcState
from lexforge.runtime.plc.errors import (
    GenesisMismatchError,
    InvalidAuditLogError,
    InvalidOperationError,
    InvalidPlcDidError,
    InvalidSignatureError,
    LateRecoveryError,
    MisorderedOperationError,
    PlcDirectoryError,
    PlcError,
    PlcNetworkError,
    RateLimitedError,
)
from lexforge.runtime.plc.log import (
    AuditEntry,
    IndexedOperation,
    NextOpResult,
    assure_valid_genesis,
    assure_valid_next_op,
    parse_audit_log,
    validate_audit_log,
    validate_operation_log,
)
from lexforge.runtime.plc.operations import (
    MAX_OP_BYTES,
    RECOVERY_WINDOW,
    LegacyCreateOperation,
    Operation,
    PlcOperation,
    PlcService,
    PlcTombstone,
    Strictness,
    check_operation,
    did_for_genesis,
    normalize,
    parse_operation,
)

__all__ = [
    "MAX_OP_BYTES",
    "RECOVERY_WINDOW",
    "AuditEntry",
    "GenesisMismatchError",
    "IndexedOperation",
    "InvalidAuditLogError",
    "InvalidOperationError",
    "InvalidPlcDidError",
    "InvalidSignatureError",
    "LateRecoveryError",
    "LegacyCreateOperation",
    "MisorderedOperationError",
    "NextOpResult",
    "Operation",
    "PlcDirectoryError",
    "PlcError",
    "PlcNetworkError",
    "PlcOperation",
    "PlcService",
    "PlcState",
    "PlcTombstone",
    "RateLimitedError",
    "Strictness",
    "assure_valid_genesis",
    "assure_valid_next_op",
    "build_tombstone",
    "build_update",
    "check_operation",
    "create_genesis",
    "create_genesis_operation",
    "did_for_genesis",
    "normalize",
    "parse_audit_log",
    "parse_operation",
    "validate_audit_log",
    "validate_operation_log",
]

"""Sync: the ``subscribeRepos`` firehose (frames, typed events, a resuming consumer).

Ownership (two engineers work in this package in parallel):

* the repo engineer owns ``verify.py`` (commit/sync verification with op inversion,
  which needs the MST in ``lexforge.runtime.repo``) and ``tests/sync/test_verify*.py``;
* the firehose engineer owns everything else here: ``errors.py`` (the verification
  errors in it are the repo engineer's), ``events.py``, ``frames.py``, ``cursor.py``,
  ``consumer.py``, ``cli.py`` (``lexforge firehose``), the rest of ``tests/sync/`` and
  the decode-only part of ``tests/bench/bench_firehose.py``.

Layers: :mod:`.events` (typed event dataclasses, strict body checks) and
:mod:`.frames` (bytes <-> events, on top of the XRPC frame codec) have no I/O;
:mod:`.cursor` tracks and persists the last *processed* seq; :mod:`.consumer` connects,
resumes, reconnects and dispatches to workers with per-repo order. This ``__init__``
imports lazily-cheap modules only; import the consumer from :mod:`.consumer`.
"""

from lexforge.runtime.sync.errors import (
    ConsumerTooSlowError,
    CursorStoreError,
    EventError,
    EventShapeError,
    FrameLimitError,
    FutureCursorError,
    FutureRevError,
    HandlerError,
    HandshakeRefusedError,
    StaleRevError,
    StreamErrorFrame,
    SyncError,
    VerificationError,
    VerifierUnavailableError,
)
from lexforge.runtime.sync.events import (
    MAX_COMMIT_BLOCKS_BYTES,
    MAX_OPS,
    MAX_SYNC_BLOCKS_BYTES,
    AccountEvent,
    CommitEvent,
    Event,
    IdentityEvent,
    InfoEvent,
    RepoEvent,
    SyncEvent,
)
from lexforge.runtime.sync.frames import (
    MAX_FRAME_BYTES,
    MAX_MESSAGE_BYTES,
    decode_event,
    encode_error_frame,
    encode_frame,
)

__all__ = [
    "MAX_COMMIT_BLOCKS_BYTES",
    "MAX_FRAME_BYTES",
    "MAX_MESSAGE_BYTES",
    "MAX_OPS",
    "MAX_SYNC_BLOCKS_BYTES",
    "AccountEvent",
    "CommitEvent",
    "ConsumerTooSlowError",
    "CursorStoreError",
    "Event",
    "EventError",
    "EventShapeError",
    "FrameLimitError",
    "FutureCursorError",
    "FutureRevError",
    "HandlerError",
    "HandshakeRefusedError",
    "IdentityEvent",
    "InfoEvent",
    "RepoEvent",
    "StaleRevError",
    "StreamErrorFrame",
    "SyncError",
    "SyncEvent",
    "VerificationError",
    "VerifierUnavailableError",
    "decode_event",
    "encode_error_frame",
    "encode_frame",
]

"""Repositories: the Merkle Search Tree, signed commits, diffs, CAR export/import, proofs.

>>> from lexforge.runtime.crypto import K256Keypair
>>> repo, first = Repo.create(MemoryBlockStore(), "did:plc:abc", K256Keypair.generate())
>>> diff = repo.apply_writes([Create("app.bsky.feed.post", "3k2a", {"$type": "x"})])
>>> invert_ops(diff.ops, diff.blocks, diff.commit.data) == diff.prev_data
True
"""

from lexforge.runtime.repo.blockstore import BlockStore, MemoryBlockStore, SqliteBlockStore
from lexforge.runtime.repo.commit import COMMIT_VERSION, Commit, sign_commit
from lexforge.runtime.repo.errors import (
    CommitError,
    InvalidKeyError,
    InvalidMstError,
    InvalidSignatureError,
    InversionError,
    MissingBlockError,
    MstLimitError,
    ProofError,
    RepoError,
    RepoImportError,
    SwapError,
    WriteError,
)
from lexforge.runtime.repo.export import (
    export_car,
    iter_car_chunks,
    iter_repo_blocks,
    write_repo_car,
)
from lexforge.runtime.repo.keys import (
    MAX_KEY_BYTES,
    check_key,
    clear_layer_cache,
    common_prefix_length,
    is_valid_key,
    key_layer,
)
from lexforge.runtime.repo.mst import EMPTY_ROOT_CID, MstLimits, Node, Tree, decode_node
from lexforge.runtime.repo.ops import (
    MAX_OPS,
    Create,
    Delete,
    RecordOp,
    Update,
    Write,
    invert_ops,
)
from lexforge.runtime.repo.repo import MAX_RECORD_BYTES, CommitDiff, Repo, encode_record
from lexforge.runtime.repo.verify import (
    VerifiedRepo,
    import_repo,
    record_proof,
    verify_record_proof,
    verify_repo_car,
)

__all__ = [
    "COMMIT_VERSION",
    "EMPTY_ROOT_CID",
    "MAX_KEY_BYTES",
    "MAX_OPS",
    "MAX_RECORD_BYTES",
    "BlockStore",
    "Commit",
    "CommitDiff",
    "CommitError",
    "Create",
    "Delete",
    "InvalidKeyError",
    "InvalidMstError",
    "InvalidSignatureError",
    "InversionError",
    "MemoryBlockStore",
    "MissingBlockError",
    "MstLimitError",
    "MstLimits",
    "Node",
    "ProofError",
    "RecordOp",
    "Repo",
    "RepoError",
    "RepoImportError",
    "SqliteBlockStore",
    "SwapError",
    "Tree",
    "Update",
    "VerifiedRepo",
    "Write",
    "WriteError",
    "check_key",
    "clear_layer_cache",
    "common_prefix_length",
    "decode_node",
    "encode_record",
    "export_car",
    "import_repo",
    "invert_ops",
    "is_valid_key",
    "iter_car_chunks",
    "iter_repo_blocks",
    "key_layer",
    "record_proof",
    "sign_commit",
    "verify_record_proof",
    "verify_repo_car",
    "write_repo_car",
]

"""Same input, same bytes: whatever the file order, root order or hash seed."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from lexforge.codegen.generate import GenConfig, build
from tests.codegen.conftest import OFFICIAL, ROOT

pytestmark = pytest.mark.slow

_DIGEST = """
import hashlib, sys
from pathlib import Path
from lexforge.codegen.generate import GenConfig, build
files, _ = build(GenConfig(lexicon_dirs=tuple(Path(p) for p in sys.argv[1:]),
                           out_dir=Path("generated"), format=False))
h = hashlib.sha256()
for path, text in sorted(files.items()):
    h.update(str(path).encode() + b"\\0" + text.encode() + b"\\0")
print(h.hexdigest())
"""


def digest(files: dict[PurePosixPath, str]) -> str:
    h = hashlib.sha256()
    for path, text in sorted(files.items()):
        h.update(str(path).encode() + b"\0" + text.encode() + b"\0")
    return h.hexdigest()


def subprocess_digest(seed: str, *roots: Path) -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    proc = subprocess.run(
        [sys.executable, "-c", _DIGEST, *map(str, roots)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    return proc.stdout.strip()


def test_hash_seed_does_not_matter() -> None:
    assert subprocess_digest("0", OFFICIAL) == subprocess_digest("1", OFFICIAL)


def test_file_and_root_order_do_not_matter(tmp_path: Path) -> None:
    files = sorted(OFFICIAL.rglob("*.json"))
    random.Random(7).shuffle(files)
    roots = [tmp_path / "a" / "lexicons", tmp_path / "b" / "lexicons"]
    for i, file in enumerate(files):  # created in shuffled order, split over two roots
        target = roots[i % 2] / file.relative_to(OFFICIAL)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, target)
    first, _ = build(GenConfig(lexicon_dirs=tuple(roots), out_dir=tmp_path / "out", format=False))
    second, _ = build(
        GenConfig(lexicon_dirs=tuple(reversed(roots)), out_dir=tmp_path / "out", format=False)
    )
    reference, _ = build(
        GenConfig(lexicon_dirs=(OFFICIAL,), out_dir=tmp_path / "out", format=False)
    )
    assert digest(first) == digest(second) == digest(reference)


def test_twice_in_a_row_and_formatted_output_is_stable(
    official_build: tuple[dict[PurePosixPath, str], object],
) -> None:
    files, _ = official_build
    again, _ = build(GenConfig(lexicon_dirs=(OFFICIAL,), out_dir=ROOT / "generated"))
    assert digest(files) == digest(again)


def test_no_absolute_paths_or_timestamps(
    official_build: tuple[dict[PurePosixPath, str], object],
) -> None:
    files, _ = official_build
    for path, text in files.items():
        assert str(ROOT) not in text, path
        assert "/tmp" not in text, path

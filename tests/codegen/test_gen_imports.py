"""``lexforge gen`` loads neither libcst nor pydantic.

libcst is only needed to merge handler modules (``--handlers``) and pydantic only by
the code the compiler writes; together they were a third of a cold ``lexforge gen``.
This runs the real command in a fresh interpreter (imports are per process) and looks
at what it loaded, so a stray import cannot bring the cost back unnoticed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.codegen.conftest import CASES, ROOT

HEAVY = ("libcst", "pydantic", "pydantic_core", "importlib.metadata")

_SCRIPT = """
import json, sys
from lexforge.runtime.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": sorted(m for m in HEAVY if m in sys.modules)}))
"""


def _gen(tmp_path: Path, lexicons: Path, package: str, *extra: str) -> dict[str, object]:
    out = tmp_path / "out"
    script = f"HEAVY = {HEAVY!r}\n{_SCRIPT}"
    args = ["gen", "--lexicons", str(lexicons), "--out", str(out), "--package", package]
    proc = subprocess.run(
        [sys.executable, "-c", script, *args, *extra],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_gen_of_every_artifact_imports_no_heavy_dependency(tmp_path: Path) -> None:
    # Official references, a user package, all three artifacts, a cold format cache.
    result = _gen(tmp_path, CASES / "official_refs" / "lexicons", "mypkg")
    assert result == {"code": 0, "loaded": []}


def test_up_to_date_check_imports_no_heavy_dependency(tmp_path: Path) -> None:
    first = _gen(tmp_path, CASES / "xrpc" / "lexicons", "mypkg")
    assert first["code"] == 0
    again = _gen(tmp_path, CASES / "xrpc" / "lexicons", "mypkg")
    assert again == {"code": 0, "loaded": []}

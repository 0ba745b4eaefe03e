"""The C accelerator must be the active backend wherever it could have been built.

setup.py marks the extension optional, so a compile error would otherwise fall back to
pure Python silently and hide a 10x slowdown. CI builds it, so there it must be active.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from lexforge.runtime.data import cbor
from tests.buildenv import can_build_extensions


def test_c_accelerator_is_active_when_buildable() -> None:
    if os.environ.get("LEXFORGE_CBOR_BACKEND") == "python":
        assert cbor.BACKEND == "python"
        return
    if not can_build_extensions():
        pytest.skip("no C compiler or Python.h here: the pure-Python fallback is expected")
    spec = importlib.util.find_spec("lexforge.runtime.data._cbor")
    assert spec is not None, (
        "lexforge.runtime.data._cbor is not built although a compiler is available: "
        "reinstall (pip install -e .) and check the compiler output"
    )
    assert cbor.BACKEND == "c"
    from lexforge.runtime.data import _cbor

    assert cbor.decode is _cbor.decode
    assert cbor.encode is _cbor.encode
    assert cbor.decode_prefix is _cbor.decode_prefix


def test_env_var_forces_pure_python() -> None:
    code = (
        "from lexforge.runtime.data import cbor, cbor_pure;"
        "assert cbor.BACKEND == 'python', cbor.BACKEND;"
        "assert cbor.decode is cbor_pure.decode"
    )
    env = {**os.environ, "LEXFORGE_CBOR_BACKEND": "python"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)

"""What this machine can build: the C accelerators are optional, so tests that insist on
them (a silent fallback to pure Python would hide a large slowdown) first ask whether a
compiler and the Python headers are there."""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path

__all__ = ["can_build_extensions"]


def can_build_extensions() -> bool:
    """Whether a C compiler and ``Python.h`` are available to this interpreter."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    header = Path(sysconfig.get_paths()["include"]) / "Python.h"
    return shutil.which(compiler) is not None and header.exists()

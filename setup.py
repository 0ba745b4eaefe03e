"""Package discovery for lexforge's fixed layout; all other metadata is in pyproject.toml.

Each top-level folder installs as a subpackage of the ``lexforge`` namespace
(``runtime/`` -> ``lexforge.runtime``). ``pyproject.toml`` cannot express "every package
below this folder, with a prefix", so it is computed here.
"""

import sys

from setuptools import Extension, find_namespace_packages, setup

FOLDERS = ("codegen", "runtime", "generated", "templates", "lexicons")

packages = []
for folder in FOLDERS:
    packages.append(f"lexforge.{folder}")
    packages += [f"lexforge.{folder}.{sub}" for sub in find_namespace_packages(folder)]

# The strict DAG-CBOR codec's C accelerator. Optional: without a compiler the package
# still installs and lexforge.runtime.data.cbor falls back to pure Python (its BACKEND
# says which one is active; tests/data/test_cbor_backend.py fails on a silent fallback
# where a compiler exists).
ext_modules = [
    Extension(
        "lexforge.runtime.data._cbor",
        ["runtime/data/_cbor.c"],
        optional=True,
        extra_compile_args=(
            [] if sys.platform == "win32" else ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
        ),
    )
]

setup(
    packages=sorted(p for p in packages if "__pycache__" not in p),
    package_dir={f"lexforge.{folder}": folder for folder in FOLDERS},
    ext_modules=ext_modules,
)

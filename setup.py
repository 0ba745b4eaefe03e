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

# C accelerators. Optional: without a compiler the package still installs and every one
# of them falls back to pure Python. Tests fail on a silent fallback where a compiler
# exists (tests/data/test_cbor_backend.py, tests/lex/test_model_builder.py,
# tests/lex/test_values_c.py).
#   _cbor:   the strict DAG-CBOR codec, CIDs, SHA-256, MST and CAR-slice hot paths;
#   _models: builds generated model instances for the fast validator;
#   _values: blobs and string-format values for the fast validator.
_C_FLAGS = [] if sys.platform == "win32" else ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
_CBOR_PARTS = ("module", "codec", "cid", "b32", "sha256", "mst", "carslice")
ext_modules = [
    Extension(
        f"lexforge.runtime.{name}",
        sources,
        depends=depends,
        optional=True,
        extra_compile_args=_C_FLAGS,
    )
    for name, sources, depends in (
        (
            "data._cbor",
            [f"runtime/data/_cbor_{part}.c" for part in _CBOR_PARTS],
            ["runtime/data/_cbor.h"],
        ),
        ("lex._models", ["runtime/lex/_models.c"], []),
        ("lex._values", ["runtime/lex/_values.c"], []),
    )
]

setup(
    packages=sorted(p for p in packages if "__pycache__" not in p),
    package_dir={f"lexforge.{folder}": folder for folder in FOLDERS},
    ext_modules=ext_modules,
)

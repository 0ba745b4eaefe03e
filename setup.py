"""Package discovery for lexforge's fixed layout; all other metadata is in pyproject.toml.

Each top-level folder installs as a subpackage of the ``lexforge`` namespace
(``runtime/`` -> ``lexforge.runtime``). ``pyproject.toml`` cannot express "every package
below this folder, with a prefix", so it is computed here.
"""

from setuptools import find_namespace_packages, setup

FOLDERS = ("codegen", "runtime", "generated", "templates", "lexicons")

packages = []
for folder in FOLDERS:
    packages.append(f"lexforge.{folder}")
    packages += [f"lexforge.{folder}.{sub}" for sub in find_namespace_packages(folder)]

setup(
    packages=sorted(p for p in packages if "__pycache__" not in p),
    package_dir={f"lexforge.{folder}": folder for folder in FOLDERS},
)

"""Every generated module imports, and every generated model and union builds.

Pydantic resolves annotations lazily (``defer_build`` plus lazy cross-module proxies), so
a broken reference would only show when a model is first used: this test uses all of
them, the official set and the golden cases alike.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
from functools import cached_property
from types import ModuleType

import pytest
from pydantic import BaseModel, TypeAdapter
from typing_extensions import TypeAliasType

import lexforge.generated.models
from lexforge.codegen.pipeline import compile_lexicons
from lexforge.generated.models import _index
from lexforge.runtime.lex import LexModel
from tests.codegen.conftest import CASES, ROOT


def _modules(package: ModuleType) -> list[ModuleType]:
    names = [
        info.name
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
        if not info.ispkg
    ]
    return [importlib.import_module(name) for name in sorted(names)]


def _own_models(module: ModuleType) -> list[type[BaseModel]]:
    found = {
        id(obj): obj
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, LexModel) and obj.__module__ == module.__name__
    }
    return list(found.values())


def _own_unions(module: ModuleType) -> list[TypeAliasType]:
    return [
        obj
        for obj in vars(module).values()
        if isinstance(obj, TypeAliasType) and obj.__module__ == module.__name__
    ]


def _build_all(package: ModuleType) -> tuple[int, int]:
    models = unions = 0
    for module in _modules(package):
        for model in _own_models(module):
            assert model.model_rebuild(force=True, raise_errors=True) is not False, model
            models += 1
        for alias in _own_unions(module):
            TypeAdapter(alias)
            unions += 1
    return models, unions


def test_official_models_all_build() -> None:
    program = compile_lexicons([ROOT / "lexicons"]).program
    models, unions = _build_all(lexforge.generated.models)
    assert models == sum(len(m.models) for m in program.modules)
    assert unions >= sum(len(m.unions) for m in program.modules) - len(program.endpoints)


def test_every_client_and_server_module_imports() -> None:
    """The client namespaces and server bindings import too, and every namespace of the
    client tree is reachable from ``Client`` / ``AsyncClient``; every ``BINDINGS`` entry
    names a module whose ``BINDING`` serves that NSID."""
    import lexforge.generated.client
    import lexforge.generated.server
    from lexforge.generated.client import AsyncClient, Client

    clients = _modules(lexforge.generated.client)
    servers = _modules(lexforge.generated.server)
    assert len(servers) == len(_index.METHODS)
    for nsid, relative in lexforge.generated.server.BINDINGS.items():
        module = importlib.import_module(relative, "lexforge.generated.server")
        assert module.BINDING.nsid == nsid
    packages = [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(
            lexforge.generated.client.__path__, "lexforge.generated.client."
        )
        if info.ispkg
    ]
    namespaces = {m.__name__ for m in [*clients, *packages] if hasattr(m, "Namespace")}
    assert len(namespaces) > 40

    def walk(obj: object, reached: set[tuple[str, str]]) -> None:
        for name in dir(type(obj)):
            if isinstance(getattr(type(obj), name, None), cached_property):
                child = getattr(obj, name)
                reached.add((type(child).__module__, type(child).__name__))
                walk(child, reached)

    for root, kind in ((Client, "Namespace"), (AsyncClient, "AsyncNamespace")):
        reached: set[tuple[str, str]] = set()
        walk(root("http://127.0.0.1:1"), reached)
        assert reached == {(module, kind) for module in namespaces}


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_golden_models_all_build(case: str) -> None:
    package = importlib.import_module(f"tests.codegen.cases.{case}.expected.models")
    models, _ = _build_all(package)
    assert models > 0


def test_index_names_every_record_and_method() -> None:
    for nsid in _index.RECORDS:
        assert _index.load_record(nsid).model_fields["py_type"].default == nsid
    for ref, (module, name) in _index.DEFS.items():
        assert module in {m for m, _ in _index.DEFS.values()}
        if name.isupper():  # tokens are the ref itself
            assert _index.load(ref) == ref
    assert len(_index.METHODS) > 300


def test_importing_one_module_imports_no_other_generated_module() -> None:
    code = (
        "import sys\n"
        "from lexforge.generated.models.app.bsky.feed import post\n"
        "print(sorted(m for m in sys.modules if m.startswith('lexforge.generated.models.')"
        " and m.count('.') > 5))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "['lexforge.generated.models.app.bsky.feed.post']"


def test_importing_the_whole_client_imports_no_models_module() -> None:
    """A method's models module loads when the method is first called."""
    code = (
        "import importlib, pkgutil, sys\n"
        "import lexforge.generated.client as c\n"
        "for info in pkgutil.walk_packages(c.__path__, c.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        "print(len([m for m in sys.modules if m.startswith('lexforge.generated.models.')]))\n"
        "from lexforge.generated.client.com.atproto import repo\n"
        "repo.get_record.Params\n"
        "print(sorted(m for m in sys.modules if m.startswith('lexforge.generated.models.')"
        " and m.count('.') > 5))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split("\n")
    assert out[0] == "0"
    assert out[1] == "['lexforge.generated.models.com.atproto.repo.get_record']"

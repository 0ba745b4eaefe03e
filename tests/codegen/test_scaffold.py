"""``lexforge scaffold`` and ``scaffold()``, and the handler life cycle with ``lexforge gen``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lexforge.codegen.scaffold import ScaffoldError, scaffold, scaffold_handlers
from lexforge.runtime.cli import main

ROOT = Path(__file__).resolve().parents[2]

REPO_METHODS = [
    "apply_writes",
    "create_record",
    "delete_record",
    "describe_repo",
    "get_record",
    "import_repo",
    "list_missing_blobs",
    "list_records",
    "put_record",
    "upload_blob",
]


def test_scaffold_official_methods(tmp_path: Path) -> None:
    out = tmp_path / "handlers"
    paths = scaffold(["com.atproto.repo.*", "com.atproto.sync.subscribeRepos"], out)
    expected = [out / "com/atproto/repo" / f"{name}.py" for name in REPO_METHODS]
    expected.append(out / "com/atproto/sync/subscribe_repos.py")
    assert paths == sorted(expected)
    for package in ("", "com", "com/atproto", "com/atproto/repo", "com/atproto/sync"):
        assert (out / package / "__init__.py").is_file()
    get_record = (out / "com/atproto/repo/get_record.py").read_text()
    assert 'NSID = "com.atproto.repo.getRecord"' in get_record
    assert "from lexforge.generated.models.com.atproto.repo import get_record" in get_record
    assert "from lexforge.runtime.xrpc import MethodNotImplemented, XrpcContext" in get_record
    assert (
        "async def handle(ctx: XrpcContext, params: get_record.Params) -> get_record.Output:"
        in get_record
    )
    upload = (out / "com/atproto/repo/upload_blob.py").read_text()
    assert "async def handle(ctx: XrpcContext, input: bytes) -> upload_blob.Output:" in upload
    import_repo = (out / "com/atproto/repo/import_repo.py").read_text()
    assert "async def handle(ctx: XrpcContext, input: bytes) -> None:" in import_repo
    subscribe = (out / "com/atproto/sync/subscribe_repos.py").read_text()
    assert ") -> AsyncIterator[subscribe_repos.Message]:" in subscribe
    assert "    yield  # type: ignore[unreachable, unused-ignore]\n" in subscribe


def test_scaffold_leaves_existing_handlers_alone(tmp_path: Path) -> None:
    first = scaffold_handlers(["com.atproto.repo.getRecord"], tmp_path)
    assert len(first.created) == 1
    path = first.created[0]
    path.write_text("# mine\n")
    second = scaffold_handlers(["com.atproto.repo.get*"], tmp_path)
    assert second.existing == (path,)
    assert second.created == ()
    assert path.read_text() == "# mine\n"
    assert second.packages == ()


@pytest.mark.parametrize("pattern", ["com.example.nothing.*", "app.bsky.feed.post"])
def test_a_pattern_without_methods_is_an_error(pattern: str, tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="matches"):
        scaffold([pattern], tmp_path)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("patterns", [[], ["com.atproto repo"], ["com/atproto"], [""]])
def test_bad_patterns_are_errors(patterns: list[str], tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError):
        scaffold(patterns, tmp_path)


def test_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "h"
    args = ["scaffold", "--nsid", "com.atproto.repo.getRecord", "--out", str(out)]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "created com/atproto/repo/get_record.py" in result.output
    again = runner.invoke(main, args)
    assert again.exit_code == 0
    assert "exists  com/atproto/repo/get_record.py" in again.output
    bad = runner.invoke(main, ["scaffold", "--nsid", "com.nope.*", "--out", str(out)])
    assert bad.exit_code == 1
    assert "no query, procedure or subscription matches 'com.nope.*'" in bad.output


def test_cli_with_user_lexicons_needs_the_package(tmp_path: Path) -> None:
    """Without --package, user lexicons would be compiled as if they were lexforge's own
    (refs to the official set unresolved, imports from lexforge.generated): refused."""
    lex = tmp_path / "lex"
    _write_lexicons(lex, changed=False)
    args = ["scaffold", "--nsid", "com.example.*", "--out", str(tmp_path / "h")]
    result = CliRunner().invoke(main, [*args, "--lexicons", str(lex)])
    assert result.exit_code == 2
    assert "--package is required with --lexicons" in result.output
    result = CliRunner().invoke(main, [*args, "--lexicons", str(lex), "--package", "my-app"])
    assert result.exit_code == 2
    assert "'my-app' is not a Python package name" in result.output
    assert not (tmp_path / "h").exists()


def test_cli_scaffolds_what_compiles_and_reports_the_rest(tmp_path: Path) -> None:
    """An invalid lexicon drops only itself and its dependants."""
    lex = tmp_path / "lex"
    _write_lexicons(lex, changed=False)
    broken = {
        "type": "query",
        "parameters": {"type": "params", "properties": {"n": {"type": "float"}}},
    }
    _lexicon(lex, "com.example.broken", {"defs": {"main": broken}})
    (lex / "com" / "example" / "junk.json").write_text("{not json")
    out = tmp_path / "h"
    args = ["scaffold", "--lexicons", str(lex), "--package", "app.gen", "--out", str(out)]
    runner = CliRunner()
    result = runner.invoke(main, [*args, "--nsid", "com.example.*"])
    assert result.exit_code == 1
    assert "com.example.broken" in result.stderr
    assert "error[invalid-json]" in result.stderr
    assert "3 handler(s) created, 0 already present" in result.stdout
    assert (out / "com/example/get_thing.py").is_file()
    assert not (out / "com/example/broken.py").exists()
    only_broken = runner.invoke(main, [*args, "--nsid", "com.example.broken"])
    assert only_broken.exit_code == 1
    assert "no query, procedure or subscription matches 'com.example.broken'" in (
        only_broken.output
    )
    assert "see the lexicon errors" in only_broken.output


# --- the life cycle on a user's own lexicons ---------------------------------------------


def _lexicon(root: Path, nsid: str, doc: dict[str, object]) -> None:
    path = root.joinpath(*nsid.split(".")[:-1], nsid.rsplit(".", maxsplit=1)[-1] + ".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"lexicon": 1, "id": nsid, **doc}, indent=2))


def _string_props(*names: str) -> dict[str, object]:
    return {name: {"type": "string"} for name in names}


def _write_lexicons(root: Path, *, changed: bool) -> None:
    """The first lexicon set, or the changed one: getThing gains a parameter, its output
    field ``name`` is renamed ``title`` and its description grows; putThing loses its
    input and gains parameters and an output; subscribeThings goes; deleteThing is new."""
    get_params = ["name", "owner"] if changed else ["name"]
    get_output = "title" if changed else "name"
    _lexicon(
        root,
        "com.example.getThing",
        {
            "description": "Things, as a service.",
            "defs": {
                "main": {
                    "type": "query",
                    "description": "Get a thing by name."
                    + (" Now by owner too." if changed else ""),
                    "parameters": {
                        "type": "params",
                        "required": ["name"],
                        "properties": _string_props(*get_params),
                    },
                    "output": {
                        "encoding": "application/json",
                        "schema": {
                            "type": "object",
                            "required": [get_output],
                            "properties": _string_props(get_output),
                        },
                    },
                    "errors": [{"name": "ThingNotFound"}],
                }
            },
        },
    )
    body: dict[str, object] = {
        "encoding": "application/json",
        "schema": {"type": "object", "required": ["name"], "properties": _string_props("name")},
    }
    put: dict[str, object] = {"type": "procedure", "description": "Store a thing."}
    if changed:
        put["parameters"] = {"type": "params", "properties": _string_props("mode")}
        put["output"] = body
    else:
        put["input"] = body
    _lexicon(root, "com.example.putThing", {"defs": {"main": put}})
    if not changed:
        _lexicon(
            root,
            "com.example.subscribeThings",
            {
                "defs": {
                    "main": {
                        "type": "subscription",
                        "description": "Thing events.",
                        "parameters": {
                            "type": "params",
                            "properties": {"cursor": {"type": "integer"}},
                        },
                        "message": {"schema": {"type": "union", "refs": ["#thing"]}},
                    },
                    "thing": {
                        "type": "object",
                        "required": ["name"],
                        "properties": _string_props("name"),
                    },
                }
            },
        )
    else:
        (root / "com/example/subscribeThings.json").unlink()
        _lexicon(
            root,
            "com.example.deleteThing",
            {
                "defs": {
                    "main": {
                        "type": "procedure",
                        "description": "Delete a thing.",
                        "input": body,
                    }
                }
            },
        )


#: A user's plain ``mypy --strict`` (no plugin, no warn_unreachable); lexforge is
#: followed as installed code, its own errors silenced.
PLAIN_STRICT = "[mypy]\nstrict = True\nfollow_imports = silent\n"


def _mypy(project: Path, *modules: str, config: Path | None = None) -> None:
    """mypy --strict (the repository's settings, or ``config``) over ``modules``."""
    tree = project / ".typecheck" / "lexforge"
    if not tree.exists():
        tree.mkdir(parents=True)
        for pkg in ("codegen", "runtime", "generated"):
            (tree / pkg).symlink_to(ROOT / pkg)
    args = [arg for m in modules for arg in ("-m", m)]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(config or ROOT / "pyproject.toml"),
            "--cache-dir",
            str(project / ".mypy_cache"),
            "--no-incremental",
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=project,
        env={"MYPYPATH": f"{tree.parent}:{project}", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_life_cycle_with_gen_handlers(tmp_path: Path) -> None:
    """scaffold -> gen (nothing to merge) -> implement (body, helper, decorator, import)
    -> lexicons change (a parameter added, one removed with the input, an output field
    renamed, a method added, one removed) -> gen merges signatures and docstrings, keeps
    what the author wrote, adds the new stub, keeps and reports the orphan -> gen again
    changes nothing -> check is clean; the handlers type-check under mypy --strict
    against the generated models and server ``Handler`` protocols."""
    lex = tmp_path / "lex"
    app = tmp_path / "thingapp"
    app.mkdir()
    (app / "__init__.py").write_text("")
    _write_lexicons(lex, changed=False)
    runner = CliRunner()
    handlers = app / "handlers"
    package = ["--lexicons", str(lex), "--package", "thingapp.gen"]
    scaffolded = runner.invoke(
        main, ["scaffold", "--nsid", "com.example.*", *package, "--out", str(handlers)]
    )
    assert scaffolded.exit_code == 0, scaffolded.output
    gen_args = [*package, "--out", str(app / "gen"), "--handlers", str(handlers)]
    first = runner.invoke(main, ["gen", *gen_args])
    assert first.exit_code == 0, first.output
    assert "handlers: 0 added, 0 updated, 3 unchanged, 0 orphaned, 0 skipped" in first.output

    conformance = app / "conformance.py"
    conformance.write_text(
        "from thingapp.gen.server.com.example import get_thing, put_thing, subscribe_things\n"
        "from thingapp.handlers.com.example import get_thing as h1\n"
        "from thingapp.handlers.com.example import put_thing as h2\n"
        "from thingapp.handlers.com.example import subscribe_things as h3\n\n"
        "_1: get_thing.Handler = h1.handle\n"
        "_2: put_thing.Handler = h2.handle\n"
        "_3: subscribe_things.Handler = h3.handle\n"
    )
    _mypy(tmp_path, "thingapp.conformance")

    # The author implements getThing: a body with a comment, a helper, and a decorator
    # with the import it needs.
    get_path = handlers / "com/example/get_thing.py"
    get_path.write_text(
        get_path.read_text()
        .replace(
            "    raise MethodNotImplemented()\n",
            "    # Look it up.\n    return get_thing.Output(name=_normal(params.name))\n",
        )
        .replace("\nfrom lexforge", "\nimport functools\n\nfrom lexforge", 1)
        .replace("\nasync def handle(", "\n@functools.cache  # memoised by hand\nasync def handle(")
        + "\n\ndef _normal(name: str) -> str:\n    return name.strip()\n"
    )
    put_before = (handlers / "com/example/put_thing.py").read_text()
    orphan = handlers / "com/example/subscribe_things.py"
    orphan_before = orphan.read_bytes()
    _write_lexicons(lex, changed=True)
    check = runner.invoke(main, ["check", *gen_args])
    assert check.exit_code == 1
    assert "would update com/example/get_thing.py" in check.output
    assert "would add com/example/delete_thing.py" in check.output

    second = runner.invoke(main, ["gen", *gen_args])
    assert second.exit_code == 0, second.output
    assert "handlers: 1 added, 2 updated, 0 unchanged, 1 orphaned, 0 skipped" in second.output
    assert "warning[orphan-handler]" in second.output
    # getThing: the docstring follows the lexicon; the body (which still builds the old
    # output field: bodies are never rewritten), helper, decorator and import are kept.
    source = get_path.read_text()
    assert "Get a thing by name. Now by owner too." in source
    assert "    # Look it up.\n    return get_thing.Output(name=_normal(params.name))\n" in source
    assert "def _normal(name: str) -> str:" in source
    assert "import functools\n" in source
    assert "@functools.cache  # memoised by hand\nasync def handle(" in source
    # putThing: input removed, parameters and output added -> new signature.
    put_source = (handlers / "com/example/put_thing.py").read_text()
    assert put_source != put_before
    assert (
        "async def handle(ctx: XrpcContext, params: put_thing.Params) -> put_thing.Output:"
        in put_source
    )
    # deleteThing is new: a fresh stub; subscribeThings vanished: kept byte for byte.
    delete_source = (handlers / "com/example/delete_thing.py").read_text()
    assert "async def handle(ctx: XrpcContext, input: delete_thing.Input) -> None:" in (
        delete_source
    )
    assert "raise MethodNotImplemented()" in delete_source
    assert orphan.read_bytes() == orphan_before

    # Merging again changes nothing.
    snapshot = {p: p.read_bytes() for p in sorted(handlers.rglob("*.py"))}
    third = runner.invoke(main, ["gen", *gen_args])
    assert third.exit_code == 0, third.output
    assert "handlers: 0 added, 0 updated, 3 unchanged, 1 orphaned, 0 skipped" in third.output
    assert {p: p.read_bytes() for p in sorted(handlers.rglob("*.py"))} == snapshot

    # The author follows the renamed output field; everything type-checks again.
    get_path.write_text(source.replace("Output(name=", "Output(title="))
    conformance.write_text(
        "from thingapp.gen.server.com.example import delete_thing, get_thing, put_thing\n"
        "from thingapp.handlers.com.example import delete_thing as h0\n"
        "from thingapp.handlers.com.example import get_thing as h1\n"
        "from thingapp.handlers.com.example import put_thing as h2\n\n"
        "_0: delete_thing.Handler = h0.handle\n"
        "_1: get_thing.Handler = h1.handle\n"
        "_2: put_thing.Handler = h2.handle\n"
    )
    _mypy(tmp_path, "thingapp.conformance")

    clean = runner.invoke(main, ["check", *gen_args])
    assert clean.exit_code == 0, clean.output


@pytest.mark.slow
@pytest.mark.parametrize("settings", ["repository", "plain"])
def test_official_handlers_type_check_against_generated_bindings(
    tmp_path: Path, settings: str
) -> None:
    """Scaffolded com.atproto.repo.* and subscribeRepos handlers pass mypy --strict and
    fit the ``Handler`` protocols of ``lexforge.generated.server``, under this
    repository's settings and under a user's plain ``strict = True``."""
    app = tmp_path / "offh"
    app.mkdir()
    (app / "__init__.py").write_text("")
    scaffold(["com.atproto.repo.*", "com.atproto.sync.subscribeRepos"], app / "handlers")
    methods = [("repo", name) for name in REPO_METHODS] + [("sync", "subscribe_repos")]
    lines = []
    for group, name in methods:
        lines.append(
            f"from lexforge.generated.server.com.atproto.{group} import {name} as s_{name}"
        )
        lines.append(f"from offh.handlers.com.atproto.{group} import {name} as h_{name}")
    lines.append("")
    lines += [f"_{name}: s_{name}.Handler = h_{name}.handle" for _, name in methods]
    (app / "conformance.py").write_text("\n".join(lines) + "\n")
    config = None
    if settings == "plain":
        config = tmp_path / "mypy.ini"
        config.write_text(PLAIN_STRICT)
    _mypy(tmp_path, "offh.conformance", "offh.handlers", config=config)

"""Skip the compiler when nothing changed: the ``gen``/``check`` fast path.

A build is a pure function of its inputs: the lexicon files, the generation settings,
the compiler's own code and templates, and the versions of lexforge, jinja2 and ruff.
``input_key`` hashes all of them; after a full build, ``save`` records the key with the
SHA-256 of every output file (and the diagnostics). When the key matches and the output
folder holds exactly those files, the output is up to date and nothing needs to be
compiled, emitted or formatted: ``lexforge check`` then costs a few hashes.

Any doubt means a full build: a missing or unreadable cache, a changed input, a file
edited by hand, an error in the last build.

The compiler's own code is hashed once, when this module is imported, not at each
build: a process keeps running the code it imported, so a source edited while it runs
(a long test session, a developer's editor) must not give its output a key that names
the new code. Its output is then filed under the old key, which no fresh process uses.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import jinja2

from lexforge.codegen.diagnostics import Diagnostic
from lexforge.codegen.writer import owned_files

if TYPE_CHECKING:
    from lexforge.codegen.generate import GenConfig

__all__ = ["Manifest", "input_key", "load", "matches_disk", "save"]

_VERSION = 2


@dataclass(frozen=True, slots=True)
class Manifest:
    """What the last full build with a given input key produced."""

    key: str
    hashes: dict[str, str]
    diagnostics: tuple[Diagnostic, ...]


def _cache_file(package: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lexforge" / "build" / f"{package}.json"


def _files(root: Path, suffixes: tuple[str, ...]) -> Iterable[Path]:
    if root.is_file():
        return [root]
    found = [p for p in root.rglob("*") if p.suffix in suffixes and p.is_file()]
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def _versions() -> tuple[str, str]:
    """lexforge's and jinja2's versions, from the modules themselves: reading installed
    metadata (``importlib.metadata``) costs more than the whole up-to-date check."""
    from lexforge.runtime import __version__  # noqa: PLC0415 - light, see runtime/_version.py

    return __version__, str(getattr(jinja2, "__version__", "?"))


def _code_digest() -> str:
    """SHA-256 over the compiler's modules and templates, as they are now."""
    h = hashlib.sha256()
    code_root = Path(__file__).resolve().parent
    for root in (code_root, Path(str(resources.files("lexforge.templates")))):
        for path in _files(root, (".py", ".j2")):
            h.update(path.relative_to(root).as_posix().encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


#: The code this process runs (see the module docstring).
_CODE_DIGEST = _code_digest()


def input_key(config: GenConfig, lexicon_roots: Iterable[Path], ruff: str) -> str:
    """SHA-256 over everything the output of ``config`` depends on."""
    h = hashlib.sha256()

    def add(*parts: str | bytes) -> None:
        for part in parts:
            h.update(part if isinstance(part, bytes) else part.encode())
            h.update(b"\0")

    add(str(_VERSION), config.package, repr(config.include), repr(config.exclude))
    add(repr(config.artifacts), repr(config.format), ruff)
    add(*_versions())
    for root in lexicon_roots:
        add("root", root.resolve().name)
        for path in _files(root, (".json",)):
            add(path.relative_to(root).as_posix() if root.is_dir() else path.name)
            add(path.read_bytes())
    add("code", _CODE_DIGEST)
    return h.hexdigest()


def load(package: str, key: str) -> Manifest | None:
    """The manifest for ``key``, if the cache holds it."""
    try:
        raw: dict[str, Any] = json.loads(_cache_file(package).read_text(encoding="utf-8"))
        if raw.get("key") != key:
            return None
        diagnostics = tuple(Diagnostic(**d) for d in raw["diagnostics"])
        return Manifest(key, dict(raw["hashes"]), diagnostics)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def save(
    package: str,
    key: str,
    files: Mapping[PurePosixPath, str],
    diagnostics: Iterable[Diagnostic],
) -> None:
    """Record what a full build produced (best effort: errors are ignored)."""
    payload = {
        "key": key,
        "hashes": {
            str(path): hashlib.sha256(text.encode()).hexdigest() for path, text in files.items()
        },
        "diagnostics": [
            {
                "code": d.code,
                "message": d.message,
                "severity": d.severity,
                "path": d.path,
                "nsid": d.nsid,
                "def_name": d.def_name,
                "field_path": d.field_path,
                "line": d.line,
            }
            for d in diagnostics
        ],
    }
    target = _cache_file(package)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(payload, sort_keys=True), encoding="utf-8")
        os.replace(tmp, target)
    except OSError:
        pass


def matches_disk(out_dir: Path, manifest: Manifest) -> bool:
    """Whether ``out_dir`` holds exactly the manifest's files (and no stale ones)."""
    for path, digest in manifest.hashes.items():
        try:
            data = (out_dir / path).read_bytes()
        except OSError:
            return False
        if hashlib.sha256(data).hexdigest() != digest:
            return False
    return all(str(path) in manifest.hashes for path in owned_files(out_dir))

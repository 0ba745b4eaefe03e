"""Stage 1, load: Lexicon files on disk -> checked ``SourceDoc`` values.

The only compiler stage besides the writer that touches the disk. Files are found in
sorted order under each root (``**/*.json``), read as UTF-8, parsed as strict JSON
(duplicate keys and floats rejected) and checked by the Lexicon parser. Each problem is
a ``Diagnostic``; a file that fails is left out and its NSID (when it could be read)
recorded so that documents depending on it are dropped with ``dependency-failed``
rather than a misleading ``unresolved-ref``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from lexforge.codegen.diagnostics import Diagnostic
from lexforge.codegen.lexicon.parse import parse_document
from lexforge.codegen.lexicon.schema import LexiconDoc

__all__ = ["LoadResult", "SourceDoc", "find_lexicon_files", "load_lexicons", "load_text"]


@dataclass(frozen=True, slots=True)
class SourceDoc:
    """One valid Lexicon document and where it came from.

    ``source`` is the file path relative to the parent of its lexicon root,
    ``/``-separated (``lexicons/app/bsky/feed/post.json``): stable across machines, so
    it can appear in generated headers. ``path`` is the path as found (diagnostics).
    """

    doc: LexiconDoc
    source: str
    path: str
    text: str

    @property
    def nsid(self) -> str:
        """The document id."""
        return self.doc.id


@dataclass(slots=True)
class LoadResult:
    """Valid documents sorted by NSID, the NSIDs of invalid ones, and diagnostics."""

    docs: list[SourceDoc] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)
    diagnostics: list[Diagnostic] = field(default_factory=list)


class _JsonError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise _JsonError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_float(text: str) -> object:
    raise _JsonError(f"floating point number {text} (Lexicon has no floats)")


def _no_constant(name: str) -> object:
    raise _JsonError(f"{name} is not JSON")


_ID_RE = re.compile(r'"id"\s*:\s*"([^"\\]*)"')


def locate(text: str, keys: Iterable[str]) -> int | None:
    """Best-effort 1-based line of a JSON path (``defs``, ``main``, ``properties``...).

    Searches each key's quoted form in order after the previous match; good enough to
    point an editor at the right place without a position-tracking JSON parser.
    """
    pos = 0
    found = False
    for key in keys:
        if key.isdigit():
            continue
        at = text.find(json.dumps(key), pos)
        if at < 0:
            break
        pos, found = at, True
    return text.count("\n", 0, pos) + 1 if found else None


def _with_line(d: Diagnostic, text: str) -> Diagnostic:
    keys: list[str] = []
    if d.def_name:
        keys += ["defs", d.def_name]
    if d.field_path:
        keys += d.field_path.split("/")
    line = locate(text, keys) if keys else None
    return d if line is None else replace(d, line=line)


def load_text(
    text: str, source: str, path: str, result: LoadResult, *, check_path: bool = True
) -> SourceDoc | None:
    """Parse and check one document's text, recording diagnostics in ``result``.

    ``source`` is the stable name of the file (see ``SourceDoc``); when its path below
    the root does not match the document id, a ``file-name-mismatch`` warning is added.
    """
    try:
        raw = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_no_float,
            parse_constant=_no_constant,
        )
    except (_JsonError, json.JSONDecodeError, RecursionError) as exc:
        line = exc.lineno if isinstance(exc, json.JSONDecodeError) else None
        match = _ID_RE.search(text)
        if match:
            result.failed.add(match.group(1))
        result.diagnostics.append(
            Diagnostic(code="invalid-json", message=str(exc), path=path, line=line)
        )
        return None
    doc, diagnostics = parse_document(raw, path)
    result.diagnostics.extend(_with_line(d, text) for d in diagnostics)
    if doc is None:
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            result.failed.add(raw["id"])
        return None
    expected = PurePosixPath(*doc.id.split(".")).with_suffix(".json").as_posix()
    relative = source.split("/", 1)[-1]
    if check_path and relative.lower() != expected.lower():
        result.diagnostics.append(
            Diagnostic(
                code="file-name-mismatch",
                message=f"document {doc.id} is expected at {expected}",
                severity="warning",
                path=path,
                nsid=doc.id,
            )
        )
    return SourceDoc(doc=doc, source=source, path=path, text=text)


def find_lexicon_files(root: Path) -> list[Path]:
    """``*.json`` files under ``root`` (or ``root`` itself), sorted by relative path."""
    if root.is_file():
        return [root]
    return sorted(
        (p for p in root.rglob("*.json") if p.is_file()),
        key=lambda p: p.relative_to(root).as_posix(),
    )


def load_lexicons(roots: Sequence[Path]) -> LoadResult:
    """Load every Lexicon file under ``roots``; documents come back sorted by NSID."""
    result = LoadResult()
    seen: dict[str, SourceDoc] = {}
    for root in roots:
        if not root.exists():
            result.diagnostics.append(
                Diagnostic(code="read-error", message="no such file or directory", path=str(root))
            )
            continue
        base = root.parent if root.is_file() else root
        label = base.resolve().name or "lexicons"
        for file in find_lexicon_files(root):
            source = f"{label}/{file.relative_to(base).as_posix()}"
            shown = str(file)
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                result.diagnostics.append(
                    Diagnostic(code="read-error", message=str(exc), path=shown)
                )
                continue
            loaded = load_text(text, source, shown, result, check_path=not root.is_file())
            if loaded is None:
                continue
            previous = seen.get(loaded.nsid)
            if previous is not None:
                result.diagnostics.append(
                    Diagnostic(
                        code="duplicate-nsid",
                        message=f"{loaded.nsid} is also defined in {previous.path} (ignored)",
                        path=shown,
                        nsid=loaded.nsid,
                    )
                )
                continue
            seen[loaded.nsid] = loaded
    result.docs = [seen[nsid] for nsid in sorted(seen)]
    result.failed -= set(seen)
    return result

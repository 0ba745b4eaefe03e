"""Stage 2, catalog: every loaded document by NSID, and reference lookup.

A catalog holds the documents being compiled (``local``) and, when compiling a user's
lexicons, the official set (``external``): references into it resolve to
``lexforge.generated`` instead of being generated again. A local document with an
official NSID is ignored in favour of the official one (with a warning), so a user who
vendored ``com.atproto.repo.strongRef`` still gets the shared class.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from lexforge.codegen.diagnostics import Diagnostic
from lexforge.codegen.lexicon.parse import parse_ref
from lexforge.codegen.lexicon.schema import LexDef
from lexforge.codegen.loader import SourceDoc

__all__ = ["Catalog", "DefKey", "build_catalog"]


@dataclass(frozen=True, slots=True, order=True)
class DefKey:
    """A resolved reference: document NSID and def name (``main`` for bare NSIDs)."""

    nsid: str
    name: str

    def __str__(self) -> str:
        return self.nsid if self.name == "main" else f"{self.nsid}#{self.name}"

    @property
    def type_tag(self) -> str:
        """The ``$type`` value for data of this def (never ``#main``)."""
        return str(self)


class Catalog:
    """Documents by NSID (sorted), split into local (to generate) and external."""

    def __init__(
        self,
        local: Sequence[SourceDoc],
        external: Sequence[SourceDoc] = (),
        failed: frozenset[str] = frozenset(),
    ) -> None:
        self.docs: dict[str, SourceDoc] = {}
        for doc in sorted([*external, *local], key=lambda d: d.nsid):
            self.docs.setdefault(doc.nsid, doc)
        self.external = frozenset(d.nsid for d in external)
        self.local = tuple(sorted(d.nsid for d in local if d.nsid not in self.external))
        self.failed = failed

    def __contains__(self, nsid: object) -> bool:
        return nsid in self.docs

    def __iter__(self) -> Iterator[SourceDoc]:
        return iter(self.docs[nsid] for nsid in sorted(self.docs))

    def is_external(self, nsid: str) -> bool:
        """Whether ``nsid`` comes from the official set (not generated here)."""
        return nsid in self.external

    def doc(self, nsid: str) -> SourceDoc:
        """The document with this NSID (``KeyError`` if absent)."""
        return self.docs[nsid]

    def lookup(self, key: DefKey) -> LexDef | None:
        """The def a resolved reference names, or ``None``."""
        source = self.docs.get(key.nsid)
        if source is None:
            return None
        return source.doc.defs.get(key.name)

    @staticmethod
    def normalize(ref: str, context_nsid: str) -> DefKey | None:
        """``#x`` / ``nsid`` / ``nsid#x`` -> ``DefKey``; ``None`` if malformed."""
        parsed = parse_ref(ref)
        if parsed is None:
            return None
        nsid, name = parsed
        return DefKey(nsid or context_nsid, name)


def build_catalog(
    local: Sequence[SourceDoc],
    external: Sequence[SourceDoc] = (),
    failed: frozenset[str] = frozenset(),
) -> tuple[Catalog, list[Diagnostic]]:
    """Build the catalog; warn about local copies of official documents."""
    diagnostics: list[Diagnostic] = []
    official = {d.nsid: d for d in external}
    for doc in local:
        other = official.get(doc.nsid)
        if other is not None:
            same = other.doc == doc.doc
            diagnostics.append(
                Diagnostic(
                    code="duplicate-nsid",
                    severity="warning",
                    message=(
                        "also in the official set; using lexforge.generated"
                        + ("" if same else " (the local copy differs)")
                    ),
                    path=doc.path,
                    nsid=doc.nsid,
                )
            )
    return Catalog(local, external, failed), diagnostics

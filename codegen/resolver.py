"""Stage 3, resolve: check every reference and drop what cannot be compiled.

Walks every local document, normalises each ``ref`` and union member against the
catalog and checks that it names a def of an acceptable kind: a ``ref`` may name any
non-primary, non-token def (or a record), a union member or body schema only an
object or a record. A document with a bad reference is dropped, then every document
that depends on a dropped one (transitively) with ``dependency-failed``; the rest
compile. The result also holds the module dependency graph (used to order imports and
to find the import cycles, which generated code survives by importing modules, not
names).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from lexforge.codegen.catalog import Catalog
from lexforge.codegen.diagnostics import Diagnostic
from lexforge.codegen.lexicon.schema import (
    FieldSchema,
    LexArray,
    LexDef,
    LexObject,
    LexParams,
    LexProcedure,
    LexQuery,
    LexRecord,
    LexRef,
    LexSubscription,
    LexToken,
    LexUnion,
)

__all__ = ["RefSite", "Resolution", "iter_ref_sites", "resolve"]

_PRIMARY = (LexQuery, LexProcedure, LexSubscription)


@dataclass(frozen=True, slots=True)
class RefSite:
    """One reference in a document: where it is, what it says, and its role.

    ``role`` is ``ref`` (a field typed by reference), ``union`` (a union member) or
    ``body`` (an input/output schema ref).
    """

    def_name: str
    field_path: tuple[str, ...]
    ref: str
    role: str


@dataclass(slots=True)
class Resolution:
    """What survives resolution, and the dependency graph between documents."""

    compiled: list[str] = field(default_factory=list)
    deps: dict[str, set[str]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def _field_sites(
    schema: FieldSchema | LexParams, def_name: str, path: tuple[str, ...]
) -> Iterator[RefSite]:
    if isinstance(schema, LexRef):
        yield RefSite(def_name, path, schema.ref, "ref")
    elif isinstance(schema, LexUnion):
        for i, ref in enumerate(schema.refs):
            yield RefSite(def_name, (*path, "refs", str(i)), ref, "union")
    elif isinstance(schema, LexArray):
        yield from _field_sites(schema.items, def_name, (*path, "items"))
    elif isinstance(schema, LexObject | LexParams):
        for name, prop in schema.properties.items():
            yield from _field_sites(prop, def_name, (*path, "properties", name))


def iter_ref_sites(name: str, definition: LexDef) -> Iterator[RefSite]:
    """Every reference in one def, in document order."""
    if isinstance(definition, LexRecord):
        yield from _field_sites(definition.record, name, ("record",))
    elif isinstance(definition, LexQuery | LexProcedure | LexSubscription):
        if definition.parameters is not None:
            yield from _field_sites(definition.parameters, name, ("parameters",))
        if isinstance(definition, LexSubscription):
            yield from _field_sites(definition.message.schema, name, ("message", "schema"))
            return
        bodies = [("output", definition.output)]
        if isinstance(definition, LexProcedure):
            bodies.insert(0, ("input", definition.input))
        for where, body in bodies:
            if body is None or body.schema is None:
                continue
            if isinstance(body.schema, LexRef):
                yield RefSite(name, (where, "schema"), body.schema.ref, "body")
            else:
                yield from _field_sites(body.schema, name, (where, "schema"))
    elif isinstance(definition, LexObject | LexArray):
        yield from _field_sites(definition, name, ())


def _target_problem(target: LexDef, role: str) -> str | None:
    if isinstance(target, LexToken):
        return "is a token (tokens are referenced as strings, never as types)"
    if isinstance(target, _PRIMARY) or not isinstance(target, LexObject | LexRecord | FieldSchema):
        return f"is a {type(target).__name__.removeprefix('Lex').lower()} def"
    if role in ("union", "body") and not isinstance(target, LexObject | LexRecord):
        return "must be an object or a record"
    return None


def resolve(catalog: Catalog) -> Resolution:
    """Check the references of every local document; see the module docstring."""
    result = Resolution()
    bad: set[str] = set()
    for nsid in catalog.local:
        source = catalog.doc(nsid)
        deps: set[str] = set()
        for def_name, definition in source.doc.defs.items():
            for site in iter_ref_sites(def_name, definition):
                key = Catalog.normalize(site.ref, nsid)
                problem: str | None = None
                code: str = "unresolved-ref"
                if key is None:  # pragma: no cover - the parser rejects malformed refs
                    problem = f"malformed reference {site.ref!r}"
                elif key.nsid in catalog.failed and key.nsid not in catalog:
                    code, problem = "dependency-failed", f"{key.nsid} is invalid"
                elif key.nsid not in catalog:
                    problem = f"no lexicon {key.nsid} (for {site.ref!r})"
                else:
                    target = catalog.lookup(key)
                    if target is None:
                        problem = f"{key.nsid} has no def {key.name!r} (for {site.ref!r})"
                    else:
                        why = _target_problem(target, site.role)
                        if why is not None:
                            code, problem = "bad-ref-target", f"{site.ref!r} {why}"
                if problem is not None:
                    bad.add(nsid)
                    result.diagnostics.append(
                        Diagnostic(
                            code=code,  # type: ignore[arg-type]
                            message=problem,
                            path=source.path,
                            nsid=nsid,
                            def_name=site.def_name,
                            field_path="/".join(site.field_path) or None,
                        )
                    )
                elif key is not None and key.nsid != nsid:
                    deps.add(key.nsid)
        result.deps[nsid] = deps
    # Drop dependants of dropped documents until nothing changes.
    changed = True
    while changed:
        changed = False
        for nsid in catalog.local:
            if nsid in bad:
                continue
            broken = sorted(d for d in result.deps[nsid] if d in bad)
            if broken:
                bad.add(nsid)
                changed = True
                source = catalog.doc(nsid)
                result.diagnostics.append(
                    Diagnostic(
                        code="dependency-failed",
                        message=f"depends on {broken[0]}, which cannot be compiled",
                        path=source.path,
                        nsid=nsid,
                    )
                )
    result.compiled = [nsid for nsid in catalog.local if nsid not in bad]
    return result

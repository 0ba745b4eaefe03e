"""Lexicon JSON -> ``LexiconDoc``, with a diagnostic for every rule a document breaks.

The parser is strict about structure and types (``"lexicon": "one"`` is invalid, a
float where an integer belongs is invalid) and checks every schema-level rule of the
Lexicon language: primary types only at ``main``, types that cannot be named defs,
``const``/``default`` exclusivity, defaults that break their own constraints, unknown
string formats, malformed refs and MIME patterns, ``required`` names that do not exist,
closed empty unions, permission-set rules. Unknown keys are tolerated (schema
evolution) but reported as warnings, because they are usually typos.

A document with any error yields ``None``; warnings alone keep it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TypeVar, cast

from lexforge.codegen.diagnostics import Diagnostic, DiagnosticCode, Severity
from lexforge.codegen.lexicon.schema import (
    PRIMARY_TYPES,
    STRING_FORMATS,
    FieldSchema,
    LexArray,
    LexBlob,
    LexBody,
    LexBoolean,
    LexBytes,
    LexCidLink,
    LexDef,
    LexError,
    LexiconDoc,
    LexInteger,
    LexMessage,
    LexObject,
    LexParams,
    LexPermission,
    LexPermissionSet,
    LexProcedure,
    LexQuery,
    LexRecord,
    LexRef,
    LexString,
    LexSubscription,
    LexToken,
    LexUnion,
    LexUnknown,
)
from lexforge.codegen.lexicon.text import (
    count_graphemes,
    is_valid_mime_pattern,
    is_valid_nsid,
    is_valid_record_key,
    utf8_len,
)

__all__ = ["parse_document", "parse_ref"]

T = TypeVar("T")

#: Types that can never be named defs.
_NOT_NAMEABLE = frozenset({"ref", "union", "unknown", "params", "permission"})
_FIELD_TYPES = frozenset(
    {
        "boolean",
        "integer",
        "string",
        "bytes",
        "cid-link",
        "blob",
        "unknown",
        "array",
        "object",
        "ref",
        "union",
    }
)
_PARAM_TYPES = frozenset({"boolean", "integer", "string"})
_DEF_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_ERROR_NAME = re.compile(r"^\S+$")
_REPO_ACTIONS = ("create", "update", "delete")

_COMMON = frozenset({"type", "description"})
_KEYS: dict[str, frozenset[str]] = {
    "boolean": _COMMON | {"default", "const"},
    "integer": _COMMON | {"minimum", "maximum", "enum", "default", "const"},
    "string": _COMMON
    | {
        "format",
        "minLength",
        "maxLength",
        "minGraphemes",
        "maxGraphemes",
        "knownValues",
        "enum",
        "default",
        "const",
    },
    "bytes": _COMMON | {"minLength", "maxLength"},
    "cid-link": _COMMON,
    "blob": _COMMON | {"accept", "maxSize"},
    "unknown": _COMMON,
    "array": _COMMON | {"items", "minLength", "maxLength"},
    "object": _COMMON | {"properties", "required", "nullable"},
    "params": _COMMON | {"properties", "required"},
    "ref": _COMMON | {"ref"},
    "union": _COMMON | {"refs", "closed"},
    "token": _COMMON,
    "record": _COMMON | {"key", "record"},
    "query": _COMMON | {"parameters", "output", "errors"},
    "procedure": _COMMON | {"parameters", "input", "output", "errors"},
    "subscription": _COMMON | {"parameters", "message", "errors"},
    "permission-set": _COMMON | {"title", "title:lang", "detail", "detail:lang", "permissions"},
}


class _Invalid(Exception):
    """Unwinds the parse of one schema after its diagnostic was recorded."""


class _Parser:
    def __init__(self, path: str | None) -> None:
        self.path = path
        self.nsid: str | None = None
        self.def_name: str | None = None
        self.diagnostics: list[Diagnostic] = []
        self.failed = False

    # --- reporting -------------------------------------------------------------------

    def report(
        self,
        code: DiagnosticCode,
        message: str,
        where: tuple[str, ...] = (),
        severity: Severity = "error",
    ) -> None:
        if severity == "error":
            self.failed = True
        self.diagnostics.append(
            Diagnostic(
                code=code,
                message=message,
                severity=severity,
                path=self.path,
                nsid=self.nsid,
                def_name=self.def_name,
                field_path="/".join(where) or None,
            )
        )

    def fail(self, code: DiagnosticCode, message: str, where: tuple[str, ...]) -> _Invalid:
        self.report(code, message, where)
        return _Invalid()

    # --- typed getters -----------------------------------------------------------------

    def obj(self, value: object, where: tuple[str, ...], what: str) -> Mapping[str, object]:
        if not isinstance(value, dict):
            raise self.fail("invalid-lexicon", f"{what} must be an object", where)
        return cast("Mapping[str, object]", value)

    def opt_str(self, m: Mapping[str, object], key: str, where: tuple[str, ...]) -> str | None:
        value = m.get(key)
        if value is None and key not in m:
            return None
        if not isinstance(value, str):
            raise self.fail("invalid-field", f"{key!r} must be a string", (*where, key))
        return value

    def opt_int(self, m: Mapping[str, object], key: str, where: tuple[str, ...]) -> int | None:
        if key not in m:
            return None
        value = m[key]
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail("invalid-field", f"{key!r} must be an integer", (*where, key))
        return value

    def opt_count(self, m: Mapping[str, object], key: str, where: tuple[str, ...]) -> int | None:
        value = self.opt_int(m, key, where)
        if value is not None and value < 0:
            raise self.fail("invalid-field", f"{key!r} must not be negative", (*where, key))
        return value

    def opt_bool(self, m: Mapping[str, object], key: str, where: tuple[str, ...]) -> bool | None:
        if key not in m:
            return None
        value = m[key]
        if not isinstance(value, bool):
            raise self.fail("invalid-field", f"{key!r} must be a boolean", (*where, key))
        return value

    def str_list(
        self, m: Mapping[str, object], key: str, where: tuple[str, ...], *, unique: bool = False
    ) -> tuple[str, ...] | None:
        if key not in m:
            return None
        value = m[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail("invalid-field", f"{key!r} must be an array of strings", (*where, key))
        items = tuple(cast("list[str]", value))
        if unique and len(set(items)) != len(items):
            raise self.fail("invalid-field", f"{key!r} must not repeat values", (*where, key))
        return items

    def check_keys(self, m: Mapping[str, object], kind: str, where: tuple[str, ...]) -> None:
        allowed = _KEYS[kind]
        for key in m:
            if key not in allowed:
                self.report(
                    "invalid-field",
                    f"unknown key {key!r} for a {kind} (ignored)",
                    (*where, key),
                    severity="warning",
                )

    def check_range(
        self, lo: int | None, hi: int | None, names: tuple[str, str], where: tuple[str, ...]
    ) -> None:
        if lo is not None and hi is not None and lo > hi:
            raise self.fail("invalid-field", f"{names[0]} is greater than {names[1]}", where)

    # --- document ----------------------------------------------------------------------

    def document(self, raw: object) -> LexiconDoc | None:
        try:
            top = self.obj(raw, (), "a Lexicon document")
        except _Invalid:
            return None
        version = top.get("lexicon")
        if "lexicon" not in top:
            self.report("invalid-lexicon", "missing 'lexicon' version")
        elif not isinstance(version, int) or isinstance(version, bool):
            self.report("invalid-lexicon", "'lexicon' must be the integer 1")
        elif version != 1:
            self.report("unsupported-lexicon-version", f"unsupported Lexicon version {version}")
        doc_id = top.get("id")
        if not isinstance(doc_id, str):
            self.report("invalid-nsid", "'id' must be an NSID string")
            return None
        if not is_valid_nsid(doc_id):
            self.report("invalid-nsid", f"'id' {doc_id!r} is not a valid NSID")
            return None
        self.nsid = doc_id
        description = top.get("description")
        if description is not None and not isinstance(description, str):
            self.report("invalid-lexicon", "'description' must be a string")
        revision = top.get("revision")
        if revision is not None and (not isinstance(revision, int) or isinstance(revision, bool)):
            self.report("invalid-lexicon", "'revision' must be an integer")
            revision = None
        raw_defs = top.get("defs")
        if not isinstance(raw_defs, dict) or not raw_defs:
            self.report("invalid-lexicon", "'defs' must be an object with at least one def")
            return None
        defs: dict[str, LexDef] = {}
        for name, raw_def in cast("dict[str, object]", raw_defs).items():
            self.def_name = name
            if not _DEF_NAME.match(name):
                self.report("invalid-lexicon", f"invalid def name {name!r}")
                continue
            try:
                defs[name] = self.named_def(name, raw_def)
            except _Invalid:
                continue
        self.def_name = None
        if self.failed:
            return None
        return LexiconDoc(
            id=doc_id,
            defs=defs,
            description=description if isinstance(description, str) else None,
            revision=revision,
        )

    def named_def(self, name: str, raw: object) -> LexDef:
        m = self.obj(raw, (), "a def")
        kind = m.get("type")
        if not isinstance(kind, str):
            raise self.fail("invalid-lexicon", "a def needs a string 'type'", ())
        if kind in PRIMARY_TYPES and name != "main":
            raise self.fail(
                "non-main-primary", f"a {kind} def must be named 'main', not {name!r}", ()
            )
        if kind in _NOT_NAMEABLE:
            raise self.fail("invalid-def-type", f"a {kind} cannot be a named def", ())
        if kind == "object":
            return self.object_schema(m, ())
        if kind == "token":
            self.check_keys(m, "token", ())
            return LexToken(description=self.opt_str(m, "description", ()))
        if kind == "record":
            return self.record(m)
        if kind in ("query", "procedure"):
            return self.xrpc(m, kind)
        if kind == "subscription":
            return self.subscription(m)
        if kind == "permission-set":
            return self.permission_set(m)
        if kind in _FIELD_TYPES:
            schema = self.field(m, ())
            if isinstance(schema, LexRef | LexUnion | LexUnknown):  # pragma: no cover
                raise self.fail("invalid-def-type", f"a {kind} cannot be a named def", ())
            return schema
        raise self.fail("invalid-def-type", f"unknown def type {kind!r}", ())

    # --- field schemas -----------------------------------------------------------------

    def field(self, raw: object, where: tuple[str, ...], *, in_array: bool = False) -> FieldSchema:
        m = self.obj(raw, where, "a field schema")
        kind = m.get("type")
        if not isinstance(kind, str):
            raise self.fail("invalid-field", "a field schema needs a string 'type'", where)
        if kind not in _FIELD_TYPES:
            raise self.fail("invalid-field", f"{kind!r} is not a field type", where)
        self.check_keys(m, kind, where)
        description = self.opt_str(m, "description", where)
        if kind == "boolean":
            return self.boolean(m, where, description)
        if kind == "integer":
            return self.integer(m, where, description)
        if kind == "string":
            return self.string(m, where, description)
        if kind == "bytes":
            lo, hi = self.opt_count(m, "minLength", where), self.opt_count(m, "maxLength", where)
            self.check_range(lo, hi, ("minLength", "maxLength"), where)
            return LexBytes(description=description, min_length=lo, max_length=hi)
        if kind == "cid-link":
            return LexCidLink(description=description)
        if kind == "blob":
            accept = self.str_list(m, "accept", where)
            for i, pattern in enumerate(accept or ()):
                if not is_valid_mime_pattern(pattern):
                    raise self.fail(
                        "invalid-field",
                        f"{pattern!r} is not a MIME type or type/* pattern",
                        (*where, "accept", str(i)),
                    )
            max_size = self.opt_count(m, "maxSize", where)
            return LexBlob(description=description, accept=accept, max_size=max_size)
        if kind == "unknown":
            return LexUnknown(description=description)
        if kind == "array":
            if in_array:
                raise self.fail("invalid-field", "arrays cannot contain arrays", where)
            if "items" not in m:
                raise self.fail("invalid-field", "an array needs 'items'", where)
            items = self.field(m["items"], (*where, "items"), in_array=True)
            lo, hi = self.opt_count(m, "minLength", where), self.opt_count(m, "maxLength", where)
            self.check_range(lo, hi, ("minLength", "maxLength"), where)
            return LexArray(items=items, description=description, min_length=lo, max_length=hi)
        if kind == "object":
            return self.object_schema(m, where)
        if kind == "ref":
            ref = m.get("ref")
            if not isinstance(ref, str):
                raise self.fail("invalid-ref", "a ref needs a string 'ref'", where)
            self.check_ref(ref, (*where, "ref"))
            return LexRef(ref=ref, description=description)
        return self.union(m, where, description)

    def boolean(
        self, m: Mapping[str, object], where: tuple[str, ...], description: str | None
    ) -> LexBoolean:
        default, const = self.opt_bool(m, "default", where), self.opt_bool(m, "const", where)
        self.check_exclusive(default, const, where)
        return LexBoolean(description=description, default=default, const=const)

    def integer(
        self, m: Mapping[str, object], where: tuple[str, ...], description: str | None
    ) -> LexInteger:
        minimum, maximum = self.opt_int(m, "minimum", where), self.opt_int(m, "maximum", where)
        self.check_range(minimum, maximum, ("minimum", "maximum"), where)
        enum: tuple[int, ...] | None = None
        if "enum" in m:
            raw = m["enum"]
            if not isinstance(raw, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in raw
            ):
                raise self.fail("invalid-field", "'enum' must be an array of integers", where)
            enum = tuple(cast("list[int]", raw))
        default, const = self.opt_int(m, "default", where), self.opt_int(m, "const", where)
        self.check_exclusive(default, const, where)
        schema = LexInteger(
            description=description,
            minimum=minimum,
            maximum=maximum,
            enum=enum,
            default=default,
            const=const,
        )
        self.check_values(default, const, lambda v: _integer_ok(schema, v), where)
        return schema

    def string(
        self, m: Mapping[str, object], where: tuple[str, ...], description: str | None
    ) -> LexString:
        fmt = self.opt_str(m, "format", where)
        if fmt is not None and fmt not in STRING_FORMATS:
            raise self.fail("invalid-field", f"unknown string format {fmt!r}", (*where, "format"))
        lo, hi = self.opt_count(m, "minLength", where), self.opt_count(m, "maxLength", where)
        self.check_range(lo, hi, ("minLength", "maxLength"), where)
        glo = self.opt_count(m, "minGraphemes", where)
        ghi = self.opt_count(m, "maxGraphemes", where)
        self.check_range(glo, ghi, ("minGraphemes", "maxGraphemes"), where)
        known = self.str_list(m, "knownValues", where)
        enum = self.str_list(m, "enum", where)
        default, const = self.opt_str(m, "default", where), self.opt_str(m, "const", where)
        self.check_exclusive(default, const, where)
        schema = LexString(
            description=description,
            format=fmt,
            min_length=lo,
            max_length=hi,
            min_graphemes=glo,
            max_graphemes=ghi,
            known_values=known,
            enum=enum,
            default=default,
            const=const,
        )
        self.check_values(default, const, lambda v: _string_ok(schema, v), where)
        return schema

    def check_values(
        self,
        default: T | None,
        const: T | None,
        ok: Callable[[T], bool],
        where: tuple[str, ...],
    ) -> None:
        """``default`` and ``const`` must satisfy the field's own constraints."""
        for key, value in (("default", default), ("const", const)):
            if value is not None and not ok(value):
                raise self.fail(
                    "invalid-default", f"{key} {value!r} breaks the field's constraints", where
                )

    def check_exclusive(self, default: object, const: object, where: tuple[str, ...]) -> None:
        if default is not None and const is not None:
            raise self.fail("invalid-field", "'const' and 'default' are mutually exclusive", where)

    def object_schema(self, m: Mapping[str, object], where: tuple[str, ...]) -> LexObject:
        self.check_keys(m, "object", where)
        description = self.opt_str(m, "description", where)
        if "properties" not in m:
            raise self.fail("invalid-field", "an object needs 'properties'", where)
        props_raw = self.obj(m["properties"], (*where, "properties"), "'properties'")
        props: dict[str, FieldSchema] = {}
        bad = False
        for name, raw in props_raw.items():
            try:
                props[name] = self.field(raw, (*where, "properties", name))
            except _Invalid:
                bad = True
        if bad:
            raise _Invalid
        required = self.str_list(m, "required", where, unique=True) or ()
        nullable = self.str_list(m, "nullable", where, unique=True) or ()
        for name in required:
            if name not in props:
                self.report(
                    "required-not-defined",
                    f"required property {name!r} is not defined",
                    (*where, "required"),
                )
        for name in nullable:
            if name not in props:
                self.report(
                    "required-not-defined",
                    f"nullable property {name!r} is not defined (ignored)",
                    (*where, "nullable"),
                    severity="warning",
                )
        return LexObject(
            properties=props, required=required, nullable=nullable, description=description
        )

    def params(self, raw: object, where: tuple[str, ...]) -> LexParams:
        m = self.obj(raw, where, "'parameters'")
        if m.get("type") != "params":
            raise self.fail("invalid-field", "'parameters' must have type 'params'", where)
        self.check_keys(m, "params", where)
        description = self.opt_str(m, "description", where)
        props_raw = self.obj(m.get("properties", {}), (*where, "properties"), "'properties'")
        props: dict[str, FieldSchema] = {}
        for name, raw_prop in props_raw.items():
            at = (*where, "properties", name)
            schema = self.field(raw_prop, at)
            inner = schema.items if isinstance(schema, LexArray) else schema
            if isinstance(inner, LexUnknown):
                self.report(
                    "invalid-field",
                    "an unknown parameter cannot be sent in a query string (ignored)",
                    at,
                    severity="warning",
                )
                continue
            if not isinstance(inner, LexBoolean | LexInteger | LexString):
                raise self.fail(
                    "invalid-field",
                    "parameters may only be boolean, integer, string or arrays of them",
                    at,
                )
            props[name] = schema
        required = self.str_list(m, "required", where, unique=True) or ()
        for name in required:
            if name not in props_raw:
                self.report(
                    "required-not-defined",
                    f"required parameter {name!r} is not defined",
                    (*where, "required"),
                )
        return LexParams(
            properties=props,
            required=tuple(r for r in required if r in props),
            description=description,
        )

    def union(
        self, m: Mapping[str, object], where: tuple[str, ...], description: str | None
    ) -> LexUnion:
        refs = self.str_list(m, "refs", where)
        if refs is None:
            raise self.fail("invalid-field", "a union needs 'refs'", where)
        for i, ref in enumerate(refs):
            self.check_ref(ref, (*where, "refs", str(i)))
        closed = self.opt_bool(m, "closed", where) or False
        if closed and not refs:
            raise self.fail("union-empty", "a closed union needs at least one ref", where)
        return LexUnion(refs=refs, closed=closed, description=description)

    def check_ref(self, ref: str, where: tuple[str, ...]) -> None:
        if parse_ref(ref) is None:
            raise self.fail("invalid-ref", f"malformed reference {ref!r}", where)

    # --- primary types -----------------------------------------------------------------

    def record(self, m: Mapping[str, object]) -> LexRecord:
        self.check_keys(m, "record", ())
        key = self.opt_str(m, "key", ())
        if key is None:
            raise self.fail("invalid-field", "a record needs a 'key' type", ("key",))
        if key not in ("tid", "nsid", "any") and not (
            key.startswith("literal:") and is_valid_record_key(key[len("literal:") :])
        ):
            raise self.fail("invalid-field", f"invalid record key type {key!r}", ("key",))
        raw = self.obj(m.get("record"), ("record",), "'record'")
        if raw.get("type") != "object":
            raise self.fail("invalid-field", "a record schema must be an object", ("record",))
        return LexRecord(
            key=key,
            record=self.object_schema(raw, ("record",)),
            description=self.opt_str(m, "description", ()),
        )

    def xrpc(self, m: Mapping[str, object], kind: str) -> LexQuery | LexProcedure:
        self.check_keys(m, kind, ())
        description = self.opt_str(m, "description", ())
        params = self.params(m["parameters"], ("parameters",)) if "parameters" in m else None
        output = self.body(m["output"], ("output",)) if "output" in m else None
        errors = self.errors(m)
        if kind == "query":
            return LexQuery(
                parameters=params, output=output, errors=errors, description=description
            )
        body_in = self.body(m["input"], ("input",)) if "input" in m else None
        return LexProcedure(
            parameters=params, input=body_in, output=output, errors=errors, description=description
        )

    def body(self, raw: object, where: tuple[str, ...]) -> LexBody:
        m = self.obj(raw, where, "a body")
        for key in m:
            if key not in ("encoding", "schema", "description"):
                self.report(
                    "invalid-field", f"unknown key {key!r} (ignored)", (*where, key), "warning"
                )
        encoding = self.opt_str(m, "encoding", where)
        if not encoding:
            raise self.fail("invalid-field", "a body needs an 'encoding'", where)
        for i, part in enumerate(encoding.split(",")):
            if not is_valid_mime_pattern(part.strip()):
                raise self.fail(
                    "invalid-field", f"{part!r} is not a MIME type", (*where, "encoding", str(i))
                )
        schema: LexObject | LexRef | LexUnion | None = None
        if "schema" in m:
            parsed = self.field(m["schema"], (*where, "schema"))
            if not isinstance(parsed, LexObject | LexRef | LexUnion):
                raise self.fail(
                    "invalid-field",
                    "a body schema must be an object, a ref or a union",
                    (*where, "schema"),
                )
            schema = parsed
        return LexBody(
            encoding=encoding, schema=schema, description=self.opt_str(m, "description", where)
        )

    def errors(self, m: Mapping[str, object]) -> tuple[LexError, ...]:
        if "errors" not in m:
            return ()
        raw = m["errors"]
        if not isinstance(raw, list):
            raise self.fail("invalid-field", "'errors' must be an array", ("errors",))
        out: list[LexError] = []
        seen: set[str] = set()
        for i, item in enumerate(raw):
            at = ("errors", str(i))
            e = self.obj(item, at, "an error")
            name = self.opt_str(e, "name", at)
            if not name or not _ERROR_NAME.match(name):
                raise self.fail("invalid-field", "an error needs a 'name' without whitespace", at)
            if name in seen:
                self.report("invalid-field", f"error {name!r} declared twice", at, "warning")
                continue
            seen.add(name)
            out.append(LexError(name=name, description=self.opt_str(e, "description", at)))
        return tuple(out)

    def subscription(self, m: Mapping[str, object]) -> LexSubscription:
        self.check_keys(m, "subscription", ())
        params = self.params(m["parameters"], ("parameters",)) if "parameters" in m else None
        if "message" not in m:
            raise self.fail("invalid-field", "a subscription needs a 'message'", ("message",))
        msg = self.obj(m["message"], ("message",), "'message'")
        schema_raw = self.obj(msg.get("schema"), ("message", "schema"), "'message.schema'")
        if schema_raw.get("type") != "union":
            raise self.fail(
                "invalid-field", "a subscription message schema must be a union", ("message",)
            )
        schema = self.field(schema_raw, ("message", "schema"))
        assert isinstance(schema, LexUnion)
        return LexSubscription(
            message=LexMessage(
                schema=schema, description=self.opt_str(msg, "description", ("message",))
            ),
            parameters=params,
            errors=self.errors(m),
            description=self.opt_str(m, "description", ()),
        )

    def permission_set(self, m: Mapping[str, object]) -> LexPermissionSet:
        self.check_keys(m, "permission-set", ())
        raw = m.get("permissions")
        if not isinstance(raw, list):
            raise self.fail(
                "invalid-permission", "'permissions' must be an array", ("permissions",)
            )
        perms: list[LexPermission] = []
        for i, item in enumerate(raw):
            perm = self.permission(item, ("permissions", str(i)))
            if perm is not None:
                perms.append(perm)
        return LexPermissionSet(
            permissions=tuple(perms),
            title=self.opt_str(m, "title", ()),
            title_lang=self.lang_map(m, "title:lang"),
            detail=self.opt_str(m, "detail", ()),
            detail_lang=self.lang_map(m, "detail:lang"),
            description=self.opt_str(m, "description", ()),
        )

    def lang_map(self, m: Mapping[str, object], key: str) -> Mapping[str, str] | None:
        if key not in m:
            return None
        value = self.obj(m[key], (key,), f"{key!r}")
        if not all(isinstance(v, str) for v in value.values()):
            raise self.fail("invalid-field", f"{key!r} must map language tags to text", (key,))
        return cast("Mapping[str, str]", value)

    def permission(self, raw: object, where: tuple[str, ...]) -> LexPermission | None:
        m = self.obj(raw, where, "a permission")
        if m.get("type") != "permission":
            raise self.fail("invalid-permission", "a permission needs type 'permission'", where)
        resource = self.opt_str(m, "resource", where)
        if not resource:
            raise self.fail("invalid-permission", "a permission needs a 'resource'", where)
        if resource == "repo":
            return self.repo_permission(m, where)
        if resource == "rpc":
            return self.rpc_permission(m, where)
        # blob/account/identity are not allowed in sets, and unknown resources must be
        # ignored by access control: keep the document, drop the permission.
        self.report(
            "invalid-permission",
            f"resource {resource!r} is not allowed in a permission set (ignored)",
            where,
            "warning",
        )
        return None

    def _extra(self, m: Mapping[str, object], known: set[str]) -> dict[str, object]:
        return {k: v for k, v in m.items() if k not in known}

    def repo_permission(self, m: Mapping[str, object], where: tuple[str, ...]) -> LexPermission:
        collection = self.str_list(m, "collection", where, unique=True)
        if not collection:
            raise self.fail("invalid-permission", "a repo permission needs collections", where)
        for i, nsid in enumerate(collection):
            if not is_valid_nsid(nsid):
                raise self.fail(
                    "invalid-permission",
                    f"collection {nsid!r} is not an NSID (no wildcards in sets)",
                    (*where, "collection", str(i)),
                )
        action = self.str_list(m, "action", where, unique=True)
        for name in action or ():
            if name not in _REPO_ACTIONS:
                raise self.fail("invalid-permission", f"unknown repo action {name!r}", where)
        extra = self._extra(m, {"type", "resource", "collection", "action"})
        if extra:
            self.report(
                "invalid-permission",
                f"unexpected parameters {sorted(extra)}: access control ignores it",
                where,
                "warning",
            )
        return LexPermission(resource="repo", collection=collection, action=action, extra=extra)

    def rpc_permission(self, m: Mapping[str, object], where: tuple[str, ...]) -> LexPermission:
        lxm = self.str_list(m, "lxm", where, unique=True)
        if not lxm:
            raise self.fail("invalid-permission", "an rpc permission needs 'lxm'", where)
        for i, nsid in enumerate(lxm):
            if not is_valid_nsid(nsid):
                raise self.fail(
                    "invalid-permission",
                    f"lxm {nsid!r} is not an NSID (no wildcards in sets)",
                    (*where, "lxm", str(i)),
                )
        aud = self.opt_str(m, "aud", where)
        inherit = self.opt_bool(m, "inheritAud", where)
        if aud is not None and aud != "*":
            raise self.fail(
                "invalid-permission", "in a permission set 'aud' may only be '*'", where
            )
        if (aud is not None) == bool(inherit):
            raise self.fail(
                "invalid-permission", "exactly one of 'aud' and 'inheritAud: true' is needed", where
            )
        extra = self._extra(m, {"type", "resource", "lxm", "aud", "inheritAud"})
        if extra:
            self.report(
                "invalid-permission",
                f"unexpected parameters {sorted(extra)}: access control ignores it",
                where,
                "warning",
            )
        return LexPermission(resource="rpc", lxm=lxm, aud=aud, inherit_aud=inherit, extra=extra)


def _integer_ok(schema: LexInteger, value: int) -> bool:
    if schema.minimum is not None and value < schema.minimum:
        return False
    if schema.maximum is not None and value > schema.maximum:
        return False
    return schema.enum is None or value in schema.enum


def _string_ok(schema: LexString, value: str) -> bool:
    if schema.enum is not None and value not in schema.enum:
        return False
    n = utf8_len(value)
    if schema.min_length is not None and n < schema.min_length:
        return False
    if schema.max_length is not None and n > schema.max_length:
        return False
    if schema.min_graphemes is not None or schema.max_graphemes is not None:
        g = count_graphemes(value)
        if schema.min_graphemes is not None and g < schema.min_graphemes:
            return False
        if schema.max_graphemes is not None and g > schema.max_graphemes:
            return False
    return True


def parse_ref(ref: str) -> tuple[str | None, str] | None:
    """Split a reference into ``(nsid or None for local, def name)``; ``None`` if malformed.

    ``nsid`` means ``nsid#main``; ``#name`` is local to the containing document.
    """
    if ref.count("#") > 1:
        return None
    nsid, sep, name = ref.partition("#")
    if sep and not name:
        return None
    if sep and not _DEF_NAME.match(name):
        return None
    if not nsid:
        return (None, name) if sep else None
    if not is_valid_nsid(nsid):
        return None
    return (nsid, name or "main")


def parse_document(
    raw: object, path: str | None = None
) -> tuple[LexiconDoc | None, list[Diagnostic]]:
    """Check one decoded JSON document; ``None`` plus diagnostics when it is invalid."""
    parser = _Parser(path)
    doc = parser.document(raw)
    return doc, parser.diagnostics

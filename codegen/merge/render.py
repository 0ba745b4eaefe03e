"""Render the stub module of one handler from its ``HandlerSpec``.

The stub is both the file ``lexforge scaffold`` writes for a new method and the
"desired" side of every later merge, so it must be deterministic and already in the
shape ruff would give it: the merge copies parts of it into the author's file, and
``ruff format`` after a merge must change nothing. Lines are laid out for
``LINE_LENGTH``; long signatures are split one parameter per line with a trailing
comma (which ruff keeps), docstrings are wrapped at word boundaries.
"""

from __future__ import annotations

import json
import textwrap
import unicodedata
from functools import cache
from importlib import resources

import jinja2

from lexforge.codegen.merge.imports import LINE_LENGTH, ImportName, render_imports
from lexforge.codegen.merge.spec import HandlerSpec, TypeRef

__all__ = [
    "HEADER",
    "HandlerSignature",
    "docstring_literal",
    "handle_docstring",
    "module_docstring",
    "render_handler",
    "signature_of",
]

#: The comment lines a scaffolded handler module starts with.
HEADER: tuple[str, ...] = (
    "Scaffolded by lexforge. `lexforge gen --handlers <this folder>` keeps the signature and",
    "docstrings of `handle` in step with the lexicon; the body and everything else are yours.",
)

_XRPC = "lexforge.runtime.xrpc"
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


def _escape(text: str) -> str:
    """Text made safe inside a triple-quoted literal (newlines kept)."""
    out: list[str] = []
    for ch in text.replace("\\", "\\\\"):
        if ch != "\n" and unicodedata.category(ch) in _ESCAPED_CATEGORIES:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out).replace('"""', '""\\"')


def _wrap(line: str, width: int, first_offset: int) -> list[str]:
    """Wrap one source line at spaces; continuations keep the line's own indentation.

    ``first_offset`` columns on the first line are already taken (the opening quotes).
    """
    stripped = line.lstrip(" ")
    lead = line[: len(line) - len(stripped)]
    parts = textwrap.wrap(
        stripped,
        width=width,
        initial_indent=" " * first_offset + lead,
        subsequent_indent=lead,
        break_long_words=False,
        break_on_hyphens=False,
    )
    if not parts:
        return [""]
    parts[0] = parts[0][first_offset:]
    return parts


def docstring_literal(text: str, *, indent: int, line_length: int = LINE_LENGTH) -> str:
    """A triple-quoted docstring for ``text`` at ``indent`` columns, as ruff formats it.

    One line when it fits; otherwise the summary starts after the opening quotes,
    paragraphs and the original line breaks are kept, long lines are wrapped at spaces
    (a single word longer than a line is left whole), and the closing quotes get their
    own line. Continuation lines carry the indentation; the first line does not.
    Control characters, line separators and lone surrogates become escapes.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4)
    raw_lines = [line.rstrip() for line in _escape(text.strip()).split("\n")]
    lines: list[str] = []
    for line in raw_lines:
        if not line and lines and not lines[-1]:
            continue  # one blank line between paragraphs is enough
        lines.append(line)
    width = line_length - indent
    if len(lines) == 1:
        only = lines[0][:-1] + '\\"' if lines[0].endswith('"') else lines[0]
        # ruff keeps one line of text on one line with both quotes, however long; so a
        # text that does not fit with both quotes must wrap into at least two lines.
        if indent + len(only) + 6 <= line_length or len(_wrap(only, width, 6)) == 1:
            return f'"""{only}"""'
        wrapped = _wrap(lines[0], width, 6)
    else:
        wrapped = []
        for i, line in enumerate(lines):
            wrapped += _wrap(line, width, 3 if i == 0 else 0) if line else [""]
    pad = " " * indent
    body = "\n".join(pad + line if line and i else line for i, line in enumerate(wrapped))
    return f'"""{body}\n{pad}"""'


def module_docstring(spec: HandlerSpec) -> str:
    """The module docstring text: which method, plus the document's own description."""
    text = f"Handler for the XRPC {spec.kind} ``{spec.nsid}``."
    if spec.document_description and spec.document_description.strip():
        text += "\n\n" + spec.document_description.strip()
    return text


def handle_docstring(spec: HandlerSpec) -> str:
    """The ``handle`` docstring text: the method's Lexicon description and its errors."""
    if spec.description and spec.description.strip():
        text = spec.description.strip()
    else:
        text = f"Serve ``{spec.nsid}``."
    if spec.errors:
        names = ", ".join(f"``{spec.models_alias}.{e}``" for e in spec.errors)
        text += f"\n\nDeclared errors: {names}."
    return text


class HandlerSignature:
    """The parameters, return annotation and imports of one ``handle`` function."""

    def __init__(self, spec: HandlerSpec) -> None:
        self.imports: set[ImportName] = {ImportName(_XRPC, "MethodNotImplemented")}
        self._spec = spec
        self.params: list[str] = [f"ctx: {self._use(TypeRef('XrpcContext', _XRPC))}"]
        if spec.params is not None:
            self.params.append(f"params: {self._use(spec.params)}")
        if spec.input is not None:
            self.params.append(f"input: {self._use(spec.input)}")
        if spec.message is not None:
            self.imports.add(ImportName("collections.abc", "AsyncIterator"))
            self.returns = f"AsyncIterator[{self._use(spec.message)}]"
        elif spec.output is not None:
            self.returns = self._use(spec.output)
        else:
            self.returns = "None"

    def _use(self, ref: TypeRef) -> str:
        spec = self._spec
        if ref.module is None:
            return ref.name
        if ref.module == spec.models_module:
            parent, _, name = spec.models_module.rpartition(".")
            if parent:
                self.imports.add(ImportName(parent, name, spec.models_alias))
            else:
                self.imports.add(ImportName(name, None, spec.models_alias))
            return f"{spec.models_alias}.{ref.name}"
        self.imports.add(ImportName(ref.module, ref.name))
        return ref.name

    def render(self, line_length: int = LINE_LENGTH) -> str:
        """``async def handle(...) -> ...:``, split one parameter per line if too long."""
        one_line = f"async def handle({', '.join(self.params)}) -> {self.returns}:"
        if len(one_line) <= line_length:
            return one_line
        inner = "".join(f"    {p},\n" for p in self.params)
        return f"async def handle(\n{inner}) -> {self.returns}:"


def signature_of(spec: HandlerSpec) -> HandlerSignature:
    """The ``handle`` signature a spec asks for."""
    return HandlerSignature(spec)


@cache
def _template() -> jinja2.Template:
    source = resources.files("lexforge.templates").joinpath("handler", "handler.py.j2")
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    return env.from_string(source.read_text(encoding="utf-8"))


def render_handler(spec: HandlerSpec, *, line_length: int = LINE_LENGTH) -> str:
    """The complete stub module for ``spec`` (ruff-clean, ends with one newline)."""
    signature = signature_of(spec)
    # A handler module lives in the user's project: models of that project are first
    # party there, lexforge's own (the official set) an installed, third-party library.
    models_top = spec.models_module.partition(".")[0]
    first_party = None if models_top == "lexforge" else models_top
    return _template().render(
        header=HEADER,
        module_docstring=docstring_literal(
            module_docstring(spec), indent=0, line_length=line_length
        ),
        imports=render_imports(signature.imports, first_party=first_party, line_length=line_length),
        nsid_literal=json.dumps(spec.nsid),
        signature=signature.render(line_length),
        docstring=docstring_literal(handle_docstring(spec), indent=4, line_length=line_length),
        kind=spec.kind,
    )

"""The ``lexforge`` command line.

Commands are registered by import path and loaded only when invoked (or when help lists
them), so ``lexforge --help`` stays fast and each command lives in the package it belongs
to. Add a command by adding one line to ``COMMANDS``.
"""

from __future__ import annotations

import importlib

import click

from lexforge.runtime import __version__
from lexforge.runtime.cli.errors import CommandRegistryError

__all__ = ["COMMANDS", "main"]

#: command name -> "module:attribute" of a click command or group.
COMMANDS: dict[str, str] = {
    "check": "lexforge.codegen.cli:check",
    "gen": "lexforge.codegen.cli:gen",
    "lexicons": "lexforge.codegen.cli:lexicons",
    "record": "lexforge.codegen.cli:record",
    "key": "lexforge.runtime.crypto.cli:key",
    "repo": "lexforge.runtime.repo.cli:repo",
    "firehose": "lexforge.runtime.sync.cli:firehose",
    "did": "lexforge.runtime.identity.cli:did",
    "handle": "lexforge.runtime.identity.cli:handle",
    "plc": "lexforge.runtime.plc.cli:plc",
    "scaffold": "lexforge.codegen.scaffold:scaffold_command",
}


class _LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module_name), attr, None)
        if not isinstance(command, click.Command):
            raise CommandRegistryError(
                f"command {cmd_name!r} is registered as {target!r}, which is not a click command"
            )
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="lexforge")
def main() -> None:
    """lexforge: an AT Protocol stack for Python built around a Lexicon compiler."""

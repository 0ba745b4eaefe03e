from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from lexforge.runtime import __version__
from lexforge.runtime.cli import COMMANDS, main
from lexforge.runtime.cli.errors import CliError, CommandRegistryError


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"lexforge, version {__version__}"
    assert __version__ != "0.0.0"


def test_help_lists_every_registered_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


def test_every_registered_command_loads() -> None:
    ctx = click.Context(main)
    for name in COMMANDS:
        assert main.get_command(ctx, name) is not None, name


def test_console_script_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "lexforge.runtime.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert __version__ in proc.stdout


@pytest.mark.parametrize(
    "target", ["lexforge.runtime.cli:COMMANDS", "lexforge.runtime.cli:no_such_command"]
)
def test_broken_registry_entry_is_a_clean_error(
    monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    monkeypatch.setitem(COMMANDS, "broken", target)
    result = CliRunner().invoke(main, ["broken"])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "Error: command 'broken' is registered as" in result.output
    assert issubclass(CommandRegistryError, CliError)

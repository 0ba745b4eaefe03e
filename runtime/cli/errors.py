"""Errors of the ``lexforge`` command line itself (not of the commands it hosts).

Every error is a :class:`click.ClickException` through :class:`CliError`, so click prints
``Error: <message>`` and exits with status 1 instead of a traceback. Each command's own
failures belong to its package's ``errors.py``.
"""

from __future__ import annotations

import click

__all__ = ["CliError", "CommandRegistryError"]


class CliError(click.ClickException):
    """Base class of the errors raised by ``lexforge.runtime.cli``."""


class CommandRegistryError(CliError):
    """A ``COMMANDS`` entry does not name a click command (missing attribute, or an object
    that is not a ``click.Command``): a bug in the registry, reported by name."""

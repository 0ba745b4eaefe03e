"""``python -m lexforge.runtime.cli``: the same as the ``lexforge`` command."""

from lexforge.runtime.cli import main

__all__: list[str] = []

main()

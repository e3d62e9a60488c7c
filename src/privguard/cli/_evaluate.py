"""`privguard evaluate` (being built; see the issue that owns it)."""

from __future__ import annotations

import click

from privguard.errors import PrivguardError


@click.command(name="evaluate")
def evaluate() -> None:
    """Not built yet."""
    raise PrivguardError("'privguard evaluate' is not built yet")

"""`privguard review` (being built; see the issue that owns it)."""

from __future__ import annotations

import click

from privguard.errors import PrivguardError


@click.command(name="review")
def review() -> None:
    """Not built yet."""
    raise PrivguardError("'privguard review' is not built yet")

"""`privguard ingest` (being built; see the issue that owns it)."""

from __future__ import annotations

import click

from privguard.errors import PrivguardError


@click.command(name="ingest")
def ingest() -> None:
    """Not built yet."""
    raise PrivguardError("'privguard ingest' is not built yet")

"""`privguard verify` (being built; see the issue that owns it)."""

from __future__ import annotations

import click

from privguard.errors import PrivguardError


@click.command(name="verify")
def verify() -> None:
    """Not built yet."""
    raise PrivguardError("'privguard verify' is not built yet")

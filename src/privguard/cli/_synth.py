"""`privguard synth` (being built; see the issue that owns it)."""

from __future__ import annotations

import click

from privguard.errors import PrivguardError


@click.command(name="synth")
def synth() -> None:
    """Not built yet."""
    raise PrivguardError("'privguard synth' is not built yet")

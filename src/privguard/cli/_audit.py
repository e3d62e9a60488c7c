"""`privguard audit` (being built; see the issue that owns it)."""

from __future__ import annotations

import click

from privguard.errors import PrivguardError


@click.command(name="audit")
def audit() -> None:
    """Not built yet."""
    raise PrivguardError("'privguard audit' is not built yet")

"""`privguard vault ingest-spool`: the media relay's recordings into the vault (issue 18)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from privguard.cli._vault import _vault_options, vault

if TYPE_CHECKING:
    from privguard.internals.prevention.vault import AccessContext, Vault


@vault.command(name="ingest-spool")
@click.argument("spool", type=click.Path(path_type=Path, file_okay=False, exists=True))
@_vault_options
def ingest_spool(vault: Vault, ctx: AccessContext, spool: Path) -> None:
    """Store each finished call of rtpengine's recording spool, decoded to WAV.

    A call is stored only under the durable record=true decision its metadata names (for
    its facility, number and SIP Call-ID); its spool files are then deleted. Any other
    recording is refused: an alarm in the access log, and its files are moved to
    SPOOL/refused/. Exit code 3 when there was an alarm.

    Example: privguard vault ingest-spool /var/spool/rtpengine --role facility_system --user gate --data-dir d
    """
    from privguard.errors import IntegrityError
    from privguard.internals.prevention.vault.spool import ingest_spool as run

    r = run(vault, spool, ctx)
    click.echo(
        f"{len(r.stored):,} recording(s) stored, {len(r.alarms):,} refused, "
        f"{r.waiting:,} call(s) still in progress"
    )
    for rid in r.stored:
        click.echo(f"stored {rid}")
    if r.alarms:
        raise IntegrityError(
            f"ALARM: {len(r.alarms):,} recording(s) had no durable record=true decision",
            where=str(spool / "refused"),
            problems=r.alarms,
            fix="find out how these calls came to be recorded; the files are kept there",
        )

"""`privguard compliance`: the signed periodic compliance report, and its offline check."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from privguard.errors import InputError


def _day(value: str | None, flag: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value or "")
    except ValueError:
        raise InputError(
            f"{flag} {value!r} is not a date", where=flag, fix=f"write it as {flag} 2025-01-01"
        ) from None


@click.command(name="compliance")
@click.option("--from", "start", metavar="DATE", help="First day of the period (YYYY-MM-DD).")
@click.option("--to", "end", metavar="DATE", help="Last day of the period (YYYY-MM-DD).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), help="Folder to write.")
@click.option(
    "--verify",
    "verify",
    type=click.Path(path_type=Path),
    default=None,
    help="Check a report instead: its compliance.sig (or its folder).",
)
@click.option("--key", default=None, help="With --verify: the public key (vkey text or file).")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The service's data directory (default: privguard-data).",
)
@click.option("--database-url", default=None, help="sqlite:///path or postgresql+psycopg://...")
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="A TOML file with a [service] table.",
)
def compliance(
    start: str | None,
    end: str | None,
    out: Path | None,
    verify: Path | None,
    key: str | None,
    data_dir: Path | None,
    database_url: str | None,
    config: Path | None,
) -> None:
    """Write the compliance report for a period: registry size and changes, decisions by
    outcome and reason, recordings stored, quarantined and purged with their certificates,
    accesses by role, anomalies. Every figure is recounted from the tamper-evident ledger.
    The folder gets compliance.html, compliance.pdf, compliance.json and compliance.sig (a
    detached Ed25519 signature over all three) and compliance.vkey (the public key).

    --verify checks a report offline with the public key, obtained from its issuer.

    Example: privguard compliance --from 2025-01-01 --to 2025-06-30 --out report-2025h1
    """
    from privguard.internals.prevention import compliance as C

    if verify is not None:
        if not key:
            raise InputError("--verify needs --key", fix="--key compliance.vkey from the issuer")
        checked = C.verify_report(verify, key)
        click.echo(f"OK: the signature holds and {', '.join(checked)} are unchanged.")
        return
    if out is None:
        raise InputError("--out is needed", fix="--out report-2025h1")
    first, last = _day(start, "--from"), _day(end, "--to")
    from privguard.internals.prevention.settings import load_service_settings

    settings = load_service_settings(config, data_dir=data_dir, database_url=database_url)
    written = C.compliance_report(settings, first, last, out)
    f = written.figures
    click.echo(
        f"Compliance report {first}..{last}: {f['registry']['active_at_end']} numbers protected "
        f"at the end, {sum(f['decisions']['by_outcome'].values())} decisions, "
        f"{f['vault']['recordings_purged']} recordings purged. Written to {written.folder}"
    )

"""`privguard vault ...`: the recording vault's commands, each a thin caller of the library.

At the command line the operator names their role, case and reason; the run is logged
under ``<role>:<user>`` with source ``cli:<host>``. (Whoever runs these commands can read
the data directory; the service is where users sign in.)
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # lazy at run time, so `privguard --help` stays fast
    from privguard.internals.prevention.vault import AccessContext, Vault

_DATE = click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"])


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def _vault_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--data-dir/--database-url/--config and --role/--user/--case/--reason; the command gets
    an open ``vault`` and its ``ctx``."""

    @click.option(
        "--config",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="A TOML file with a [service] table (data_dir, database_url, ...).",
    )
    @click.option(
        "--database-url", default=None, help="sqlite:///path or postgresql+psycopg://user@host/db."
    )
    @click.option(
        "--data-dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="Where the vault keeps its database, keys and blobs (default: privguard-data).",
    )
    @click.option(
        "--role",
        default="records_officer",
        show_default=True,
        help="Your role: investigator, prosecutor, records_officer, registrar, auditor, admin.",
    )
    @click.option("--user", default=None, help="Your name in the access log (default: login name).")
    @click.option("--case", default="", help="The case number this access is for.")
    @click.option("--reason", default="", help="Why you need it, in words (10 characters or more).")
    @functools.wraps(fn)
    def wrapper(
        config: Path | None,
        database_url: str | None,
        data_dir: Path | None,
        role: str,
        user: str | None,
        case: str,
        reason: str,
        **kwargs: Any,
    ) -> Any:
        from privguard.internals.prevention.settings import load_service_settings
        from privguard.internals.prevention.vault import AccessContext, Vault

        settings = load_service_settings(config, data_dir=data_dir, database_url=database_url)
        ctx = AccessContext(
            f"{role}:{user or getpass.getuser()}", role, case, reason, f"cli:{socket.gethostname()}"
        )
        return fn(Vault.open(settings), ctx, **kwargs)

    return wrapper  # fmt: skip


@click.group(name="vault")
def vault() -> None:
    """The recording vault: encrypted recordings, logged access, filtered productions, purges.

    Every access, refused ones included, is an entry of the signed access log.

    Example: privguard vault query --inmate A100 --case CR-1 --reason "bail hearing prep" --data-dir d
    """


@vault.command(name="store")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--decision-id", required=True, help="The gate's record=true decision id.")
@click.option("--facility", required=True, help="The facility code.")
@click.option("--inmate", required=True, help="The inmate account.")
@click.option("--number", required=True, help="The dialed number.")
@click.option("--started", type=_DATE, required=True, help="Start of the call, UTC.")
@click.option("--ref", default="", help="The vendor's recording reference.")
@_vault_options
def store(
    vault: Vault,
    ctx: AccessContext,
    file: Path,
    decision_id: str,
    facility: str,
    inmate: str,
    number: str,
    started: dt.datetime,
    ref: str,
) -> None:
    """Encrypt and keep a recording; refused (and an alarm) without a durable record=true.

    Example: privguard vault store call.wav --decision-id 018f... --facility MAIN --inmate A100 --number 5125550100 --started 2024-03-04T15:00:00 --role facility_system --data-dir d
    """
    s = vault.store(
        ctx,
        decision_id,
        file.read_bytes(),
        facility=facility,
        inmate_account=inmate,
        dialed_number=number,
        started_at=_utc(started) or started,
        recording_ref=ref,
    )
    click.echo(f"stored {s.id} ({s.size:,} bytes, sha256 {s.sha256}, {s.state})")  # fmt: skip


@vault.command(name="get")
@click.argument("recording_id")
@click.option(
    "--action",
    type=click.Choice(["play", "download", "export"]),
    default="download",
    show_default=True,
    help="What the access is for (each is logged as such).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The file to write (must not exist).",
)
@_vault_options
def get(vault: Vault, ctx: AccessContext, recording_id: str, action: str, out: Path) -> None:
    """Write a recording's content to a new file, after logging the access.

    Example: privguard vault get rec_0a1b --out call.wav --role investigator --case CR-1 --reason "identify the caller" --data-dir d
    """
    from privguard.errors import InputError

    if out.exists():
        raise InputError(
            "the output file already exists; privguard never writes over a file",
            where=str(out),
            fix="give --out a file name that does not exist yet",
        )
    c = vault.read(ctx, recording_id, action)
    out.write_bytes(c.data)
    click.echo(f"{out}: {len(c.data):,} bytes, sha256 {c.sha256} (access-log entry {c.access_index})")  # fmt: skip


@vault.command(name="query")
@click.option("--inmate", default=None, help="The inmate account.")
@click.option("--number", default=None, help="The dialed number.")
@click.option("--from", "start", type=_DATE, default=None, help="From (UTC).")
@click.option("--to", "end", type=_DATE, default=None, help="Up to, excluded (UTC).")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the records to this new CSV file (an export) instead of listing them.",
)
@_vault_options
def query(
    vault: Vault,
    ctx: AccessContext,
    inmate: str | None,
    number: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    out: Path | None,
) -> None:
    """Call records (no content), logged; privileged calls' records are withheld.

    Example: privguard vault query --inmate A100 --from 2024-03-01 --case CR-1 --reason "bail hearing prep" --data-dir d
    """
    from privguard.internals.prevention.vault.records import export_calls, query_calls

    kw: dict[str, Any] = dict(
        inmate_account=inmate, number=number, start=_utc(start), end=_utc(end)
    )
    r = export_calls(vault, ctx, out, **kw) if out else query_calls(vault, ctx, **kw)
    if out is None:
        for row in r.rows:
            click.echo(
                f"{row['id']}  {row['started_utc']}  {row['facility']}  "
                f"{row['inmate_account']}  {row['dialed_number']}  {row['state']}"
            )
    click.echo(f"{len(r.rows):,} call record(s){f' written to {out}' if out else ''}; "
               f"{r.withheld:,} withheld as privileged or quarantined")  # fmt: skip


@vault.command(name="produce")
@click.option("--inmate", required=True, help="The inmate account.")
@click.option("--from", "start", type=_DATE, required=True, help="From (UTC).")
@click.option("--to", "end", type=_DATE, required=True, help="Up to, excluded (UTC).")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="The package folder to create (must not exist).",
)
@click.option("--zip", "zip_package", is_flag=True, help="Also write OUT.zip.")
@_vault_options
def produce(
    vault: Vault,
    ctx: AccessContext,
    inmate: str,
    start: dt.datetime,
    end: dt.datetime,
    out: Path,
    zip_package: bool,
) -> None:
    """All calls of an inmate between dates, privileged ones withheld, with a hashed manifest.

    Example: privguard vault produce --inmate A100 --from 2024-01-01 --to 2024-04-01 --out prod1 --case SUBP-7 --reason "subpoena duces tecum 7" --data-dir d
    """
    from privguard.internals.prevention.vault.production import produce as run

    p = run(
        vault, ctx, inmate, _utc(start) or start, _utc(end) or end, out, zip_package=zip_package
    )
    why = ", ".join(f"{k} {v}" for k, v in sorted(p.withheld_reasons.items())) or "none"
    click.echo(f"{p.folder}: {p.included:,} recording(s) produced, {p.withheld:,} withheld "
               f"({why}); manifest sha256 {p.manifest_sha256}")  # fmt: skip


@vault.command(name="quarantine")
@click.option("--number", "numbers", multiple=True, help="A newly registered number (repeat).")
@_vault_options
def quarantine(vault: Vault, ctx: AccessContext, numbers: tuple[str, ...]) -> None:
    """Quarantine the recordings of calls to numbers; with no --number, everything now privileged.

    Example: privguard vault quarantine --number 5125550100 --role registrar --reason "number registered" --data-dir d
    """
    from privguard.internals.prevention.vault import protect

    done = protect.quarantine_numbers(vault, ctx, numbers) if numbers else protect.sweep(vault, ctx)
    click.echo(f"{len(done):,} recording(s) quarantined")


@vault.command(name="import-audit")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@_vault_options
def import_audit(vault: Vault, ctx: AccessContext, out: Path) -> None:
    """Import an audit's privileged numbers and recordings (OUT/privileged_calls.csv,
    OUT/numbers.parquet) and quarantine the matching recordings at once.

    Example: privguard vault import-audit out --role registrar --reason "audit of 2024-Q1" --data-dir d
    """
    from privguard.internals.prevention.vault.protect import import_audit as run

    r = run(vault, ctx, out)
    click.echo(f"{', '.join(r.files)}: {r.numbers:,} privileged number(s), {r.refs:,} "
               f"recording reference(s); {len(r.quarantined):,} recording(s) quarantined")  # fmt: skip


@vault.command(name="purge")
@click.argument("recording_ids", nargs=-1, required=True)
@click.option("--authority", required=True, help="The order, case or policy that requires it.")
@click.option("--backup", "backups", multiple=True, help="A backup holding copies (repeat).")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Where to write the signed purge certificate (must not exist).",
)
@_vault_options
def purge(
    vault: Vault,
    ctx: AccessContext,
    recording_ids: tuple[str, ...],
    authority: str,
    backups: tuple[str, ...],
    out: Path,
) -> None:
    """Crypto-shred recordings and write their signed purge certificate.

    Example: privguard vault purge rec_0a1b --authority "Order 2024-1" --backup tape-7 --out purge.txt --role admin --case ORD-1 --reason "court-ordered deletion" --data-dir d
    """
    from privguard.errors import InputError
    from privguard.internals.prevention.vault.protect import purge as run

    if out.exists():
        raise InputError(
            "the certificate file already exists; privguard never writes over a file",
            where=str(out),
            fix="give --out a file name that does not exist yet",
        )
    text = run(vault, ctx, list(recording_ids), authority=authority, backups=backups)
    out.write_text(text, encoding="utf-8")
    click.echo(f"{len(recording_ids)} recording(s) purged; certificate {out}; check it with: "
               f"privguard vault verify-certificate {out} --key '{vault.signer.verifier()}'")  # fmt: skip


@vault.command(name="anomalies")
@click.option("--from", "start", type=_DATE, required=True, help="From (UTC).")
@click.option("--to", "end", type=_DATE, required=True, help="Up to, excluded (UTC).")
@click.option(
    "--bulk-per-hour",
    type=click.IntRange(1),
    default=20,
    show_default=True,
    help="More reads than this in one hour is bulk.",
)
@click.option("--zone", default="UTC", show_default=True, help="Time zone of working hours.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@_vault_options
def anomalies(
    vault: Vault,
    ctx: AccessContext,
    start: dt.datetime,
    end: dt.datetime,
    bulk_per_hour: int,
    zone: str,
    as_json: bool,
) -> None:
    """Unusual access per user, for the auditor: bulk plays, off-hours, protected items.

    Example: privguard vault anomalies --from 2024-03-01 --to 2024-04-01 --role auditor --data-dir d
    """
    from privguard.internals.prevention.vault.anomalies import anomaly_report

    r = anomaly_report(
        vault, ctx, _utc(start) or start, _utc(end) or end, bulk_per_hour=bulk_per_hour, zone=zone
    )
    if as_json:
        click.echo(json.dumps(r.to_dict(), indent=2))
        return
    click.echo(f"{r.start} .. {r.end}; working hours {r.working_hours}; bulk > {r.bulk_per_hour}/h")
    for u in r.users:
        flags = "; ".join(u.flags) or "nothing unusual"
        click.echo(f"{u.actor} ({u.role}): {u.reads:,} read, {u.refused:,} refused: {flags}")  # fmt: skip


# The key, certificate, log and escrow commands (kept apart so each file stays small).
from privguard.cli import _vault_admin, _vault_spool  # noqa: E402, F401

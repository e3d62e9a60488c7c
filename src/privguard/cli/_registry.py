"""`privguard registry ...`: the registrar's commands, each a thin caller of the registry API."""

from __future__ import annotations

import datetime as dt
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # the import is lazy at run time, so `privguard --help` stays fast
    from privguard.internals.prevention.registry.api import Registry


def _settings_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--data-dir, --database-url and --config; the command gets an open ``reg``."""

    @click.option(
        "--config",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="A TOML file with a [service] table (data_dir, database_url, ...).",
    )
    @click.option(
        "--database-url",
        default=None,
        help="sqlite:///path or postgresql+psycopg://user@host/db "
        "(default: SQLite in the data directory).",
    )
    @click.option(
        "--data-dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="Where the registry keeps its database and key (default: privguard-data).",
    )
    @functools.wraps(fn)
    def wrapper(
        config: Path | None, database_url: str | None, data_dir: Path | None, **kwargs: Any
    ) -> Any:
        from privguard.internals.prevention.registry.api import Registry
        from privguard.internals.prevention.settings import load_service_settings

        settings = load_service_settings(config, data_dir=data_dir, database_url=database_url)
        return fn(Registry.open(settings), **kwargs)

    return wrapper


@click.group(name="registry")
def registry() -> None:
    """The registry of privileged numbers: feeds, snapshots, reconciliation, receipts.

    Every change is appended to a signed, tamper-evident log; 'verify' proves the
    registry's tables still equal that log.

    Example: privguard registry import-feed bar.csv --source bar_feed --data-dir reg
    """


@registry.command(name="import-feed")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--source",
    required=True,
    type=click.Choice(["bar_feed", "public_defender_feed"]),
    help="Which kind of list this is.",
)
@click.option(
    "--feed",
    "feed_name",
    default=None,
    help="The feed's name, when several lists share a source (default: the source).",
)
@click.option("--bar-state", default="", help="The bar's state for the bar numbers, e.g. ME.")
@_settings_options
def import_feed(
    reg: Registry, file: Path, source: str, feed_name: str | None, bar_state: str
) -> None:
    """Import a bar or public-defender list (CSV/XLSX); safe to run again and again.

    A number new to the list is registered, one still listed is left alone, and one
    no longer listed is ended with a reason naming the file (never silently dropped).

    Example: privguard registry import-feed bar.csv --source bar_feed --data-dir reg
    """
    from privguard.internals.prevention.registry.api import feed

    r = feed(reg, file, source=source, feed_name=feed_name, bar_state=bar_state)
    click.echo(
        f"{r.file} ({r.feed}): {r.listed:,} numbers listed; {r.added:,} added, "
        f"{r.unchanged:,} unchanged, {r.ended:,} ended, {r.held_elsewhere:,} already "
        f"protected by another registration; {r.ledger_entries:,} log entries"
    )
    if r.shared:
        click.echo(
            f"{r.shared:,} number(s) are listed under several holders: each is registered "
            "once, and every holder is kept in its evidence."
        )


@registry.command(name="snapshot")
@click.option("--facility", required=True, help="The facility's code, e.g. MAIN-JAIL.")
@click.option("--vendor", default="", help="The phone vendor it goes to (a label in the file).")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The snapshot file to write (never overwritten without --force).",
)
@click.option(
    "--effective",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="The date it binds from (default: the Monday after today).",
)
@click.option(
    "--valid-days",
    type=click.IntRange(1, 366),
    default=14,
    show_default=True,
    help="Days after issue until it expires.",
)
@click.option(
    "--since",
    "since_size",
    type=click.IntRange(0),
    default=None,
    help="Prove consistency from this log size (the facility's last import).",
)
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@_settings_options
def snapshot(
    reg: Registry,
    facility: str,
    vendor: str,
    out: Path,
    effective: dt.datetime | None,
    valid_days: int,
    since_size: int | None,
    force: bool,
) -> None:
    """Write a signed snapshot of the numbers a facility must not record.

    Example: privguard registry snapshot --facility MAIN-JAIL --out main.snapshot --data-dir reg
    """
    from privguard.internals.prevention.registry.api import snapshot as run

    issued = run(
        reg,
        facility,
        out,
        vendor=vendor,
        effective=effective.date() if effective else None,
        valid_days=valid_days,
        since_size=since_size,
        force=force,
    )
    s = issued.snapshot
    click.echo(
        f"Wrote {out}: {len(s.entries):,} numbers for {s.facility}, binding from "
        f"{s.effective}, expires {s.not_after:%Y-%m-%d %H:%M}Z; log size {s.tree_size:,}"
    )
    click.echo(f"Public key to check it: {reg.signer.verifier()}")


@registry.command(name="import-snapshot")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--key",
    default=None,
    help="The registry's public key (vkey) or a file of them (default: this registry's own key).",
)
@_settings_options
def import_snapshot(reg: Registry, file: Path, key: str | None) -> None:
    """Check a snapshot completely, then keep it; refuse one older than the last kept.

    Example: privguard registry import-snapshot main.snapshot --key "privguard/registry+..." --data-dir site
    """
    from privguard.internals.prevention.registry.api import import_snapshot_file

    r = import_snapshot_file(reg, file, key)
    s = r.snapshot
    before = (
        "first snapshot kept"
        if r.previous_size is None
        else (f"log grew from {r.previous_size:,} to {s.tree_size:,}")
    )
    click.echo(
        f"OK: {file} verified and kept: {len(s.entries):,} numbers for {s.facility}, "
        f"binding from {s.effective} ({before})"
    )


@registry.command(name="diff")
@click.argument("a")
@click.argument("b")
@click.option("--facility", default=None, help="The facility (needed for 'registry').")
@click.option(
    "--on",
    "on",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Compare the numbers in effect on this date (default: today).",
)
@click.option(
    "--limit",
    type=click.IntRange(1),
    default=None,
    help="List at most this many numbers per section.",
)
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="A TOML file with a [service] table.",
)
@click.option("--database-url", default=None, help="The registry's database URL.")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The registry's data directory.",
)
def diff(
    a: str,
    b: str,
    facility: str | None,
    on: dt.datetime | None,
    limit: int | None,
    config: Path | None,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """Name every number missing, extra or changed between A and B.

    A and B are each 'registry' (this registry's active set for --facility), a snapshot
    file, or a facility's own do-not-record list (CSV/XLSX). Exits 1 if they differ.

    Example: privguard registry diff registry jail_list.csv --facility MAIN-JAIL --data-dir reg
    """
    from privguard.internals.prevention.registry.api import REGISTRY, Registry
    from privguard.internals.prevention.registry.api import diff as run
    from privguard.internals.prevention.registry.diff import render
    from privguard.internals.prevention.settings import load_service_settings

    reg = None
    if REGISTRY in (a, b):
        reg = Registry.open(
            load_service_settings(config, data_dir=data_dir, database_url=database_url)
        )
    result = run(reg, a, b, facility=facility, on=on.date() if on else None)
    click.echo(render(result, limit))
    if not result.same:
        # Like diff(1): 1 means "they differ". ctx.exit would be swallowed by main's
        # standalone_mode=False, so leave the process directly.
        sys.exit(1)


@registry.command(name="verify")
@_settings_options
def verify(reg: Registry) -> None:
    """Check the signed log, and that every registry table equals what the log replays to.

    Exits 3 naming every entry or row deleted, altered, added or re-ordered.

    Example: privguard registry verify --data-dir reg
    """
    from privguard.errors import IntegrityError
    from privguard.internals.prevention.registry.api import verify as run

    r = run(reg)
    if not r.ok:
        raise IntegrityError(
            "the registry does not match its signed log",
            problems=list(r.problems),
            fix="restore the database from a backup and run verify again; "
            "keep this output as evidence",
        )
    click.echo(
        f"OK: {r.ledger_size:,} log entries verified; {r.rows_checked:,} table rows "
        "equal the state they replay to."
    )


@registry.command(name="verify-receipt")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--key", required=True, help="The registry's public key (vkey), or a file of them.")
def verify_receipt(files: tuple[Path, ...], key: str) -> None:
    """Check receipts offline (no database). Give the receipts of one number together to
    see the dates it was registered.

    Example: privguard registry verify-receipt receipt-17.txt receipt-42.txt --key registry.vkey
    """
    from privguard.errors import IntegrityError
    from privguard.internals.prevention.registry.api import verify_receipts

    r = verify_receipts(list(files), key)
    for line in r.receipts:
        click.echo(
            f"{line.file}: {'OK' if line.ok else 'FAILED'}"
            + (f" entry {line.index}: {line.summary}" if line.ok else "")
        )
    for sentence in r.registrations:
        click.echo(sentence)
    if not r.ok:
        raise IntegrityError(
            "a receipt does not verify",
            problems=[f"{x.file}: {p}" for x in r.receipts for p in x.problems],
            fix="check that --key is the registry's published key and the file is unchanged",
        )


@registry.command(name="import-audit")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@_settings_options
def import_audit(reg: Registry, out: Path) -> None:
    """Queue invitations to register for an audit's unprotected attorney numbers.

    Nothing is registered: a registrar sends each invitation; the attorney registers.

    Example: privguard registry import-audit case/out --data-dir reg
    """
    from privguard.internals.prevention.registry.api import audit_invitations

    r = audit_invitations(reg, out)
    click.echo(
        f"{r.file}: {r.eligible:,} attorney number(s) of {r.rows:,}; "
        f"{len(r.queued):,} queued as invitations, {r.already_registered:,} already "
        f"registered, {r.already_invited:,} already invited."
    )
    for inv in r.queued[:20]:
        click.echo(f"  {inv.number}  {inv.attorney_name or '(no name)'}  {inv.classification}")
    if len(r.queued) > 20:
        click.echo(f"  ... and {len(r.queued) - 20:,} more")


@registry.command(name="end")
@click.argument("registration", type=int)
@click.option("--reason", required=True, help="Why it ends (shown to the attorney).")
@click.option(
    "--on",
    "on",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="The last day it is in effect is the day before (default: today).",
)
@_settings_options
def end(reg: Registry, registration: int, reason: str, on: dt.datetime | None) -> None:
    """End a registration: it stays in the log with its dates, never deleted.

    Example: privguard registry end 17 --reason "line closed" --data-dir reg
    """
    from privguard.internals.prevention.registry.api import end as run

    run(reg, registration, reason=reason, effective_to=on.date() if on else None)
    click.echo(f"Ended registration {registration}; the attorney's receipt records it.")


@registry.command(name="receipts")
@click.argument("attorney", type=int)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="The folder to write receipt-<entry>.txt files to.",
)
@_settings_options
def receipts(reg: Registry, attorney: int, out: Path) -> None:
    """Write the receipts of every change to an attorney's numbers, for them to keep.

    Example: privguard registry receipts 3 --out receipts/ --data-dir reg
    """
    from privguard.internals.prevention.registry.api import write_receipts

    paths = write_receipts(reg, attorney, out)
    click.echo(
        f"{len(paths)} receipt(s) in {out}; check them with 'privguard registry "
        "verify-receipt' and the registry's public key."
    )


@registry.command(name="key")
@_settings_options
def key(reg: Registry) -> None:
    """Print the registry's public key (vkey): publish it; facilities and attorneys check
    snapshots and receipts with it.

    Example: privguard registry key --data-dir reg > registry.vkey
    """
    for v in reg.verifiers():
        click.echo(str(v))

"""`privguard ingest DUMP --out WORKSPACE`: read every table of a dump, with reconciliation."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from privguard.cli._progress import RichProgress
from privguard.errors import EXIT_INCOMPLETE


@click.command(name="ingest")
@click.argument("dump", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "work",
    required=True,
    type=click.Path(path_type=Path),
    help="Workspace folder: ingested/*.parquet, rejects.csv and ingest_report.json go here.",
)
@click.option(
    "--mapping",
    "mapping_file",
    type=click.Path(path_type=Path),
    help="TOML file of [[mapping]] entries: which source column is which field, per file.",
)
@click.option(
    "--config",
    type=click.Path(path_type=Path),
    help="Case file (TOML): its [ingest] limits on archives and its [[mapping]] entries.",
)
def ingest(dump: Path, work: Path, mapping_file: Path | None, config: Path | None) -> None:
    """Read every table under DUMP (CSV, TSV, JSON lines, Parquet, XLSX, SQLite, MySQL and
    PostgreSQL dumps, also inside zip and gz archives) into the canonical call schema.

    Every row keeps its source file, table and row number; unreadable rows go to
    rejects.csv with their raw text, and the reconciliation (rows read = accepted +
    rejected, per table) is printed and written to ingest_report.json. SQL in a dump is
    parsed, never executed.

    Archives are opened within the case file's [ingest] limits (extracted size, compression
    ratio, nesting depth; docs/case-file.md); a symbolic link leading out of DUMP is refused.

    Files that could not be read are named at the end and the exit code is 6 (incomplete).

    Example: privguard ingest demo/leak/dump --out demo/work
    """
    from privguard.internals.audit.ingest.api import ingest as run
    from privguard.internals.audit.settings import load_settings

    settings = load_settings(config)
    with RichProgress() as progress:
        result = run(
            dump,
            work,
            mapping=settings.mapping,
            mapping_file=mapping_file,
            progress=progress,
            limits=settings.ingest,
        )
    # Wide when piped to a file, so names and counts are never folded or cut.
    console = Console(width=None if sys.stdout.isatty() else 200)
    table = Table(title=f"Ingest of {dump}", show_footer=True)
    t = result.totals
    table.add_column("file", footer="TOTAL")
    table.add_column("table", footer=f"{t['tables']} tables")
    table.add_column("format")
    table.add_column("read", justify="right", footer=f"{t['rows_read']:,}")
    table.add_column("accepted", justify="right", footer=f"{t['rows_accepted']:,}")
    table.add_column("rejected", justify="right", footer=f"{t['rows_rejected']:,}")
    table.add_column("status")
    for e in result.tables:
        table.add_row(
            e["file"],
            e["table"],
            e["format"],
            f"{e['rows_read']:,}",
            f"{e['rows_accepted']:,}",
            f"{e['rows_rejected']:,}",
            e["status"],
        )
    console.print(table)
    console.print(
        f"{t['rows_ingested']:,} rows from {t['tables_ingested']} call tables ingested into "
        f"{result.ingested_dir}; {t['rows_rejected']:,} rejected rows in {result.rejects_path}; "
        f"report: {result.report_path}"
    )
    for w in result.warnings:
        console.print(f"[yellow]warning:[/] {escape(w['file'])}: {escape(w['warning'])}")
    for s in result.skipped_files:
        size = f"{s['bytes']:,} bytes" if isinstance(s.get("bytes"), int) else "size unknown"
        console.print(f"[yellow]not read:[/] {escape(s['file'])} ({size}): {escape(s['reason'])}")
    if result.incomplete:
        console.print(
            f"[red]INCOMPLETE:[/] {t['files_unread']} file(s), {t['bytes_unread']:,} bytes, "
            f"could not be read (exit code {EXIT_INCOMPLETE})"
        )
        raise click.exceptions.Exit(EXIT_INCOMPLETE)

"""`privguard ingest DUMP --out WORKSPACE`: read every table of a dump, with reconciliation."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from privguard.cli._progress import RichProgress
from privguard.errors import EXIT_INCOMPLETE, printable


@click.command(name="ingest")
@click.argument("dump", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "work",
    type=click.Path(path_type=Path),
    help="Workspace folder: ingested/*.parquet, rejects.csv and ingest_report.json go here "
    "(required unless --show-mapping).",
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
@click.option(
    "--show-mapping",
    is_flag=True,
    help="Read only the head of each table and print how its columns would be read "
    "(field, column, confidence, evidence; what the other columns look like; what is "
    "missing and what that costs). Nothing is ingested.",
)
@click.option(
    "--write-mapping",
    "write_mapping",
    type=click.Path(path_type=Path),
    help="With --show-mapping: also write the proposal as a mapping file to correct and "
    "pass back with --mapping (never over an existing file).",
)
def ingest(
    dump: Path,
    work: Path | None,
    mapping_file: Path | None,
    config: Path | None,
    show_mapping: bool,
    write_mapping: Path | None,
) -> None:
    """Read every table under DUMP (CSV, TSV, JSON lines, Parquet, XLSX, SQLite, MySQL and
    PostgreSQL dumps, also inside zip and gz archives) into the canonical call schema.

    Every row keeps its source file, table and row number; unreadable rows go to
    rejects.csv with their raw text, and the reconciliation (rows read = accepted +
    rejected, per table) is printed and written to ingest_report.json. SQL in a dump is
    parsed, never executed.

    Archives are opened within the case file's [ingest] limits (extracted size, compression
    ratio, nesting depth; docs/case-file.md); a symbolic link leading out of DUMP is refused.

    Files that could not be read are named at the end and the exit code is 6 (incomplete).

    --show-mapping prints the proposed mapping of every table without ingesting;
    --write-mapping FILE also writes it as a mapping file for a person to correct.

    Example: privguard ingest demo/leak/dump --show-mapping --write-mapping mapping.toml
    """
    from privguard.internals.audit.ingest.api import ingest as run
    from privguard.internals.audit.settings import load_settings

    if write_mapping is not None and not show_mapping:
        raise click.UsageError("--write-mapping needs --show-mapping")
    if work is None and not show_mapping:
        raise click.UsageError("--out is required (or give --show-mapping)")
    settings = load_settings(config)
    if show_mapping:
        _show_mapping(dump, settings, mapping_file, write_mapping)
        return
    with RichProgress() as progress:
        result = run(
            dump,
            Path(work or "."),  # given: checked above
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
        table.add_row(  # names as the lines below show them: escaped, never markup
            escape(printable(e["file"])),
            escape(printable(e["table"])),
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
        # Escaped, not left to rich, which drops control characters: the name must be the
        # file's, as the audit's warnings and "not read" lines show it.
        shown = printable(f"{w['file']}: {w['warning']}")
        console.print(f"[yellow]warning:[/] {escape(shown)}")
    for s in result.skipped_files:
        size = f"{s['bytes']:,} bytes" if isinstance(s.get("bytes"), int) else "size unknown"
        shown = printable(f"{s['file']} ({size}): {s['reason']}")
        console.print(f"[yellow]not read:[/] {escape(shown)}")
    if result.incomplete:
        console.print(
            f"[red]INCOMPLETE:[/] {t['files_unread']} file(s), {t['bytes_unread']:,} bytes, "
            f"could not be read (exit code {EXIT_INCOMPLETE})"
        )
        raise click.exceptions.Exit(EXIT_INCOMPLETE)


def _show_mapping(dump: Path, settings: Any, mapping_file: Path | None, out: Path | None) -> None:
    """Print (and write) the proposed mapping of every table; exit 2 when one is unmappable."""
    from privguard.internals.audit.ingest.propose import propose_mapping

    proposal = propose_mapping(
        dump, mapping=settings.mapping, mapping_file=mapping_file, limits=settings.ingest
    )
    console = Console(width=None if sys.stdout.isatty() else 200)
    for t in proposal.tables:
        name = t["file"] + (f" (table {t['table']})" if t["multi"] else "")
        if t["skip"]:
            console.print(f"[bold]{escape(name)}[/]: skipped (the mapping file says so)")
            continue
        table = Table(title=escape(name), title_justify="left")
        for col in ("field", "column", "confidence", "evidence"):
            table.add_column(col)
        for f, r in t["roles"].items():
            col = r["column"] if isinstance(r["column"], str) else " + ".join(r["column"])
            table.add_row(f, escape(col), r["confidence"], escape(str(r["evidence"])))
        for u in t["unmapped_columns"]:
            maybe = f"could be {u['could_be']}" if u["could_be"] else ""
            table.add_row("(unmapped)", escape(u["column"]), maybe, u["looks_like"])
        console.print(table)
        for p in t["problems"]:
            console.print(f"[red]cannot be read:[/] {escape(p)}")
        for miss in t["missing"]:
            console.print(
                f"[yellow]Warning:[/] {escape(name)}: {miss['missing']}: {miss['consequence']}"
            )
    for name in proposal.not_probed:
        console.print(f"[yellow]not probed:[/] {escape(name)} (privguard ingest says why)")
    if out is not None:
        console.print(f"Mapping file written to {escape(str(proposal.write(out)))}; correct it "
                      "and pass it back with --mapping.")  # fmt: skip
    if proposal.unmappable:
        console.print(
            f"[red]{len(proposal.unmappable)} table(s) cannot be mapped[/]: name their "
            "columns in a mapping file (--write-mapping writes one to correct)."
        )
        raise click.exceptions.Exit(2)

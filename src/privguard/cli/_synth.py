"""`privguard synth OUT --calls N --seed S`: write a synthetic leak with ground truth."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from privguard.cli._progress import RichProgress


@click.command(name="synth")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--calls", type=int, required=True, help="Number of real calls (at least 100).")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same bytes.")
@click.option(
    "--copies", type=float, default=2.05, show_default=True, help="Mean copies of each call."
)
@click.option(
    "--corrupt-rate",
    type=float,
    default=0.002,
    show_default=True,
    help="Share of text records made unreadable (wrong field count, cut lines).",
)
@click.option(
    "--no-zone-share",
    type=float,
    default=0.4,
    show_default=True,
    help="Share of local-clock tables that state no time zone at all.",
)
@click.option(
    "--formats",
    default="",
    help="Only these table formats, comma separated, e.g. csv,parquet "
    "(csv, tsv, jsonl, parquet, xlsx, sqlite, mysql_dump, pg_dump). Default: all.",
)
@click.option(
    "--layouts",
    default="standard",
    show_default=True,
    help="Exporter family naming the columns: standard, terse, abbreviated, spanish, "
    "generic (col1..colN), split (date and time apart), sparse (fields missing).",
)
def synth(
    out: Path, calls: int, seed: int, copies: float, corrupt_rate: float, no_zone_share: float,
    formats: str, layouts: str,
) -> None:  # fmt: skip
    """Write a realistic synthetic leak of jail call records to OUT, with ground truth.

    OUT/dump holds the tables (many formats, per facility and month or quarter, about two
    copies of each call, local and UTC clocks, some corrupt rows); OUT/directory the bar
    directory and public-defender list; OUT/registry the do-not-record registry; OUT/truth
    the truth for every row, call and number; OUT/synth.json the parameters and tables.

    Example: privguard synth demo --calls 20000 --seed 1
    """
    from privguard.internals.synth.api import synth as run

    fmts = tuple(f.strip().lower() for f in formats.split(",") if f.strip()) or None
    with RichProgress() as progress:
        r = run(
            out,
            calls=calls,
            seed=seed,
            progress=progress,
            copies=copies,
            corrupt_rate=corrupt_rate,
            no_zone_share=no_zone_share,
            formats=fmts,
            layouts=layouts,
        )
    mb = r.bytes_written / 1e6
    Console().print(
        f"Wrote {r.calls:,} calls as {r.rows:,} source rows ({r.corrupt_rows:,} corrupt) in "
        f"{r.tables:,} tables, {r.files:,} files, {mb:,.1f} MB under {r.dump}\n"
        f"{r.facilities} facilities, {r.inmates:,} inmates, {r.numbers:,} numbers. "
        f"Truth: {r.out / 'truth'}; tables and zones: {r.out / 'synth.json'}\n"
        f"{r.seconds:,.1f} s, {r.rows_per_second:,.0f} rows/s, {mb / max(r.seconds, 1e-9):,.1f} MB/s"
    )

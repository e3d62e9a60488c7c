"""`privguard audit`: every stage, from a dump folder to court-ready evidence."""

from __future__ import annotations

from pathlib import Path

import click

from privguard.cli._progress import RichProgress
from privguard.errors import EXIT_INCOMPLETE

_PATH = click.Path(path_type=Path)


@click.command(name="audit")
@click.argument("dump", type=_PATH)
@click.option("--out", "out", type=_PATH, required=True, help="Folder for the evidence.")
@click.option(
    "--directory",
    "directories",
    type=_PATH,
    multiple=True,
    help="Bar or public-defender list (CSV/XLSX); repeatable.",
)
@click.option(
    "--registry",
    "registries",
    type=_PATH,
    multiple=True,
    help="Do-not-record registry (CSV/XLSX); repeatable.",
)
@click.option(
    "--labels", type=_PATH, help="A review sheet filled in by a person (from `privguard review`)."
)
@click.option("--config", type=_PATH, help="Case file (TOML): mappings, tolerances, privacy.")
@click.option(
    "--overwrite",
    is_flag=True,
    help="Write into a non-empty folder that holds no audit (only privguard's files are replaced).",
)
@click.option(
    "--engine",
    type=click.Choice(["duckdb", "spark"]),
    default="duckdb",
    show_default=True,
    help="Run dedupe, identify and findings on Apache Spark (docs/spark.md).",
)
@click.option("--spark-master", help="Spark master URL (default: spark-submit's, else local[2]).")
@click.option(
    "--spark-conf",
    "spark_conf",
    multiple=True,
    metavar="KEY=VALUE",
    help="A spark.* setting for --engine spark; repeatable (also [spark] conf in the case file).",
)
def audit(
    dump: Path,
    out: Path,
    directories: tuple[Path, ...],
    registries: tuple[Path, ...],
    labels: Path | None,
    config: Path | None,
    overwrite: bool,
    engine: str,
    spark_master: str | None,
    spark_conf: tuple[str, ...],
) -> None:
    """Audit DUMP (a folder of call-record tables in any format) and write the evidence to --out.

    Prints the headline, the path of the report and the public key that signed the
    manifest (give it to whoever must check the outputs: privguard verify --key).
    When some input file could not be read, every output is still written, the files
    are named at the end and in the report, and the exit code is 6 (audit incomplete).
    --out must be new, empty, or an earlier audit's folder (only its files are replaced).

    --engine spark runs the heavy stages on Apache Spark with the same results
    (pip install 'privguard[spark]'; a cluster: see docs/spark.md).

    \b
    Example: privguard audit leak/dump --directory bar.csv --registry dnr.csv --out case1
    """
    from privguard.internals.audit.engines.spark import SparkOptions, parse_conf_args
    from privguard.internals.audit.pipeline import audit as run_audit

    if (spark_master or spark_conf) and engine != "spark":
        raise click.UsageError("--spark-master and --spark-conf need --engine spark")
    spark = SparkOptions(spark_master, parse_conf_args(list(spark_conf)))

    with RichProgress() as progress:
        result = run_audit(
            dump,
            out,
            directories=directories,
            registries=registries,
            labels=labels,
            config=config,
            progress=progress,
            overwrite=overwrite,
            engine=engine,
            spark=spark,
        )
    s = result.summary
    click.echo(s.get("headline") or _headline(s))
    click.echo(f"Report: {result.report_html}")
    click.echo(
        f"Shareable: {result.out / 'shareable'}   Restricted (keep in the case team): "
        f"{result.out / 'restricted'}"
    )
    if result.foreign:
        click.echo(f"Left alone, not sealed: {len(result.foreign)} file(s) you put in the folder")
    click.echo(f"Manifest signed (Ed25519). Public key: {result.public_key}")
    if not directories and not registries:
        # Without a list, no number can be an attorney's: say so, never a bare "0".
        click.echo(
            "No bar directory (--directory) or do-not-record list (--registry) was given: no "
            "number could be identified as an attorney's, so every attorney figure above is 0 "
            "and only candidates from calling patterns were found. Run again with them.",
            err=True,
        )
    unread = s.get("unread_files") or []
    if unread:
        # Last, where a person looks: the figures above leave these files out.
        click.echo(
            f"INCOMPLETE: {len(unread)} file(s), {s.get('bytes_unread', 0):,} bytes, could not "
            "be read; whatever calls they hold are in no figure above (exit code "
            f"{EXIT_INCOMPLETE}):",
            err=True,
        )
        for f in unread:
            size = f"{f['bytes']:,} bytes" if isinstance(f.get("bytes"), int) else "size unknown"
            click.echo(f"  not read: {f['file']} ({size}): {f['reason']}", err=True)
        raise click.exceptions.Exit(EXIT_INCOMPLETE)


def _headline(s: dict) -> str:
    return (
        f"{s['calls']:,} calls to {s['unique_numbers']:,} numbers by {s['inmates']:,} people, "
        f"{s['first_call']} to {s['last_call']}: {s['privileged_calls_recorded']:,} recorded calls "
        f"to {s['attorney_numbers']:,} attorney numbers; {s['registry_violations']:,} registry violations."
    )

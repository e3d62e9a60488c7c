"""`privguard audit`: every stage, from a dump folder to court-ready evidence."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from privguard.cli._progress import RichProgress
from privguard.cli._warnings import gathered
from privguard.errors import EXIT_INCOMPLETE, printable

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
    "--open",
    "open_report",
    is_flag=True,
    help="Open the report in the web browser when the audit is done.",
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
    open_report: bool,
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
    from privguard.internals.audit.engines.spark_options import SparkOptions, parse_conf_args
    from privguard.internals.audit.pipeline import audit as run_audit

    if (spark_master or spark_conf) and engine != "spark":
        raise click.UsageError("--spark-master and --spark-conf need --engine spark")
    spark = SparkOptions(spark_master, parse_conf_args(list(spark_conf)))

    verbose = click.get_current_context().find_root().params.get("verbose", 0)
    with gathered(live=bool(verbose)) as warned, RichProgress() as progress:
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
    for line in summary_lines(result, lists_given=bool(directories or registries)):
        click.echo(line)
    for line in warned.lines():
        click.echo(line)
    # click.launch uses the desktop's opener; on a server it fails, and the summary above
    # still names the file.
    if open_report and click.launch(str(result.report_html)) != 0:
        click.echo(f"Could not open a browser: open {result.report_html} yourself.", err=True)
    s = result.summary
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
            # Escaped as the warnings above are: click would strip an escape sequence, and
            # the line would name (and its fix rename) a file that does not exist.
            line = f"  not read: {f['file']} ({size}): {f['reason']}"
            click.echo(printable(line), err=True)
        raise click.exceptions.Exit(EXIT_INCOMPLETE)


def summary_lines(result: Any, *, lists_given: bool = True) -> list[str]:
    """The end-of-run summary: the headline, then each output and what to open first, the
    rows set aside, the files not read, the manifest's fingerprint and where the keys are."""
    s = result.summary
    out = result.out
    letters = len(result.letters)
    rejected, junk = s.get("rows_rejected") or 0, s.get("rows_set_aside") or 0
    unread = s.get("unread_files") or []
    lines = [
        s.get("headline") or _headline(s),
        "",
        f"Open first:  {result.report_html}  (the same report for print: "
        f"{result.report_pdf or result.report_html.with_suffix('.pdf')})",
    ]
    if letters:
        lines.append(
            f"Letters:     {letters:,} letter{'s' if letters != 1 else ''} to attorneys and "
            f"offices in {result.letters[0].parent}{os.sep} (each with a CSV of all its calls)"
        )
    else:
        why = "" if lists_given else " (no attorney number could be identified without a list)"
        lines.append(f"Letters:     none: no recorded call to an attorney number{why}")
    if result.exports:
        lines.append(f"Exports:     {result.exports}{os.sep} (CSV, XLSX, Parquet, findings.db)")
    lines.append(f"Share:       {out / 'shareable'}   Keep in the case team: {out / 'restricted'}")
    lines.append(
        f"Set aside:   {rejected:,} unreadable row{'s' if rejected != 1 else ''} "
        f"(restricted/work/rejects.csv), {junk:,} row{'s' if junk != 1 else ''} that "
        f"{'are' if junk != 1 else 'is'} not a call (restricted/work/set_aside.csv)"
    )
    lines.append(
        f"Not read:    {len(unread):,} file{'s' if len(unread) != 1 else ''} (listed below)"
        if unread
        else "Not read:    none; every file given was read"
    )
    if result.foreign:
        lines.append(
            f"Left alone:  {len(result.foreign)} file(s) you put in the folder, not sealed"
        )
    manifest = result.manifest or out / "manifest.json"
    fingerprint = f", SHA-256 {result.manifest_sha256}" if result.manifest_sha256 else ""
    lines.append(f"Manifest:    {manifest}{fingerprint}")
    lines.append(
        f"Signed:      Ed25519. Public key: {result.public_key} (give it to whoever checks "
        "the outputs: privguard verify --key)"
    )
    keys = []
    if result.key_file:
        keys.append(f"case key (pseudonyms) {result.key_file}")
    if result.signing_key_file:
        keys.append(f"signing key {result.signing_key_file}")
    if keys:
        lines.append(f"Keys:        {'; '.join(keys)}: keep them with the case, never share them")
    return lines


def _headline(s: dict[str, Any]) -> str:
    return (
        f"{s['calls']:,} calls to {s['unique_numbers']:,} numbers by {s['inmates']:,} people, "
        f"{s['first_call']} to {s['last_call']}: {s['privileged_calls_recorded']:,} recorded calls "
        f"to {s['attorney_numbers']:,} attorney numbers; {s['registry_violations']:,} registry violations."
    )

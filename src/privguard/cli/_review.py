"""`privguard review`: export the candidate numbers as a sheet a person fills in."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="review")
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--to",
    "dest",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write the sheet (default: OUT/review.csv).",
)
@click.option(
    "--config",
    type=click.Path(path_type=Path),
    default=None,
    help="The case file the audit ran with: its [privacy] key_file gives the pseudonyms.",
)
def review(out: Path, dest: Path | None, config: Path | None) -> None:
    """Write the numbers whose calls look like an attorney's, for you to confirm or reject.

    Open the sheet in a spreadsheet program, write confirm or reject in the Decision
    column (and the attorney's name in Attorney name), save it as CSV and pass it to the next audit with --labels.

    Example: privguard review out --to to_review.csv
    """
    from privguard.internals.audit.identify.review import export_review

    path = export_review(out, dest, config=config)
    with path.open(encoding="utf-8") as fh:
        rows = max(sum(1 for _ in fh) - 1, 0)
    click.echo(f"Wrote {rows:,} number(s) to review to {path}")
    click.echo("Fill the 'Decision' column with confirm or reject, then run the audit again")
    click.echo(f"with --labels {path} --out {out}")

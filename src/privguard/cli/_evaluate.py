"""`privguard evaluate`: score an audit's deduplication against a synthetic leak's truth."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="evaluate")
@click.argument("audit_out", type=click.Path(path_type=Path))
@click.option(
    "--truth",
    required=True,
    type=click.Path(path_type=Path),
    help="The truth/ folder of a synthetic leak (holds rows.parquet).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the full evaluation as JSON.")
def evaluate(audit_out: Path, truth: Path, as_json: bool) -> None:
    """Compare AUDIT_OUT/calls.parquet with the true calls of a generated dump.

    Prints pairwise precision, recall and F1 (pairs of source rows that are the
    same call), the number of calls found against the true number, and the worst
    clusters: calls that merged several true calls, and true calls split apart.

    Example: privguard evaluate out --truth demo/truth
    """
    from privguard.internals.truth.dedupe import evaluate as run
    from privguard.internals.truth.dedupe import to_json

    ev = run(audit_out, truth)
    if as_json:
        click.echo(to_json(ev))
        return
    click.echo(f"Pairwise precision  {ev.precision:.6f}")
    click.echo(f"Pairwise recall     {ev.recall:.6f}")
    click.echo(f"Pairwise F1         {ev.f1:.6f}")
    click.echo(
        f"Pairs: {ev.true_positive_pairs:,} correct of {ev.predicted_pairs:,} predicted, "
        f"{ev.true_pairs:,} true"
    )
    click.echo(f"Calls found {ev.calls_out:,}; true calls {ev.true_calls:,}")
    click.echo(
        f"Rows evaluated {ev.rows_evaluated:,}; good rows no call lists {ev.rows_missing:,}; "
        f"rows unknown to the truth {ev.rows_unknown:,}; corrupt rows kept {ev.corrupt_rows_kept:,}"
    )
    for title, items, key, what in (
        (
            "Over-merged calls (one call, several true calls)",
            ev.over_merged,
            "call_id",
            "true_calls",
        ),
        ("Split true calls (one true call, several calls)", ev.split, "true_call_id", "calls"),
    ):
        click.echo(f"\n{title}: {'none' if not items else ''}")
        for item in items:
            first = item["examples"][0] if item["examples"] else {}
            click.echo(
                f"  {key} {item[key]}: {item['rows']} rows, {item[what]} {what.replace('_', ' ')}"
                f"  e.g. {first.get('file')} [{first.get('table')}] row {first.get('row')}"
            )

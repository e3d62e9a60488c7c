"""`privguard verify OUT`: check that an audit folder and its inputs are unchanged."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="verify")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
def verify(out: Path) -> None:
    """Recompute every SHA-256 in OUT/manifest.json and compare.

    Exits with code 3 and lists every changed, missing or extra file if anything
    differs from the manifest written when the audit ran; prints a short
    confirmation otherwise, with the SHA-256 of the manifest itself: write that
    fingerprint down (in a letter, a filing) so that a replaced manifest is caught too.

    Example: privguard verify case/out
    """
    from privguard.internals.audit.report.custody import verify as run_verify

    result = run_verify(out)
    click.echo(
        f"OK: {result.inputs_checked} input file(s) and {result.outputs_checked} output "
        f"file(s) match {result.manifest}.\nManifest SHA-256: {result.manifest_sha256}"
    )

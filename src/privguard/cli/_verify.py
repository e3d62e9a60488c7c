"""`privguard verify OUT`: check that an audit folder and its inputs are unchanged."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="verify")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--key",
    help="The public key given to you with the audit (64 hex digits, or a file holding it).",
)
@click.option(
    "--outputs-only", is_flag=True, help="Check a copy of the outputs alone, not the inputs."
)
@click.option(
    "--inputs",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder where the inputs are now, if they moved since the audit.",
)
def verify(out: Path, key: str | None, outputs_only: bool, inputs: Path | None) -> None:
    """Check OUT/manifest.sig, then recompute every SHA-256 in OUT/manifest.json and compare.

    Exits with code 3 and lists every changed, missing, extra or added file if anything
    differs from the manifest written when the audit ran, or if the signature does not
    match; prints a short confirmation otherwise. Without --key the signature is
    checked against the public key stored beside the outputs, which proves only that
    the files agree with each other: pin the key you were given with --key.
    OS litter (.DS_Store, Thumbs.db, ~$ lock files) is named, not called tampering.

    Example: privguard verify case/out --key 3b6a27bc...
    """
    from privguard.internals.audit.report.custody import verify as run_verify

    r = run_verify(out, key=key, outputs_only=outputs_only, inputs=inputs)
    what = "outputs only (inputs not checked)" if r.outputs_only else (
        f"{r.inputs_checked} input file(s) and"
    )  # fmt: skip
    click.echo(
        f"OK: {what} {r.outputs_checked} output file(s) match {r.manifest}."
        if not r.outputs_only
        else f"OK: {r.outputs_checked} output file(s) match {r.manifest} ({what})."
    )
    if r.key_pinned:
        click.echo(f"Signature: valid, by the key you gave ({r.public_key}).")
    else:
        click.echo(
            f"Signature: valid, by the key stored beside the outputs ({r.public_key}).\n"
            "  That key came with the files: compare it with the one you were given, "
            "or pass --key."
        )
    if r.ignored:
        click.echo(f"Ignored, not part of the audit: {', '.join(r.ignored)}")
    click.echo(f"Manifest SHA-256: {r.manifest_sha256}")

"""`privguard replay AUDIT_OUT --registry SNAPSHOT`: the audit's calls through the gate."""

from __future__ import annotations

import json
from pathlib import Path

import click

from privguard.errors import InputError


@click.command(name="replay")
@click.argument("audit_out", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--registry",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="A signed registry snapshot (with --key), or the audit's registry.parquet or a "
    "do-not-record list (CSV/XLSX) for audits made before a registry existed.",
)
@click.option(
    "--key",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The registry's public key (its vkey line): the snapshot is verified with it.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to write replay.json and replay.txt (default: AUDIT_OUT/../replay).",
)
def replay(audit_out: Path, registry: Path, key: Path | None, out: Path | None) -> None:
    """Send every call of a finished audit through the recording gate, as if it had been
    deployed then, and report how many recorded privileged calls it would have stopped and
    which it would still have let through, and why.

    Example: privguard replay case/out --registry case/out/restricted/registry.parquet
    """
    from privguard.internals.prevention.decisions.replay import replay as run_replay

    for path, what, fix in (
        (audit_out, "the audit folder", "AUDIT_OUT is the --out folder of an audit"),
        (registry, "the registry", "--registry is a signed snapshot, a do-not-record list, "
         "or the audit's restricted/registry.parquet"),
    ):  # fmt: skip
        if not path.exists():
            raise InputError(
                f"{what} does not exist", where=str(path), fix=f"check the path; {fix}"
            )
    target = out or audit_out.resolve().parent / "replay"
    result = run_replay(audit_out, registry, key)
    target.mkdir(parents=True, exist_ok=True)
    (target / "replay.json").write_text(
        json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    summary = result.summary()
    (target / "replay.txt").write_text(summary + "\n", encoding="utf-8")
    click.echo(summary)
    click.echo(f"Written: {target / 'replay.json'}, {target / 'replay.txt'}")

"""`privguard decisions ...`: the recording gate's commands for a phone platform."""

from __future__ import annotations

from pathlib import Path

import click


@click.group(name="decisions")
def decisions() -> None:
    """The recording gate at call setup, for phone platforms (see docs/phone-stack.md).

    Example: privguard decisions serve-local --snapshot main.snapshot --key vkey.txt --port 8751
    """


@decisions.command(name="serve-local")
@click.option(
    "--snapshot",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The signed registry snapshot file (re-read when it changes).",
)
@click.option("--key", required=True, help="The registry's public key (vkey), or a file of them.")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8751, show_default=True)
@click.option(
    "--token-file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="A file holding the bearer token callers must send (default: none needed).",
)
def serve_local(snapshot: Path, key: str, host: str, port: int, token_file: Path | None) -> None:
    """Serve the local fallback gate: POST /v1/decisions, decided over a signed snapshot.

    The phone proxy asks it when privguard's service cannot be reached. It recognises
    registered numbers from the snapshot, and never allows a recording (record=true needs
    the service's durable decision log): would-be record=true answers say NOT_DURABLE.

    Example: privguard decisions serve-local --snapshot main.snapshot --key "privguard/registry+1a2b3c4d+AX..." --port 8751
    """
    from privguard.internals.prevention.decisions.local import serve_local as run

    token = token_file.read_text(encoding="utf-8").strip() if token_file else None
    click.echo(f"privguard local decision fallback on http://{host}:{port}/v1/decisions")
    run(snapshot, key, host=host, port=port, token=token)

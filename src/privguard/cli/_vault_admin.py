"""`privguard vault` key, certificate, log and escrow commands (the group is in _vault.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from privguard.cli._vault import _vault_options, vault

if TYPE_CHECKING:
    from privguard.internals.prevention.vault import AccessContext, Vault


@vault.command(name="verify-certificate")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--key", required=True, help="The vault's vkey, or a file holding it.")
def verify_certificate(file: Path, key: str) -> None:
    """Check a purge certificate offline, with the vault's public key only (exit 3 if it fails).

    Example: privguard vault verify-certificate purge.txt --key vault.vkey
    """
    from privguard.internals.prevention.vault.certificate import (
        load_certificate,
        read_key,
        verify_certificate,
    )

    check = verify_certificate(load_certificate(file), read_key(key), where=str(file))
    f = check.fields
    click.echo(
        f"OK: {f['certificate_id']} signed by {check.signed_by.split('+')[0]}: "
        f"{f['media']['count']} recording(s), {f['sanitization']['method']}, "
        f"{f['date_utc']}, by {f['person']['actor']}, authority "
        f"{f['authority']['authority']!r}; verification {f['verification']['result']}"
    )
    for b in f["backups"]["must_also_be_purged"]:
        click.echo(f"  backup still to purge: {b}")  # fmt: skip


@vault.command(name="key")
@_vault_options
def key(vault: Vault, ctx: AccessContext) -> None:
    """Print the vkey that checks purge certificates and production manifests.

    Example: privguard vault key --data-dir d > vault.vkey
    """
    click.echo(str(vault.signer.verifier()))


@vault.command(name="verify-log")
@_vault_options
def verify_log(vault: Vault, ctx: AccessContext) -> None:
    """Check the access log: every entry, its order and every signed checkpoint (exit 3 if not).

    Example: privguard vault verify-log --data-dir d
    """
    from privguard.errors import IntegrityError
    from privguard.internals.prevention.db import transaction
    from privguard.internals.prevention.vault.access import ACCESS_ORIGIN
    from privguard.internals.prevention.vault.anomalies import view_problems

    with transaction(vault.factory) as session:
        vault.ledger.checkpoint(session)
        report = vault.ledger.verify(session, vault.signer.for_name(ACCESS_ORIGIN).verifiers())
        problems = report.problems + view_problems(vault, session)
    if problems:
        raise IntegrityError(
            "the access log does not verify",
            problems=problems,
            fix="keep the database as it is and report it: it was altered",
        )
    click.echo(
        f"OK: the access log's {report.size:,} entries and checkpoints verify, "
        "and the vault's access table matches them"
    )


def _keys(vault: Vault) -> Path:
    return vault.blobs.root.parent.parent / "keys"


@vault.command(name="escrow-move")
@click.option(
    "--to",
    "target",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Where to put the escrow private key (removable media; must not exist).",
)
@_vault_options
def escrow_move(vault: Vault, ctx: AccessContext, target: Path) -> None:
    """Move the escrow private key off this machine: then no quarantined recording opens here.

    Example: privguard vault escrow-move --to /media/usb/vault-escrow.key --data-dir d
    """
    from privguard.internals.prevention.vault.keys import move_secret

    move_secret(_keys(vault) / "vault-escrow.key", target)
    click.echo(f"moved to {target}; keep it offline and safe: releasing a recording needs it")


@vault.command(name="release")
@click.argument("recording_id")
@click.option(
    "--escrow-key",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    help="The escrow private key file (kept offline).",
)
@_vault_options
def release(vault: Vault, ctx: AccessContext, recording_id: str, escrow_key: Path) -> None:
    """Bring back a recording quarantined by mistake (refused while it is still privileged).

    Example: privguard vault release rec_0a1b --escrow-key /media/usb/vault-escrow.key --role admin --case ORD-2 --reason "number registered in error" --data-dir d
    """
    from privguard.internals.prevention.vault import Escrow
    from privguard.internals.prevention.vault.protect import release as run

    run(vault, ctx, recording_id, Escrow.load(_keys(vault) / "vault-escrow.pub", escrow_key))
    click.echo(f"{recording_id} released")

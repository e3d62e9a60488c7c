"""Helpers of the vault tests: a vault on a test database, decisions and registrations."""

from __future__ import annotations

import datetime as dt
import functools
import os
from pathlib import Path

from sqlalchemy import Engine

from privguard.internals.common.keys import hmac_hex
from privguard.internals.prevention import db
from privguard.internals.prevention.decisions.decide import new_decision_id
from privguard.internals.prevention.decisions.models import DecisionRow
from privguard.internals.prevention.ledger import Ledger, Signer
from privguard.internals.prevention.registry.models import Attorney, PrivilegedNumber
from privguard.internals.prevention.vault import AccessContext, Escrow, FileKeyWrapper, Vault
from privguard.internals.prevention.vault.access import ACCESS_LOG, ACCESS_ORIGIN
from privguard.internals.prevention.vault.blobs import BlobStore
from privguard.internals.prevention.vault.lookup import DecisionTable
from privguard.internals.prevention.vault.vault import CERT_ORIGIN

T0 = dt.datetime(2024, 3, 4, 15, 0, tzinfo=dt.UTC)
FACILITY = "TRAVIS"
DECISIONS_KEY = b"k" * 32
STORE = AccessContext("facility_system:gate", "facility_system", source="10.0.0.9")
INVESTIGATOR = AccessContext(
    "investigator:ivan", "investigator", "CR-2024-0042", "witness tampering inquiry", "10.0.0.5"
)
OFFICER = AccessContext(
    "records_officer:rosa", "records_officer", "SUBP-2024-7", "subpoena duces tecum 7", "10.0.0.6"
)
ADMIN = AccessContext("admin:ada", "admin", "ORDER-2024-1", "court order to purge 2024-1", "cli")


@functools.cache
def escrow_pair() -> tuple[bytes, bytes]:
    """One escrow key pair for the whole run (RSA generation is slow)."""
    return Escrow.generate()


def make_vault(engine: Engine, root: Path, **kw: object) -> Vault:
    """A vault on ``engine`` with keys and blobs under ``root``; the escrow private key is
    NOT on disk (as in production, where it is kept offline)."""
    signer = Signer.load_or_create(root / "keys" / "signing.key", name=ACCESS_ORIGIN)
    return Vault(
        db.sessions(engine),
        Ledger(log=ACCESS_LOG, signer=signer),
        FileKeyWrapper(root / "keys" / "vault.kek"),
        BlobStore(root / "blobs"),
        Escrow(escrow_pair()[0]),
        signer.for_name(CERT_ORIGIN),
        os.urandom(32),
        decisions=DecisionTable(DECISIONS_KEY),
        **kw,  # type: ignore[arg-type]
    )


def decide(
    vault: Vault,
    number: str,
    *,
    record: bool = True,
    facility: str = FACILITY,
    at: dt.datetime = T0,
) -> str:
    """A committed decision row (as the decision log writes it); returns its id."""
    did = new_decision_id()
    with db.transaction(vault.factory) as s:
        s.add(
            DecisionRow(
                decision_id=did, at=at, facility=facility,
                number_hmac=hmac_hex(getattr(vault.decisions, "key", None) or DECISIONS_KEY, "number:" + number), account_hmac="",
                record=record, reason="NOT_REGISTERED" if record else "REGISTERED",
                private_call_declared=False, entry_ref="", checkpoint_size=None,
                checkpoint_root="", supersedes="", ledger_index=None,
            )
        )  # fmt: skip
    return did


def store(
    vault: Vault,
    number: str,
    data: bytes = b"audio" * 100,
    *,
    inmate: str = "A100",
    at: dt.datetime = T0,
    ref: str = "",
) -> str:
    """Decide record=true for ``number`` and store a recording of it; returns its id."""
    did = decide(vault, number, at=at)
    return vault.store(
        STORE, did, data, facility=FACILITY, inmate_account=inmate, dialed_number=number,
        started_at=at, recording_ref=ref,
    ).id  # fmt: skip


def register(
    vault: Vault,
    number: str,
    start: dt.date,
    end: dt.date | None = None,
    facilities: str = "*",
) -> None:
    """A registry row (directly: the vault reads the registry's tables)."""
    with db.transaction(vault.factory) as s:
        att = Attorney(kind="attorney", name="Counsel")
        s.add(att)
        s.flush()
        s.add(
            PrivilegedNumber(
                number=number, extension="", attorney_id=att.id, facilities=facilities,
                effective_from=start, effective_to=end, source="staff_entry",
                status="active" if end is None else "ended",
            )
        )  # fmt: skip

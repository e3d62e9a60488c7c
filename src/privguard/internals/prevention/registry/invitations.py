"""From an audit to the registry: unprotected attorney numbers become invitations to register.

An audit's ``numbers.parquet`` classifies every called number. Those listed in a bar or
public-defender directory (``directory_attorney``) and the candidates a reviewer confirmed
(``confirmed``) were called without being on the do-not-record list the audit was given.
Each one not already protected here, and not already invited, is queued with its evidence
for a registrar to send. Nothing is ever registered by this module: only the attorney (or
a registrar who verified it) can do that, through the workflow.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from privguard.errors import InputError
from privguard.internals.common.layout import audit_file
from privguard.internals.common.phones import to_e164
from privguard.internals.prevention.ledger import Ledger
from privguard.internals.prevention.registry.journal import record
from privguard.internals.prevention.registry.models import Invitation, PrivilegedNumber

log = logging.getLogger(__name__)
INVITED_CLASSES = ("directory_attorney", "confirmed")
_NEEDED = ("number", "classification")


@dataclass(frozen=True)
class InvitationView:
    """One queued invitation, as a registrar sends it."""

    id: int
    number: str
    attorney_name: str
    classification: str
    evidence: str
    state: str


@dataclass(frozen=True)
class AuditImport:
    """What ``import-audit`` found and queued."""

    file: str
    rows: int  # numbers in the audit
    eligible: int  # attorney numbers and confirmed candidates
    queued: tuple[InvitationView, ...]
    already_registered: int
    already_invited: int


def _read(out: Path) -> tuple[Path, list[dict[str, object]]]:
    found = audit_file(out, "numbers")
    if found is None:
        raise InputError(
            "no numbers.parquet here: this is not an audit output folder",
            where=str(out),
            fix="give the OUT folder of 'privguard audit ... --out OUT'",
        )
    path = found
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(
            f"not a readable Parquet file ({exc})",
            where=str(path),
            fix="re-run the audit to write it again",
        ) from None
    missing = [c for c in _NEEDED if c not in schema.names]
    if missing:
        raise InputError(
            f"numbers.parquet lacks the column(s) {', '.join(missing)}",
            where=str(path),
            fix="re-run the audit with this privguard version",
        )
    wanted = [
        c
        for c in ("number", "classification", "attorney_name", "evidence", "review_decision")
        if c in schema.names
    ]
    table = pq.read_table(
        path, columns=wanted, filters=[("classification", "in", list(INVITED_CLASSES))]
    )
    return path, table.to_pylist()


def import_audit(
    session: Session,
    ledger: Ledger,
    out: Path,
    *,
    actor: str,
    at: dt.datetime | None = None,
) -> AuditImport:
    """Queue an invitation for every unprotected attorney number of an audit (see module)."""
    path, rows = _read(Path(out))
    total = pq.ParquetFile(path).metadata.num_rows
    registered = set(
        session.scalars(select(PrivilegedNumber.number).where(PrivilegedNumber.status == "active"))
    )
    invited = set(
        session.scalars(select(Invitation.number).where(Invitation.state.in_(("queued", "sent"))))
    )
    queued: list[InvitationView] = []
    n_registered = n_invited = 0
    for r in rows:
        number = to_e164(str(r["number"])).e164 if r.get("number") else None
        if number is None:
            continue
        if number in registered:
            n_registered += 1
            continue
        if number in invited:
            n_invited += 1
            continue
        inv = Invitation(
            number=number,
            attorney_name=str(r.get("attorney_name") or ""),
            classification=str(r["classification"]),
            evidence=str(r.get("evidence") or ""),
            source_file=str(path),
            state="queued",
        )
        session.add(inv)
        record(
            session,
            ledger,
            "invitation",
            inv,
            actor=actor,
            action="invitation.queued",
            reason=f"{r['classification']} in {path}, not registered",
            at=at,
        )
        invited.add(number)
        queued.append(_view(inv))
    log.info(
        "import-audit %s: %d queued, %d already registered, %d already invited",
        path,
        len(queued),
        n_registered,
        n_invited,
    )
    return AuditImport(str(path), total, len(rows), tuple(queued), n_registered, n_invited)


def invitations(session: Session, state: str | None = "queued") -> list[InvitationView]:
    """Invitations in ``state`` (all if None), oldest first."""
    query = select(Invitation).order_by(Invitation.id)
    if state:
        query = query.where(Invitation.state == state)
    return [_view(i) for i in session.scalars(query)]


def mark_sent(
    session: Session,
    ledger: Ledger,
    invitation_id: int,
    *,
    actor: str,
    at: dt.datetime | None = None,
) -> InvitationView:
    """A registrar sent the invitation (by letter, email...): recorded, still not registered."""
    inv = session.get(Invitation, invitation_id)
    if inv is None or inv.state != "queued":
        raise InputError(f"there is no queued invitation {invitation_id}")
    inv.state = "sent"
    record(
        session,
        ledger,
        "invitation",
        inv,
        actor=actor,
        action="invitation.sent",
        reason="invitation to register sent",
        at=at,
    )
    return _view(inv)


def _view(inv: Invitation) -> InvitationView:
    return InvitationView(
        inv.id, inv.number, inv.attorney_name, inv.classification, inv.evidence, inv.state
    )

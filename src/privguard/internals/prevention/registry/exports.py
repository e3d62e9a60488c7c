"""Issuing snapshots from the registry, and keeping the ones imported from elsewhere.

``make_snapshot`` signs the log's head, lists the facility's active set on the effective
date (by default the Monday after issue: Maine's rule), and carries a consistency proof
from the previous snapshot issued to that facility. ``import_snapshot`` runs the pure
:func:`~.snapshots.read_snapshot` against the last snapshot kept here and keeps the new
one only once every check passed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from privguard.errors import InputError
from privguard.internals.prevention.ledger import Ledger, Signer, Verifier
from privguard.internals.prevention.registry.models import ALL_FACILITIES, Export, Imported
from privguard.internals.prevention.registry.models import PrivilegedNumber as N
from privguard.internals.prevention.registry.snapshots import (
    Seen,
    Snapshot,
    SnapshotEntry,
    _Problems,
    _split_note,
    parse_body,
    read_snapshot,
    sign_snapshot,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Issued:
    """A snapshot made: its signed text and what it holds."""

    text: str
    snapshot: Snapshot


@dataclass(frozen=True)
class ImportResult:
    """A snapshot accepted: what it replaced."""

    snapshot: Snapshot
    previous_size: int | None  # the log size of the snapshot it replaced, None if first


def next_monday(day: dt.date) -> dt.date:
    """The Monday after ``day`` (a Monday gives the one a week later)."""
    return day + dt.timedelta(days=7 - day.weekday())


def active_set(session: Session, facility: str, on: dt.date) -> list[SnapshotEntry]:
    """Numbers protected at ``facility`` on ``on``: in effect then, scope all or listing it."""
    code = facility.strip().upper()
    rows = session.execute(
        select(N.number, N.extension, N.effective_from, N.effective_to, N.id, N.facilities)
        .where(N.effective_from <= on, or_(N.effective_to.is_(None), N.effective_to > on))
        .order_by(N.number, N.extension, N.id)
    )
    out: list[SnapshotEntry] = []
    for number, ext, start, end, ident, facilities in rows:
        if facilities != ALL_FACILITIES and code not in facilities.split(","):
            continue
        if out and (out[-1].number, out[-1].extension) == (number, ext):
            continue  # an ended row and its successor overlapping on one day: keep one
        out.append(SnapshotEntry(number, ext, start, end, ident))
    return out


def make_snapshot(
    session: Session,
    ledger: Ledger,
    signer: Signer,
    facility: str,
    *,
    vendor: str = "",
    effective: dt.date | None = None,
    valid_days: int = 14,
    since_size: int | None = None,
    now: dt.datetime | None = None,
) -> Issued:
    """Sign and record a snapshot of ``facility``'s active set (see module doc)."""
    code = facility.strip().upper()
    if not code or " " in code:
        raise InputError(f"{facility!r} is not a facility code", fix="--facility MAIN-JAIL")
    issued = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    effective = effective or next_monday(issued.date())
    checkpoint = ledger.checkpoint(session)
    prev_size, prev_root = 0, None
    last = session.scalar(
        select(Export)
        .where(Export.facility == code, Export.vendor == vendor)
        .order_by(Export.id.desc())
        .limit(1)
    )
    if since_size is not None:
        prev_size = since_size
    elif last is not None:
        prev_size, prev_root = last.tree_size, bytes.fromhex(last.root)
    if prev_size > checkpoint.size:
        raise InputError(f"--since {prev_size} is beyond the log's size {checkpoint.size}")
    proof: list[bytes] = []
    if 0 < prev_size < checkpoint.size:
        proof = ledger.consistency_proof(session, prev_size, checkpoint.size)
    if prev_size and prev_root is None:
        prev_root = _root_at(session, ledger, prev_size)
    snap = Snapshot(
        origin=_origin(signer),
        facility=code,
        vendor=vendor,
        issued=issued,
        effective=effective,
        not_after=issued + dt.timedelta(days=valid_days),
        tree_size=checkpoint.size,
        root=checkpoint.root,
        previous_size=prev_size,
        previous_root=prev_root,
        proof=tuple(proof),
        entries=tuple(active_set(session, code, effective)),
        sha256="",
        verified=True,
    )
    text = sign_snapshot(snap, signer)
    digest = hashlib.sha256(text.encode()).hexdigest()
    session.add(
        Export(
            facility=code,
            vendor=vendor,
            issued=issued,
            effective=effective,
            tree_size=snap.tree_size,
            root=snap.root.hex(),
            count=len(snap.entries),
            sha256=digest,
        )
    )
    log.info("snapshot %s: %d numbers, log size %d", code, len(snap.entries), snap.tree_size)
    return Issued(text, snap)


def _origin(signer: Signer) -> str:
    return signer.name


def _root_at(session: Session, ledger: Ledger, size: int) -> bytes:
    from privguard.internals.prevention.ledger.merkle import root

    return root(e.leaf_hash for e in ledger.entries(session, 0, size))


def last_seen(session: Session, origin: str, facility: str, vendor: str) -> Seen | None:
    """The rollback floor kept for (origin, facility, vendor), if a snapshot was accepted."""
    row = session.scalar(
        select(Imported).where(
            Imported.origin == origin, Imported.facility == facility, Imported.vendor == vendor
        )
    )
    if row is None:
        return None
    issued = row.issued if row.issued.tzinfo else row.issued.replace(tzinfo=dt.UTC)
    return Seen(origin, facility, vendor, issued, row.tree_size, bytes.fromhex(row.root))


def import_snapshot(
    session: Session,
    data: bytes,
    trusted: Verifier | Sequence[Verifier],
    *,
    where: str = "snapshot",
    now: dt.datetime | None = None,
) -> ImportResult:
    """Verify a snapshot against the last one kept here, then (only then) keep it."""
    p = _Problems()
    head = parse_body(_split_note(data.decode("utf-8", errors="replace")), p)
    seen = None
    if head:
        seen = last_seen(session, str(head["origin"]), str(head["facility"]), str(head["vendor"]))
    snap = read_snapshot(data, trusted, seen, now=now, where=where)
    row = session.scalar(
        select(Imported).where(
            Imported.origin == snap.origin,
            Imported.facility == snap.facility,
            Imported.vendor == snap.vendor,
        )
    )
    if row is None:
        row = Imported(origin=snap.origin, facility=snap.facility, vendor=snap.vendor)
        session.add(row)
    row.issued, row.effective = snap.issued, snap.effective
    row.tree_size, row.root = snap.tree_size, snap.root.hex()
    row.count, row.sha256, row.text = len(snap.entries), snap.sha256, data.decode("utf-8")
    return ImportResult(snap, seen.tree_size if seen else None)

"""The registry's front door: a :class:`Registry` (sessions, ledger, signer, settings) and
one function per registrar command, each opening its own transaction.

The CLI (``privguard registry ...``) and the service call these; the finer functions in
:mod:`.workflow`, :mod:`.feeds`, :mod:`.exports`, :mod:`.diff`, :mod:`.replay` and
:mod:`.invitations` take a session for callers that own their transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from privguard.errors import InputError
from privguard.internals.prevention import db
from privguard.internals.prevention.ledger import Ledger, Signer, Verifier
from privguard.internals.prevention.registry import diff as D
from privguard.internals.prevention.registry.exports import (
    ImportResult,
    Issued,
    active_set,
    import_snapshot,
    make_snapshot,
)
from privguard.internals.prevention.registry.feeds import FeedResult, import_feed
from privguard.internals.prevention.registry.history import receipts
from privguard.internals.prevention.registry.invitations import AuditImport, import_audit
from privguard.internals.prevention.registry.models import Attorney, PrivilegedNumber
from privguard.internals.prevention.registry.receipts import (
    ReceiptReport,
    check_receipts,
    load_verifiers,
)
from privguard.internals.prevention.registry.replay import RegistryReport, verify_registry
from privguard.internals.prevention.registry.snapshots import parse_snapshot
from privguard.internals.prevention.registry.workflow import end_number
from privguard.internals.prevention.settings import ServiceSettings

log = logging.getLogger(__name__)
LOG = "registry"
ORIGIN = "privguard/registry"  # the key name of the registry log (C2SP origin)
REGISTRY = "registry"  # the word that names the registry itself as a side of a diff
_LISTED = 10  # ids an error lists for the person to choose from


@dataclass(frozen=True)
class Registry:
    """What every registry call needs: a session factory, the ledger, its signer, settings."""

    factory: sessionmaker[Session]
    ledger: Ledger
    signer: Signer
    settings: ServiceSettings

    @classmethod
    def open(cls, settings: ServiceSettings, *, migrate: bool = True) -> Registry:
        """Connect to the settings' database (migrating it) and load or create the key."""
        engine = db.make_engine(settings.url)
        if migrate:
            db.upgrade(engine)
        signer = Signer.load_or_create(settings.key_file, name=ORIGIN)
        return cls(db.sessions(engine), Ledger(log=LOG, signer=signer), signer, settings)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work, committed on success."""
        with db.transaction(self.factory) as session:
            yield session

    def verifiers(self) -> list[Verifier]:
        """The registry's public keys, current first, then retired ones."""
        return self.signer.verifiers()


def _actor(actor: str | None) -> str:
    return actor or "registrar:cli"


def feed(
    reg: Registry,
    path: Path,
    *,
    source: str,
    feed_name: str | None = None,
    bar_state: str = "",
    actor: str | None = None,
) -> FeedResult:
    """Import a bar or public-defender list (idempotent; see :mod:`.feeds`)."""
    with reg.transaction() as s:
        return import_feed(
            s,
            reg.ledger,
            path,
            source=source,
            feed=feed_name,
            bar_state=bar_state,
            actor=_actor(actor),
        )


def snapshot(
    reg: Registry,
    facility: str,
    out: Path,
    *,
    vendor: str = "",
    effective: dt.date | None = None,
    valid_days: int = 14,
    since_size: int | None = None,
    force: bool = False,
) -> Issued:
    """Write a signed snapshot of ``facility``'s active set to ``out`` (never overwriting)."""
    out = Path(out)
    if out.exists() and not force:
        raise InputError(
            "the file already exists; privguard does not overwrite it",
            where=str(out),
            fix="choose another --out, or pass --force",
        )
    with reg.transaction() as s:
        issued = make_snapshot(
            s,
            reg.ledger,
            reg.signer,
            facility,
            vendor=vendor,
            effective=effective,
            valid_days=valid_days,
            since_size=since_size,
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(issued.text, encoding="utf-8")
    return issued


def import_snapshot_file(
    reg: Registry, path: Path, key: str | None = None, now: dt.datetime | None = None
) -> ImportResult:
    """Verify a snapshot file (signature, proofs, freshness, rollback), then keep it."""
    data = _read(path)
    keys = load_verifiers(key) if key else reg.verifiers()
    with reg.transaction() as s:
        return import_snapshot(s, data, keys, where=str(path), now=now)


def verify(reg: Registry) -> RegistryReport:
    """The ledger is intact and the registry tables equal what it replays to."""
    with reg.transaction() as s:
        return verify_registry(s, reg.ledger, reg.signer.verifier())


def audit_invitations(reg: Registry, out: Path, actor: str | None = None) -> AuditImport:
    """Queue invitations for an audit's unregistered attorney numbers (never registers)."""
    with reg.transaction() as s:
        return import_audit(s, reg.ledger, out, actor=_actor(actor))


def end(
    reg: Registry,
    number_id: int,
    *,
    reason: str,
    actor: str | None = None,
    effective_to: dt.date | None = None,
) -> str:
    """End a registration (it stays in the log with its dates); returns the receipt."""
    with reg.transaction() as s:
        row = s.get(PrivilegedNumber, number_id)
        if row is None or row.status != "active":
            rows = s.scalars(
                select(PrivilegedNumber)
                .where(PrivilegedNumber.status == "active")
                .order_by(PrivilegedNumber.id)
                .limit(_LISTED + 1)
            ).all()
            listed = ", ".join(f"{r.id} ({r.number})" for r in rows[:_LISTED])
            raise InputError(
                f"there is no active registration {number_id}",
                where=f"registration {number_id}",
                fix=f"give the id of an active registration: {listed}"
                + (
                    " ... (the receipts name the others: 'registration N')"
                    if len(rows) > _LISTED
                    else ""
                )
                if rows
                else "none is active, so there is nothing to end",
            )
        return end_number(
            s, reg.ledger, number_id, actor=_actor(actor), reason=reason, effective_to=effective_to
        )


def write_receipts(reg: Registry, attorney_id: int, folder: Path) -> list[Path]:
    """Write every receipt of an attorney's numbers to ``folder`` (existing files kept)."""
    folder = Path(folder)
    with reg.transaction() as s:
        indexed = receipts(s, reg.ledger, attorney_id)
        rows = s.execute(
            select(Attorney.id, Attorney.name)
            .where(Attorney.id.in_(select(PrivilegedNumber.attorney_id)))
            .order_by(Attorney.id)
            .limit(_LISTED + 1)
        ).all()
    if not indexed:
        listed = ", ".join(f"{i} ({name})" for i, name in rows[:_LISTED])
        more = " ..." if len(rows) > _LISTED else ""
        raise InputError(
            f"attorney {attorney_id} has no registered numbers",
            where=f"attorney {attorney_id}",
            fix=f"give the id of an attorney with registered numbers: {listed}{more}"
            if rows
            else "no attorney has a registered number yet",
        )
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for index, text in indexed:
        path = folder / f"receipt-{index}.txt"
        if not path.exists():
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def verify_receipts(paths: Sequence[Path], key: str) -> ReceiptReport:
    """Check receipt files offline against ``key`` (no database, no settings)."""
    texts = [(Path(p).name, _read(p).decode("utf-8", errors="replace")) for p in paths]
    return check_receipts(texts, load_verifiers(key))


def diff(
    reg: Registry | None, a: str, b: str, *, facility: str | None = None, on: dt.date | None = None
) -> D.Diff:
    """Compare two sides: ``registry``, a snapshot file, or a facility's CSV/XLSX list.

    Snapshots are compared as read, signature unchecked (``import-snapshot`` checks it), so
    that a snapshot someone altered is still compared and the diff names the entry.
    """
    day = on or dt.datetime.now(dt.UTC).date()
    sides = [_side(reg, x, facility, day) for x in (a, b)]
    return D.compare(sides[0], sides[1])


def _side(reg: Registry | None, value: str, facility: str | None, day: dt.date) -> D.NumberSet:
    if value == REGISTRY:
        if reg is None or not facility:
            raise InputError(
                "comparing against the registry needs --facility",
                fix="privguard registry diff registry list.csv --facility MAIN-JAIL",
            )
        with reg.transaction() as s:
            return D.from_entries(
                f"registry, {facility.upper()} on {day}", active_set(s, facility, day)
            )
    path = Path(value)
    data = _read(path)
    if data.startswith(b"privguard registry snapshot v1\n"):
        snap, problems = parse_snapshot(data, where=str(path))
        label = f"{path.name} (snapshot of {snap.facility}, issued {snap.issued:%Y-%m-%d})"
        if problems:
            label += " MALFORMED: " + "; ".join(problems)
        return D.from_snapshot(label, snap)
    return D.from_facility_list(path, facility, day)


def _read(path: Path) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", where=str(path), fix="check the path")
    return path.read_bytes()

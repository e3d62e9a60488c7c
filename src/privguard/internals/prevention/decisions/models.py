"""The decisions part's tables (SQLAlchemy 2 on ``db.Base``; Alembic branch ``decisions``).

``decisions`` is the queryable view of every decision (counts for compliance reports);
the same transaction appends each one to the ledger's ``decisions`` log when a ledger is
configured, and ``ledger_index`` points at it. Numbers and accounts are HMAC-SHA256 under
the service key, never in clear. ``decision_candidates`` is the registrar's queue of
numbers called as declared private calls without being registered: the registrar needs the
number itself to reach its owner, so it is kept in clear there.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from privguard.internals.prevention.db import Base


class DecisionRow(Base):
    """One decision as logged."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    decision_id: Mapped[str] = mapped_column(String(40), unique=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    facility: Mapped[str] = mapped_column(String(100))
    number_hmac: Mapped[str] = mapped_column(String(64), default="")
    account_hmac: Mapped[str] = mapped_column(String(64), default="")
    record: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(40))
    private_call_declared: Mapped[bool] = mapped_column(Boolean, default=False)
    entry_ref: Mapped[str] = mapped_column(Text, default="")
    checkpoint_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    checkpoint_root: Mapped[str] = mapped_column(String(64), default="")
    supersedes: Mapped[str] = mapped_column(String(40), default="")
    call_id: Mapped[str] = mapped_column(String(200), default="", server_default="")
    ledger_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    __table_args__ = (Index("ix_decisions_at", "at"), Index("ix_decisions_facility", "facility"))


class Candidate(Base):
    """A number called as a declared private call while not registered: for the registrar."""

    __tablename__ = "decision_candidates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # E.164
    first_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    declarations: Mapped[int] = mapped_column(Integer, default=1)
    facilities: Mapped[str] = mapped_column(Text, default="")  # sorted, comma-joined
    evidence: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of decision ids
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued | invited | closed


def queue_candidate(
    session: Session, number: str, facility: str, at: dt.datetime, decision_id: str
) -> None:
    """Queue a declared private call's unregistered number for the registrar (the
    declaration's decision id as evidence), or count one more declaration of it."""
    found = session.scalars(select(Candidate).where(Candidate.number == number)).first()
    if found is None:
        session.add(
            Candidate(
                number=number,
                first_at=at,
                last_at=at,
                declarations=1,
                facilities=facility,
                evidence=json.dumps([decision_id]),
            )
        )
        session.flush()
        return
    found.declarations += 1
    found.last_at = max(found.last_at.replace(tzinfo=found.last_at.tzinfo or dt.UTC), at)
    found.facilities = ",".join(sorted(set(found.facilities.split(",")) | {facility}))
    evidence = json.loads(found.evidence)
    found.evidence = json.dumps((evidence + [decision_id])[-100:])  # the latest 100

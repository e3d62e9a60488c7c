"""What an attorney sees: every state change of their requests and numbers, and receipts.

Each item is a ledger entry of the ``registry`` log (who, what, when, why). A receipt is
the entry's C2SP ``tlog-proof@v1``, made once and kept in ``registry_events``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from privguard.errors import InputError
from privguard.internals.prevention.ledger import Ledger
from privguard.internals.prevention.registry.models import Event


@dataclass(frozen=True)
class HistoryItem:
    """One state change the attorney can see: who did what, when and why."""

    index: int
    at: dt.datetime
    actor: str
    action: str
    reason: str
    request_id: int | None
    number_id: int | None


def history(session: Session, attorney_id: int) -> list[HistoryItem]:
    """Every state change of an attorney's requests and numbers, oldest first."""
    events = session.scalars(
        select(Event).where(Event.attorney_id == attorney_id).order_by(Event.ledger_index)
    )
    return [
        HistoryItem(e.ledger_index, e.at, e.actor, e.action, e.reason, e.request_id, e.number_id)
        for e in events
    ]


def receipt(session: Session, ledger: Ledger, index: int) -> str:
    """The receipt (tlog-proof@v1) of ledger entry ``index``, made once and kept."""
    event = session.get(Event, index)
    if event is None:
        raise InputError(f"the registry log has no entry {index}")
    if event.receipt is None:
        event.receipt = ledger.receipt(session, index)
    return event.receipt


def receipts(session: Session, ledger: Ledger, attorney_id: int) -> list[str]:
    """Receipts of every change to an attorney's numbers (made now for feed imports)."""
    rows = session.scalars(
        select(Event.ledger_index)
        .where(Event.attorney_id == attorney_id, Event.number_id.is_not(None))
        .order_by(Event.ledger_index)
    )
    return [receipt(session, ledger, i) for i in list(rows)]

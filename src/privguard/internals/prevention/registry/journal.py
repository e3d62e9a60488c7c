"""Every row change goes through here: ledger entry first, then the row, then its event.

A ledger payload holds ``kind`` (attorney, number, request, invitation) and the row's
whole new state (``row``), so the tables can be replayed from the ledger alone
(:mod:`.replay`). The ``registry_events`` row is the attorney's view of that entry.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy.orm import Session

from privguard.internals.prevention.ledger import Appended, Ledger
from privguard.internals.prevention.registry.models import (
    Attorney,
    Event,
    Invitation,
    PrivilegedNumber,
    Request,
)

KINDS: dict[str, type[Any]] = {
    "attorney": Attorney,
    "number": PrivilegedNumber,
    "request": Request,
    "invitation": Invitation,
}
# The columns a ledger entry carries, per kind, in table order.
COLUMNS: dict[str, tuple[str, ...]] = {
    kind: tuple(c.name for c in model.__table__.columns) for kind, model in KINDS.items()
}
EVENT_COLUMNS = ("at", "actor", "action", "reason", "attorney_id", "request_id", "number_id")


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 kept (what evidence columns hold)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def plain(value: Any) -> Any:
    """A column value as it appears in a ledger payload (dates as ISO text)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def row_state(kind: str, obj: Any) -> dict[str, Any]:
    """The whole state of one row, as the ledger keeps it."""
    return {name: plain(getattr(obj, name)) for name in COLUMNS[kind]}


def today(at: dt.datetime | None) -> dt.date:
    """The UTC date of ``at`` (now if None)."""
    return (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date()


def record(
    session: Session,
    ledger: Ledger,
    kind: str,
    obj: Any,
    *,
    actor: str,
    action: str,
    reason: str,
    at: dt.datetime | None = None,
) -> Appended:
    """Append ``obj``'s new state to the ledger and add the matching event row.

    ``obj`` must already be added (it is flushed here so that it has its id).
    """
    session.flush()
    state = row_state(kind, obj)
    appended = ledger.append(
        session,
        actor=actor,
        action=action,
        reason=reason,
        payload={"kind": kind, "row": state},
        at=at,
    )
    session.add(
        Event(
            ledger_index=appended.index,
            at=appended.entry.at,
            actor=actor,
            action=action,
            reason=reason,
            **event_ids(kind, state),
        )
    )
    return appended


def event_ids(kind: str, row: dict[str, Any]) -> dict[str, int | None]:
    """Which attorney, request, number and invitation an entry of ``kind`` concerns."""
    ids: dict[str, int | None] = {
        "attorney_id": None,
        "request_id": None,
        "number_id": None,
        "invitation_id": None,
    }
    if kind == "attorney":
        ids["attorney_id"] = row["id"]
    elif kind == "request":
        ids["attorney_id"], ids["request_id"] = row["attorney_id"], row["id"]
    elif kind == "number":
        ids["attorney_id"], ids["number_id"] = row["attorney_id"], row["id"]
        ids["request_id"] = row["request_id"]
    elif kind == "invitation":
        ids["invitation_id"] = row["id"]
    return ids

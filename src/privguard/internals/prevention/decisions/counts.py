"""What the decision log holds, read back for compliance reports and the registrar.

:func:`counts` counts decisions by facility, outcome and reason; :func:`candidates` is the
registrar's queue of numbers declared private while not registered (:mod:`.log` writes
both).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from privguard.internals.prevention.decisions.models import Candidate, DecisionRow


def counts(
    session: Session,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    facility: str | None = None,
) -> list[dict[str, Any]]:
    """Decisions counted by facility, outcome and reason in [since, until): for reports."""
    q = select(DecisionRow.facility, DecisionRow.record, DecisionRow.reason, func.count())
    if since is not None:
        q = q.where(DecisionRow.at >= since)
    if until is not None:
        q = q.where(DecisionRow.at < until)
    if facility is not None:
        q = q.where(DecisionRow.facility == facility)
    q = q.group_by(DecisionRow.facility, DecisionRow.record, DecisionRow.reason).order_by(
        DecisionRow.facility, DecisionRow.record, DecisionRow.reason
    )
    return [
        {"facility": f, "record": bool(r), "reason": why, "decisions": int(n)}
        for f, r, why, n in session.execute(q)
    ]


def candidates(session: Session) -> list[dict[str, Any]]:
    """The registrar's queue: numbers declared private while not registered, newest first."""
    rows = session.scalars(select(Candidate).order_by(Candidate.last_at.desc()))
    return [
        {
            "number": c.number,
            "declarations": c.declarations,
            "facilities": c.facilities,
            "first_at": c.first_at,
            "last_at": c.last_at,
            "evidence": json.loads(c.evidence),
            "state": c.state,
        }
        for c in rows
    ]

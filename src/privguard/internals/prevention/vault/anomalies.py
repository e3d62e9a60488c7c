"""The access anomaly report for auditors: unusual volumes or patterns, per user.

Built from the vault's view of the access log over a period: per actor, what they read,
what they were refused, hours with bulk reads, reads outside working hours (in the
facility's zone), attempts on quarantined or privileged items, flagged volume and store
alarms. Running the report is itself an access-log entry (CJIS 5.4: access to audit data).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from privguard.internals.prevention import db
from privguard.internals.prevention.vault.access import READS, AccessContext
from privguard.internals.prevention.vault.models import Access
from privguard.internals.prevention.vault.vault import Vault, aware


@dataclass
class UserAnomalies:
    """One actor's activity in the period and what stands out."""

    actor: str
    role: str
    reads: int = 0
    refused: int = 0
    flagged: int = 0
    alarms: int = 0
    off_hours: int = 0
    protected_attempts: int = 0
    bulk_hours: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


@dataclass
class AnomalyReport:
    """The period, the thresholds, every actor (those with flags first), and whether the
    table the report reads still matches the signed access log (``view_problems``)."""

    start: str
    end: str
    bulk_per_hour: int
    working_hours: str
    users: list[UserAnomalies]
    view_problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """For JSON output."""
        return asdict(self)


def view_problems(vault: Vault, session: Session) -> list[str]:
    """Where ``vault_access`` differs from the vault's entries of the signed access log.

    The report reads the table; the ledger is what cannot be altered unseen. A row deleted
    or edited to hide someone's reads is named here (run ``Ledger.verify`` for the log).
    """
    logged = {
        e.index: (e.actor, e.action.removeprefix("vault."), e.reason)
        for e in vault.ledger.entries(session)
        if e.action.startswith("vault.")
    }
    problems = []
    seen = set()
    rows = session.execute(select(Access.ledger_index, Access.actor, Access.action, Access.outcome))
    for index, actor, action, outcome in rows:
        seen.add(index)
        if logged.get(index) != (actor, action, outcome):
            problems.append(f"access row for log entry {index} differs from the log")
    problems += [f"log entry {i} ({logged[i][1]} by {logged[i][0]}) has no access row"
                 for i in sorted(set(logged) - seen)]  # fmt: skip
    return problems


def anomaly_report(
    vault: Vault,
    ctx: AccessContext,
    start: dt.datetime,
    end: dt.datetime,
    *,
    bulk_per_hour: int = 20,
    work_hours: tuple[int, int] = (7, 19),
    zone: str = "UTC",
) -> AnomalyReport:
    """Per-actor anomalies over [start, end) (see the module doc)."""
    what = f"{aware(start):%Y-%m-%dT%H:%MZ}..{aware(end):%Y-%m-%dT%H:%MZ}"
    vault.admit(ctx, "report", what, needs_case=False)
    tz = ZoneInfo(zone)
    users: dict[str, UserAnomalies] = {}
    hours: dict[str, Counter[str]] = defaultdict(Counter)
    with db.transaction(vault.factory) as session:
        rows = session.execute(
            select(Access.actor, Access.role, Access.action, Access.outcome, Access.items,
                   Access.detail, Access.at)
            .where(Access.at >= aware(start), Access.at < aware(end))
            .order_by(Access.at)
        )  # fmt: skip
        for actor, role, action, outcome, items, detail, at in rows:
            u = users.setdefault(actor, UserAnomalies(actor, role))
            local = aware(at).astimezone(tz)
            if outcome == "alarm":
                u.alarms += 1
            if outcome == "refused":
                u.refused += 1
                if "quarantined" in detail or "privileged" in detail or "purged" in detail:
                    u.protected_attempts += 1
            if action in READS and outcome in ("ok", "flagged"):
                u.reads += items
                u.flagged += outcome == "flagged"
                hours[actor][local.strftime("%Y-%m-%d %H:00")] += items
                if not work_hours[0] <= local.hour < work_hours[1] or local.weekday() >= 5:
                    u.off_hours += 1
        for actor, u in users.items():
            u.bulk_hours = sorted(h for h, n in hours[actor].items() if n > bulk_per_hour)
            if u.bulk_hours:
                u.flags.append(f"bulk reads in {len(u.bulk_hours)} hour(s)")
            if u.off_hours:
                u.flags.append(f"{u.off_hours} access(es) outside working hours")
            if u.protected_attempts:
                u.flags.append(f"{u.protected_attempts} attempt(s) on quarantined/privileged items")
            if u.flagged:
                u.flags.append(f"{u.flagged} read(s) over the role's daily volume")
            if u.alarms:
                u.flags.append(f"{u.alarms} alarm(s): recordings without a durable decision")
        problems = view_problems(vault, session)
        flagged = sum(1 for u in users.values() if u.flags)
        vault.log.record(session, ctx, "report", what, "ok", detail=f"{flagged} user(s) flagged")
    ordered = sorted(users.values(), key=lambda u: (not u.flags, u.actor))
    return AnomalyReport(
        f"{aware(start):%Y-%m-%dT%H:%M:%SZ}", f"{aware(end):%Y-%m-%dT%H:%M:%SZ}",
        bulk_per_hour, f"{work_hours[0]:02d}-{work_hours[1]:02d} {zone}, Mon-Fri", ordered,
        problems,
    )  # fmt: skip

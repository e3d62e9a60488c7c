"""Who may do what in the vault, why they say they do it, and the log of every attempt.

Every vault operation names an :class:`AccessContext`: the actor, their role, a case
number, a written reason and the source (an IP address, or ``cli:<host>``). The role's
:class:`RolePolicy` says which actions it may take and how many items it may read in 24
hours. Each attempt, refused ones included, becomes one entry of the ledger's ``access``
log carrying the CJIS Security Policy 5.4 / NIST SP 800-53 AU-3 fields (UTC time,
component, actor, action, object, outcome, source) plus the case and the reason, and one
row of ``vault_access`` (the queryable view the volume limit and the anomaly report use).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from privguard.errors import InputError, PrivguardError
from privguard.internals.prevention.ledger import Ledger
from privguard.internals.prevention.vault.models import Access

COMPONENT = "privguard-vault"
ACCESS_LOG = "access"  # the ledger's access log, shared with the service's sign-ins
ACCESS_ORIGIN = "privguard/access"
# Actions that hand out recording content or call records (counted against the volume).
READS = ("play", "download", "export", "produce", "query", "link")
ACTIONS = (*READS, "store", "quarantine", "release", "purge", "import_audit", "report")
_CASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._:/#-]{0,63}$")
MIN_REASON = 10


class AccessRefused(PrivguardError):
    """The vault refused an access; the refusal itself is in the access log."""

    exit_code = 5
    http_status = 403
    kind = "access_refused"


@dataclass(frozen=True)
class RolePolicy:
    """What a role may do, and how many items it may read per 24 hours."""

    actions: frozenset[str]
    daily_items: int = 0
    over_limit: str = "refuse"  # refuse | flag (allowed, logged as flagged for the auditor)


DEFAULT_POLICY: Mapping[str, RolePolicy] = {
    # Reads never reach a quarantined or privileged recording, whatever the role.
    "investigator": RolePolicy(frozenset({"play", "download", "query", "link"}), 200),
    "prosecutor": RolePolicy(frozenset({"play", "download", "export", "query", "link"}), 200),
    "records_officer": RolePolicy(
        frozenset({"play", "download", "export", "produce", "query", "link", "quarantine"}),
        5000,
        "flag",
    ),
    "facility_system": RolePolicy(frozenset({"store"})),
    "registrar": RolePolicy(frozenset({"quarantine", "import_audit"})),
    "auditor": RolePolicy(frozenset({"query", "report"}), 1_000_000),
    "admin": RolePolicy(frozenset({"quarantine", "release", "purge", "import_audit", "report"})),
    "attorney": RolePolicy(frozenset()),
}


@dataclass(frozen=True)
class AccessContext:
    """Who asks, in which role, for which case, why, and from where."""

    actor: str
    role: str
    case: str = ""
    reason: str = ""
    source: str = "unknown"
    extra: dict[str, Any] = field(default_factory=dict)

    def problems(self, needs_case: bool) -> list[str]:
        """What is missing or malformed (empty when the context is acceptable)."""
        out = []
        if not self.actor.strip():
            out.append("actor: who is asking must be named")
        if needs_case and not _CASE.match(self.case or ""):
            out.append("case: a case number (letters, digits, . _ : / # -, at most 64) is needed")
        if needs_case and len((self.reason or "").strip()) < MIN_REASON:
            out.append(f"reason: a written reason of at least {MIN_REASON} characters is needed")
        return out


def utcnow() -> dt.datetime:
    """Now, in UTC (AU-8)."""
    return dt.datetime.now(dt.UTC)


class AccessLogger:
    """Appends vault events to the ledger's access log and their view to ``vault_access``."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def record(
        self,
        session: Session,
        ctx: AccessContext,
        action: str,
        obj: str,
        outcome: str,
        *,
        items: int = 0,
        detail: str = "",
        extra: Mapping[str, Any] | None = None,
        at: dt.datetime | None = None,
    ) -> int:
        """Log one event in the caller's transaction; returns its access-log index."""
        when = at or utcnow()
        payload: dict[str, Any] = {
            "time": when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "component": COMPONENT,
            "actor": ctx.actor,
            "role": ctx.role,
            "action": action,
            "object": obj,
            "outcome": outcome,
            "source": ctx.source,
            "case": ctx.case,
            "why": ctx.reason,
            "items": items,
            "detail": detail,
        }
        if extra:
            payload["extra"] = dict(extra)
        index = self.ledger.append(
            session,
            actor=ctx.actor,
            action=f"vault.{action}",
            reason=outcome,
            payload=payload,
            at=when,
        ).index
        session.add(
            Access(
                at=when,
                actor=ctx.actor,
                role=ctx.role,
                action=action,
                object=obj[:2000],
                items=items,
                outcome=outcome,
                detail=detail,
                ledger_index=index,
            )
        )
        session.flush()
        return index


def used_today(session: Session, actor: str, now: dt.datetime) -> int:
    """Items ``actor`` was given in the last 24 hours."""
    total = session.scalar(
        select(func.coalesce(func.sum(Access.items), 0)).where(
            Access.actor == actor,
            Access.at >= now - dt.timedelta(hours=24),
            Access.outcome.in_(("ok", "flagged")),
            Access.action.in_(READS),
        )
    )
    return int(total or 0)


def check_role(policy: Mapping[str, RolePolicy], ctx: AccessContext, action: str) -> str | None:
    """Why ``ctx`` may not take ``action`` (None when it may)."""
    rp = policy.get(ctx.role)
    if rp is None:
        return f"unknown role {ctx.role!r}"
    if action not in rp.actions:
        return f"the role {ctx.role!r} may not {action}"
    return None


def bad_context(ctx: AccessContext, needs_case: bool) -> InputError | None:
    """An InputError listing what the context lacks, or None."""
    problems = ctx.problems(needs_case)
    if not problems:
        return None
    return InputError(
        "the access request is incomplete",
        problems=problems,
        fix=f"give a case number and a written reason of at least {MIN_REASON} characters "
        "(why this access is needed)",
    )

"""The two questions the vault asks other parts, behind narrow interfaces.

* :class:`DecisionLookup`: is this decision id a durable ``record: true`` of the decision
  log? (default :class:`DecisionTable`, over the decisions part's table, whose rows exist
  only once committed together with their ``decisions`` ledger entry);
* :class:`PrivilegeOracle`: which of these calls are privileged, and why? (default
  :class:`RegistryOracle`: the registry as it stood at each call's time, the registry now,
  and the privileged numbers and recordings that audits found).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from privguard.internals.common.keys import hmac_hex
from privguard.internals.prevention.decisions.models import DecisionRow
from privguard.internals.prevention.registry.models import PrivilegedNumber
from privguard.internals.prevention.vault.models import Finding

# Why a call is privileged (withholding reason codes, also the quarantine reasons).
REGISTERED_AT_CALL = "registered_at_call_time"
REGISTERED_NOW = "registered_now"
AUDIT_NUMBER = "audit_found_number"
AUDIT_RECORDING = "audit_found_recording"
QUARANTINED = "quarantined"
PURGED = "purged"
REASON_CODES = (
    REGISTERED_AT_CALL,
    REGISTERED_NOW,
    AUDIT_NUMBER,
    AUDIT_RECORDING,
    QUARANTINED,
    PURGED,
)
_CHUNK = 500


@dataclass(frozen=True)
class DecisionRef:
    """A durable record:true decision as the vault needs it."""

    decision_id: str
    at: dt.datetime
    facility: str
    number_hmac: str
    call_id: str = ""  # the call the decision was asked for, when the platform named it


class DecisionLookup(Protocol):
    """Finds durable ``record: true`` decisions."""

    def is_durable_record_true(self, session: Session, decision_id: str) -> DecisionRef | None:
        """The decision if it is a committed ``record: true``, else None."""
        ...

    def number_matches(self, ref: DecisionRef, number: str) -> bool:
        """Whether ``number`` (E.164) is the number the decision was taken for."""
        ...


class DecisionTable:
    """The decisions part's table; ``key`` (its HMAC key) lets numbers be checked too."""

    def __init__(self, key: bytes | None = None) -> None:
        self.key = key

    def is_durable_record_true(self, session: Session, decision_id: str) -> DecisionRef | None:
        """The committed row of ``decision_id`` if it said record=True."""
        row = session.scalar(select(DecisionRow).where(DecisionRow.decision_id == decision_id))
        if row is None or not row.record:
            return None
        at = row.at if row.at.tzinfo else row.at.replace(tzinfo=dt.UTC)
        return DecisionRef(row.decision_id, at, row.facility, row.number_hmac, row.call_id)

    def number_matches(self, ref: DecisionRef, number: str) -> bool:
        """Checked only when the key is known and the decision carried a number."""
        if self.key is None or not ref.number_hmac:
            return True
        return hmac_hex(self.key, "number:" + number) == ref.number_hmac


@dataclass(frozen=True)
class Call:
    """What the oracle needs of a recording."""

    id: str
    number: str
    facility: str
    started_at: dt.datetime
    recording_ref: str = ""


class PrivilegeOracle(Protocol):
    """Says which calls are privileged and why (reason codes above)."""

    def reasons(self, session: Session, calls: Sequence[Call]) -> dict[str, list[str]]:
        """For each privileged call's id, its reasons; calls not named are not privileged."""
        ...

    def numbers_now(self, session: Session) -> set[str]:
        """Every number privileged now (registered and active, or found by an audit)."""
        ...


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


class RegistryOracle:
    """The registry's tables and the vault's imported audit findings.

    Deliberately wider than the registry's recording rules: a registration counts whatever
    its facility scope (privilege belongs to the number, not to the jail), and "at the
    call's time" admits the UTC day on either side, since registry days are facility-local.
    Over-withholding is visible (listed with its reason); under-withholding is not.
    """

    def reasons(self, session: Session, calls: Sequence[Call]) -> dict[str, list[str]]:
        """Reasons per privileged call id (see the class doc)."""
        numbers = sorted({c.number for c in calls})
        regs: dict[str, list[tuple[dt.date, dt.date | None, str]]] = defaultdict(list)
        audit_numbers: set[str] = set()
        for part in _chunks(numbers):
            rows = session.execute(
                select(
                    PrivilegedNumber.number,
                    PrivilegedNumber.effective_from,
                    PrivilegedNumber.effective_to,
                    PrivilegedNumber.status,
                ).where(PrivilegedNumber.number.in_(part))
            )
            for number, start, end, status in rows:
                regs[number].append((start, end, status))
            audit_numbers |= set(
                session.scalars(
                    select(Finding.value).where(Finding.kind == "number", Finding.value.in_(part))
                )
            )
        refs = sorted({c.recording_ref for c in calls if c.recording_ref})
        audit_refs: set[str] = set()
        for part in _chunks(refs):
            audit_refs |= set(
                session.scalars(
                    select(Finding.value).where(Finding.kind == "ref", Finding.value.in_(part))
                )
            )
        out: dict[str, list[str]] = {}
        for c in calls:
            why: list[str] = []
            day = c.started_at.astimezone(dt.UTC).date()
            lo, hi = day - dt.timedelta(days=1), day + dt.timedelta(days=1)
            for start, end, status in regs.get(c.number, ()):
                if start <= hi and (end is None or end > lo) and REGISTERED_AT_CALL not in why:
                    why.append(REGISTERED_AT_CALL)
                if status == "active" and REGISTERED_NOW not in why:
                    why.append(REGISTERED_NOW)
            if c.number in audit_numbers:
                why.append(AUDIT_NUMBER)
            if c.recording_ref and c.recording_ref in audit_refs:
                why.append(AUDIT_RECORDING)
            if why:
                out[c.id] = why
        return out

    def numbers_now(self, session: Session) -> set[str]:
        """Active registrations and audit-found numbers."""
        active = session.scalars(
            select(PrivilegedNumber.number).where(PrivilegedNumber.status == "active")
        )
        found = session.scalars(select(Finding.value).where(Finding.kind == "number"))
        return set(active) | set(found)

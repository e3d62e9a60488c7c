"""``verify``: the ledger is intact AND the registry tables equal the state it replays to.

The ledger's own check (``Ledger.verify``) finds a deleted, altered, inserted or
re-ordered entry. This module then rebuilds every registry row from the ledger's payloads
(the last state of each row wins) and compares it, column by column, with the tables, so a
row deleted, altered, added or swapped in the database behind the ledger's back is named.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from privguard.internals.prevention.ledger import Ledger, Verifier
from privguard.internals.prevention.registry.journal import (
    COLUMNS,
    EVENT_COLUMNS,
    KINDS,
    event_ids,
    plain,
)
from privguard.internals.prevention.registry.models import Event

log = logging.getLogger(__name__)
_LIMIT = 200  # problems listed in full; the rest are counted


@dataclass(frozen=True)
class RegistryReport:
    """What ``verify`` found: ``ok`` only if the ledger and every table agree."""

    ok: bool
    ledger_size: int
    rows_checked: int
    problems: tuple[str, ...]


def _label(kind: str, row: dict[str, Any]) -> str:
    if kind == "number":
        ext = f" ext {row['extension']}" if row.get("extension") else ""
        return f"number {row['id']} ({row['number']}{ext})"
    if kind == "attorney":
        return f"attorney {row['id']} ({row['name']})"
    return f"{kind} {row['id']}"


def _compare(
    what: str,
    table: dict[Any, dict[str, Any]],
    expected: dict[Any, dict[str, Any]],
    where: dict[Any, int],
    label: Any,
    problems: list[str],
) -> None:
    for key, want in expected.items():
        have = table.get(key)
        if have is None:
            problems.append(
                f"{label(want)} is in the ledger (entry {where[key]}) but missing from {what}"
            )
            continue
        for col, value in want.items():
            if have.get(col) != value:
                problems.append(
                    f"{label(want)} in {what}: {col} is {have.get(col)!r} in the table but "
                    f"{value!r} in the ledger (entry {where[key]})"
                )
    for key in table.keys() - expected.keys():
        problems.append(f"{label(table[key])} is in {what} but not in the ledger")


def _normal_at(value: Any) -> str:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=dt.UTC)
    return str(plain(value))


def verify_registry(session: Session, ledger: Ledger, verifier: Verifier) -> RegistryReport:
    """Check the ledger, then replay it and compare every registry table row by row."""
    report = ledger.verify(session, verifier)
    problems = [f"ledger: {p}" for p in report.problems]
    expected: dict[str, dict[int, dict[str, Any]]] = {k: {} for k in KINDS}
    where: dict[str, dict[int, int]] = {k: {} for k in KINDS}
    events: dict[int, dict[str, Any]] = {}
    for entry in ledger.entries(session):
        kind, row = entry.payload.get("kind"), entry.payload.get("row")
        if kind not in KINDS or not isinstance(row, dict):
            problems.append(f"ledger entry {entry.index} ({entry.action}) is not a registry entry")
            continue
        expected[kind][row["id"]] = row
        where[kind][row["id"]] = entry.index
        ids = event_ids(kind, row)
        events[entry.index] = {
            "at": _normal_at(entry.at),
            "actor": entry.actor,
            "action": entry.action,
            "reason": entry.reason,
            **{k: ids[k] for k in EVENT_COLUMNS if k in ids},
        }
    checked = 0
    for kind, model in KINDS.items():
        cols = COLUMNS[kind]
        table = {
            r[0]: {c: plain(v) for c, v in zip(cols, r, strict=True)}
            for r in session.execute(select(*[model.__table__.c[c] for c in cols]))
        }
        checked += len(table)
        _compare(
            model.__tablename__,
            table,
            expected[kind],
            where[kind],
            lambda row, k=kind: _label(k, row),
            problems,
        )
    ev_table = {}
    for e in session.scalars(select(Event)):
        ev_table[e.ledger_index] = {c: getattr(e, c) for c in EVENT_COLUMNS}
        ev_table[e.ledger_index]["at"] = _normal_at(e.at)
    checked += len(ev_table)
    _compare(
        "registry_events",
        ev_table,
        events,
        {i: i for i in events},
        lambda row: f"event {row.get('action')}",
        problems,
    )
    if len(problems) > _LIMIT:
        problems = [*problems[:_LIMIT], f"... and {len(problems) - _LIMIT} more problems"]
    log.info(
        "registry verify: %d rows, %d entries, %d problems", checked, report.size, len(problems)
    )
    return RegistryReport(not problems and report.ok, report.size, checked, tuple(problems))

"""db.insert_many (the driver's executemany) stores exactly what SQLAlchemy's insert does.

The decision log and every ledger append write through it, and everything else reads
those rows back through SQLAlchemy: the date-times (SQLite has no date-time type, so
SQLAlchemy writes its own text form), booleans, NULLs and bytes must come back the same.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import pytest
from sqlalchemy import Engine, Table, delete, insert, select

from privguard.internals.prevention.db import insert_many, sessions, transaction
from privguard.internals.prevention.decisions.models import DecisionRow
from privguard.internals.prevention.ledger.tables import entries

DECISIONS = cast(Table, DecisionRow.__table__)
AT = dt.datetime(2026, 12, 3, 14, 59, 1, 123456, tzinfo=dt.UTC)


def _decision(i: int, *, record: bool, size: int | None) -> dict[str, Any]:
    return {
        "decision_id": f"d{i}",
        "at": AT + dt.timedelta(seconds=i),
        "facility": "FAC-1",
        "number_hmac": "ab" * 32,
        "account_hmac": "",
        "record": record,
        "reason": "REGISTERED_NUMBER",
        "private_call_declared": not record,
        "entry_ref": "",
        "checkpoint_size": size,
        "checkpoint_root": "",
        "supersedes": "",
        "call_id": "x@y",
        "ledger_index": i if size else None,
    }


def _rows(engine: Engine, table: Table, order: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(select(table).order_by(order)).all()
    # The primary key the database assigned is not the inserts' to compare.
    return [tuple(v for k, v in r._mapping.items() if k != "id") for r in rows]


def _both(db: Engine, table: Table, rows: list[dict[str, Any]], order: Any) -> None:
    factory = sessions(db)
    with transaction(factory) as s:
        s.execute(insert(table), rows)
    expected = _rows(db, table, order)
    with transaction(factory) as s:
        s.execute(delete(table))
    with transaction(factory) as s:
        insert_many(s, table, rows)
    assert _rows(db, table, order) == expected


def test_decision_rows_read_back_as_sqlalchemy_wrote_them(db: Engine) -> None:
    rows = [_decision(i, record=i % 2 == 0, size=None if i == 1 else 7) for i in range(3)]
    _both(db, DECISIONS, rows, DECISIONS.c.decision_id)
    with db.connect() as conn:
        at = conn.execute(select(DECISIONS.c.at).order_by(DECISIONS.c.decision_id)).scalar()
    assert at is not None
    assert (at if at.tzinfo else at.replace(tzinfo=dt.UTC)) == AT  # SQLite gives it naive


def test_ledger_rows_with_bytes_read_back_as_sqlalchemy_wrote_them(db: Engine) -> None:
    rows = [
        {
            "log": "t",
            "idx": i,
            "at": "2026-12-03T14:59:01.000000Z",
            "actor": "a",
            "action": "b",
            "reason": "c",
            "payload": "{}",
            "salt": bytes(range(32)),
            "leaf_hash": bytes([i]) * 32,
        }
        for i in range(3)
    ]
    _both(db, entries, rows, entries.c.idx)


def test_a_failed_insert_raises_and_commits_nothing(db: Engine) -> None:
    factory = sessions(db)
    rows = [_decision(0, record=True, size=1), _decision(0, record=True, size=1)]  # same id
    with pytest.raises(Exception), transaction(factory) as s:  # noqa: B017 (the driver's own)
        insert_many(s, DECISIONS, rows)
    assert _rows(db, DECISIONS, DECISIONS.c.decision_id) == []

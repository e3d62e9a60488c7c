"""verify: any one row deleted, altered or re-ordered, in the tables or the log, is named."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from privguard.internals.prevention.registry import api
from test_registry_helpers import number, open_registry, write_feed


def _built(db: Engine, tmp_path: Path) -> api.Registry:
    reg = open_registry(db, tmp_path)
    api.feed(
        reg, write_feed(tmp_path / "bar.csv", [number(i) for i in range(6)]), source="bar_feed"
    )
    write_feed(tmp_path / "bar.csv", [number(i) for i in range(5)])
    api.feed(reg, tmp_path / "bar.csv", source="bar_feed")  # ends number(5)
    report = api.verify(reg)
    assert report.ok, report.problems
    return reg


def _ids(db: Engine, n: str) -> int:
    with db.connect() as c:
        return int(
            c.execute(
                text("SELECT id FROM registry_numbers WHERE number = :n"), {"n": n}
            ).scalar_one()
        )


TAMPERS = {
    "delete a number": (
        "DELETE FROM registry_numbers WHERE number = '{n2}'",
        "number {i2} ({n2}) is in the ledger (entry {{}}) but missing from registry_numbers",
    ),
    "alter a number": (
        "UPDATE registry_numbers SET effective_to = '2001-01-01' WHERE number = '{n2}'",
        "number {i2} ({n2}) in registry_numbers: effective_to is '2001-01-01' in the table",
    ),
    "swap two numbers": (
        "UPDATE registry_numbers SET number = 'x' WHERE id = {i2};"
        "UPDATE registry_numbers SET number = '{n2}' WHERE id = {i3};"
        "UPDATE registry_numbers SET number = '{n3}' WHERE id = {i2}",
        "number {i2} ({n2}) in registry_numbers: number is '{n3}' in the table but '{n2}' in the ledger",
    ),
    "insert a number": (
        "INSERT INTO registry_numbers (id, number, extension, attorney_id, facilities, "
        "effective_from, source, feed, evidence, status, ended_reason) SELECT 999, "
        "'+15125550100', '', attorney_id, '*', effective_from, 'staff_entry', '', '{{}}', "
        "'active', '' FROM registry_numbers WHERE number = '{n2}'",
        "number 999 (+15125550100) is in registry_numbers but not in the ledger",
    ),
    "un-end a number": (
        "UPDATE registry_numbers SET status = 'active', effective_to = NULL WHERE number = '{n5}'",
        "number {i5} ({n5}) in registry_numbers: status is 'active' in the table but 'ended'",
    ),
    "delete an event": (
        "DELETE FROM registry_events WHERE number_id = {i2}",
        "is in the ledger (entry",
    ),
}


@pytest.mark.parametrize("tamper", list(TAMPERS))
def test_table_tampering_is_named(db: Engine, tmp_path: Path, tamper: str) -> None:
    reg = _built(db, tmp_path)
    names = {f"n{k}": number(k) for k in (2, 3, 5)} | {
        f"i{k}": _ids(db, number(k)) for k in (2, 3, 5)
    }
    sql, expected = TAMPERS[tamper]
    with db.begin() as c:
        for statement in sql.format(**names).split(";"):
            c.execute(text(statement))
    report = api.verify(reg)
    assert not report.ok
    want = expected.format(**names).split("{}")[0]
    assert any(want in p for p in report.problems), report.problems


@pytest.mark.parametrize("tamper", ["delete", "alter", "reorder"])
def test_ledger_tampering_is_named(db: Engine, tmp_path: Path, tamper: str) -> None:
    reg = _built(db, tmp_path)
    with db.begin() as c:
        if tamper == "delete":
            c.execute(text("DELETE FROM ledger_entries WHERE log = 'registry' AND idx = 3"))
        elif tamper == "alter":
            c.execute(
                text(
                    "UPDATE ledger_entries SET payload = replace(payload, :a, :b) "
                    "WHERE log = 'registry' AND idx = 3"
                ),
                {"a": number(1), "b": number(9)},
            )
        else:
            c.execute(text("UPDATE ledger_entries SET idx = -1 WHERE log = 'registry' AND idx = 3"))
            c.execute(text("UPDATE ledger_entries SET idx = 3 WHERE log = 'registry' AND idx = 4"))
            c.execute(text("UPDATE ledger_entries SET idx = 4 WHERE log = 'registry' AND idx = -1"))
    report = api.verify(reg)
    assert not report.ok
    assert any(p.startswith("ledger:") and "3" in p for p in report.problems), report.problems

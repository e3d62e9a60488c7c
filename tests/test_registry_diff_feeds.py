"""Reconciliation (the 1,300 -> 72 check) and feeds imported again and again."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import Engine, func, select

from privguard.internals.prevention.registry import api
from privguard.internals.prevention.registry.diff import render
from privguard.internals.prevention.registry.models import PrivilegedNumber
from test_registry_helpers import number, open_registry, write_feed


def test_1300_numbers_truncated_to_72_are_all_named(db: Engine, tmp_path: Path) -> None:
    """Orange County: an upgrade left 72 of about 1,300 numbers and nobody reconciled."""
    reg = open_registry(db, tmp_path / "reg")
    all_numbers = [number(i) for i in range(1300)]
    r = api.feed(reg, write_feed(tmp_path / "bar.csv", all_numbers), source="bar_feed")
    assert r.added == 1300
    # The vendor's list after the upgrade: the first 72, one of them with another end date.
    rows = ["Phone,Date Added,Date Removed,Facility"]
    rows += [f"{n},2020-01-06,,ALL" for n in all_numbers[:71]]
    rows.append(f"{all_numbers[71]},2020-01-06,2099-12-31,ALL")
    vendor = tmp_path / "after_upgrade.csv"
    vendor.write_text("\n".join(rows) + "\n", encoding="utf-8")

    d = api.diff(reg, "registry", str(vendor), facility="MAIN-JAIL")
    assert (d.a_count, d.b_count) == (1300, 72)
    assert [m.number for m in d.missing] == sorted(all_numbers[72:])
    assert not d.extra
    assert [(c.number, c.field, c.b) for c in d.changed if c.field == "effective_to"] == [
        (all_numbers[71], "effective_to", "2099-12-31")
    ]
    text = render(d)
    assert "1228 missing from B" in text and all_numbers[1299] in text


def test_reimporting_a_feed_changes_nothing_and_a_dropped_number_is_ended(
    db: Engine, tmp_path: Path
) -> None:
    reg = open_registry(db, tmp_path)
    feed = write_feed(tmp_path / "pd.csv", [number(i) for i in range(10)])
    first = api.feed(reg, feed, source="public_defender_feed")
    assert (first.added, first.attorneys_added) == (10, 10)
    again = api.feed(reg, feed, source="public_defender_feed")
    assert (again.added, again.unchanged, again.ended, again.ledger_entries) == (0, 10, 0, 0)

    write_feed(feed, [number(i) for i in range(10) if i != 3])
    third = api.feed(reg, feed, source="public_defender_feed")
    assert (third.ended, third.ledger_entries) == (1, 1)
    with reg.transaction() as s:
        row = s.scalar(select(PrivilegedNumber).where(PrivilegedNumber.number == number(3)))
        assert row is not None and row.status == "ended"
        assert row.effective_to == dt.datetime.now(dt.UTC).date()
        assert row.ended_reason.startswith("no longer listed in public_defender_feed pd.csv")
        assert s.scalar(select(func.count()).select_from(PrivilegedNumber)) == 10  # kept
    assert api.verify(reg).ok


def test_a_number_protected_elsewhere_is_left_to_its_registration(
    db: Engine, tmp_path: Path
) -> None:
    reg = open_registry(db, tmp_path)
    api.feed(reg, write_feed(tmp_path / "bar.csv", [number(1)]), source="bar_feed")
    pd = api.feed(
        reg, write_feed(tmp_path / "pd.csv", [number(1), number(2)]), source="public_defender_feed"
    )
    assert (pd.added, pd.held_elsewhere) == (1, 1)


def test_two_snapshots_compare(db: Engine, tmp_path: Path) -> None:
    reg = open_registry(db, tmp_path)
    api.feed(
        reg, write_feed(tmp_path / "bar.csv", [number(i) for i in range(3)]), source="bar_feed"
    )
    api.snapshot(reg, "A", tmp_path / "1.snapshot")
    api.feed(
        reg, write_feed(tmp_path / "bar.csv", [number(i) for i in range(1, 4)]), source="bar_feed"
    )
    api.snapshot(reg, "A", tmp_path / "2.snapshot")
    d = api.diff(None, str(tmp_path / "1.snapshot"), str(tmp_path / "2.snapshot"))
    assert [m.number for m in d.missing] == [number(0)]
    assert [m.number for m in d.extra] == [number(3)]
    same = api.diff(None, str(tmp_path / "2.snapshot"), str(tmp_path / "2.snapshot"))
    assert same.same


def test_a_number_two_attorneys_share_keeps_both_holders(db: Engine, tmp_path: Path) -> None:
    # An office's main line listed under two attorneys: one registration (one number, one
    # decision), but the second holder must not vanish from the registry's evidence.
    reg = open_registry(db, tmp_path)
    feed = write_feed(
        tmp_path / "bar.csv", [number(1), number(2), number(1)], ["Ann Lee", "Bo Diaz", "Cy Park"]
    )
    got = api.feed(reg, feed, source="bar_feed")
    assert (got.listed, got.added, got.shared) == (2, 2, 1)
    with reg.transaction() as s:
        row = s.scalars(select(PrivilegedNumber).where(PrivilegedNumber.number == number(1))).one()
        evidence = json.loads(row.evidence)
        lone = s.scalars(select(PrivilegedNumber).where(PrivilegedNumber.number == number(2))).one()
        assert "holders" not in json.loads(lone.evidence)
    assert [(h["name"], h["bar_number"]) for h in evidence["holders"]] == [
        ("Ann Lee", "B000000"),
        ("Cy Park", "B000002"),
    ]
    assert all(h["place"] for h in evidence["holders"])
    assert api.verify(reg).ok

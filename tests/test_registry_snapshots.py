"""Signed snapshots: issued, imported elsewhere, chained by consistency proofs, never rolled back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from privguard.errors import IntegrityError
from privguard.internals.prevention.db import make_engine, upgrade
from privguard.internals.prevention.registry import api
from privguard.internals.prevention.registry.exports import import_snapshot, next_monday
from privguard.internals.prevention.registry.models import Imported
from privguard.internals.prevention.registry.snapshots import RollbackError, read_snapshot
from test_registry_helpers import number, open_registry, write_feed


def _elsewhere(tmp_path: Path) -> api.Registry:
    """A facility's own privguard: another SQLite database, another key."""
    eng = make_engine(f"sqlite:///{tmp_path / 'site' / 'site.db'}")
    upgrade(eng)
    return open_registry(eng, tmp_path / "site")


def test_the_maine_rule_binds_from_the_following_monday() -> None:
    assert next_monday(dt.date(2024, 5, 3)) == dt.date(2024, 5, 6)  # a Friday
    assert next_monday(dt.date(2024, 5, 6)) == dt.date(2024, 5, 13)  # a Monday: next week


def test_snapshot_imported_elsewhere_then_chained_and_rollback_refused(
    db: Engine, tmp_path: Path
) -> None:
    reg = open_registry(db, tmp_path / "reg")
    api.feed(
        reg, write_feed(tmp_path / "bar.csv", [number(i) for i in range(5)]), source="bar_feed"
    )
    first = api.snapshot(
        reg,
        "main-jail",
        tmp_path / "w1.snapshot",
        vendor="acme",
        effective=dt.date.today() + dt.timedelta(days=1),
    )
    assert first.snapshot.facility == "MAIN-JAIL" and len(first.snapshot.entries) == 5
    site = _elsewhere(tmp_path)
    key = str(reg.signer.verifier())
    got = api.import_snapshot_file(site, tmp_path / "w1.snapshot", key)
    assert got.previous_size is None and len(got.snapshot.entries) == 5

    api.feed(
        reg, write_feed(tmp_path / "bar.csv", [number(i) for i in range(1, 7)]), source="bar_feed"
    )
    second = api.snapshot(
        reg,
        "MAIN-JAIL",
        tmp_path / "w2.snapshot",
        vendor="acme",
        effective=dt.date.today() + dt.timedelta(days=1),
    )
    assert second.snapshot.previous_size == first.snapshot.tree_size
    assert second.snapshot.proof  # the log grew: a consistency proof is carried
    got = api.import_snapshot_file(site, tmp_path / "w2.snapshot", key)
    assert got.previous_size == first.snapshot.tree_size
    assert [e.number for e in got.snapshot.entries] == [number(i) for i in range(1, 7)]

    with pytest.raises(RollbackError) as err:
        api.import_snapshot_file(site, tmp_path / "w1.snapshot", key)
    assert "older than the one already accepted" in "\n".join(err.value.problems)
    with site.transaction() as s:  # the newer one is still the one kept
        kept = s.scalar(select(Imported))
        assert kept is not None and kept.tree_size == second.snapshot.tree_size


def _issued(db: Engine, tmp_path: Path, n: int = 4) -> tuple[api.Registry, bytes]:
    reg = open_registry(db, tmp_path / "reg")
    api.feed(
        reg, write_feed(tmp_path / "bar.csv", [number(i) for i in range(n)]), source="bar_feed"
    )
    issued = api.snapshot(reg, "MAIN-JAIL", tmp_path / "s.snapshot")
    return reg, issued.text.encode()


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _entry_line(data: bytes, i: int) -> int:
    return _lines(data).index(b"entries") + 1 + i


@pytest.mark.parametrize("tamper", ["delete", "alter", "reorder"])
def test_a_tampered_snapshot_is_refused_and_the_diff_names_the_entry(
    db: Engine, tmp_path: Path, tamper: str
) -> None:
    reg, data = _issued(db, tmp_path)
    lines = _lines(data)
    at = _entry_line(data, 1)
    if tamper == "delete":
        del lines[at]
    elif tamper == "alter":
        lines[at] = lines[at].replace(number(1).encode(), number(99).encode())
    else:
        lines[at], lines[at + 1] = lines[at + 1], lines[at]
    bad = b"\n".join(lines)
    with pytest.raises(IntegrityError) as err:
        read_snapshot(bad, [reg.signer.verifier()], None)
    problems = "\n".join(err.value.problems)
    assert "signature" in problems
    if tamper == "reorder":
        assert f"line {at + 2}: entry {number(1)} is out of order" in problems
    if tamper == "delete":
        assert "counts 4 entries but 3 are listed" in problems
    site = _elsewhere(tmp_path)
    with site.transaction() as s, pytest.raises(IntegrityError):
        import_snapshot(s, bad, [reg.signer.verifier()])
    with site.transaction() as s:
        assert s.scalar(select(Imported)) is None  # nothing was kept
    path = tmp_path / "bad.snapshot"
    path.write_bytes(bad)
    if tamper == "reorder":
        return  # same numbers in another order: the structure check above names it
    d = api.diff(reg, "registry", str(path), facility="MAIN-JAIL")
    if tamper == "delete":
        assert [m.number for m in d.missing] == [number(1)] and not d.extra
    else:
        assert [m.number for m in d.missing] == [number(1)]
        assert [m.number for m in d.extra] == [number(99)]


def test_a_snapshot_from_another_key_or_expired_is_refused(db: Engine, tmp_path: Path) -> None:
    reg, data = _issued(db, tmp_path)
    stranger = _elsewhere(tmp_path)
    with pytest.raises(IntegrityError, match="refused"):
        read_snapshot(data, [stranger.signer.verifier()], None)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    with pytest.raises(IntegrityError) as err:
        read_snapshot(data, [reg.signer.verifier()], None, now=later)
    assert "expired" in "\n".join(err.value.problems)


def test_a_skipped_snapshot_is_named(db: Engine, tmp_path: Path) -> None:
    reg, data = _issued(db, tmp_path)
    site = _elsewhere(tmp_path)
    key = [reg.signer.verifier()]
    with site.transaction() as s:
        import_snapshot(s, data, key)
    for i in (10, 11):
        api.feed(
            reg, write_feed(tmp_path / "bar.csv", [number(j) for j in range(i)]), source="bar_feed"
        )
        last = api.snapshot(reg, "MAIN-JAIL", tmp_path / f"s{i}.snapshot")
    with site.transaction() as s, pytest.raises(IntegrityError) as err:
        import_snapshot(s, last.text.encode(), key)
    assert "one was skipped or forked" in "\n".join(err.value.problems)

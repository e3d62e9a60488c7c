"""The checker reads the registry's own signed snapshots: the two parts agree on one format."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from privguard.internals.prevention.decisions import Checker, Reason, SnapshotRejected
from privguard.internals.prevention.decisions.snapshot import registry_verifier
from privguard.internals.prevention.registry import api
from test_registry_helpers import number, open_registry, write_feed

FAMILY = "+15125559999"


def _snapshot(reg: api.Registry, tmp_path: Path, name: str) -> bytes:
    return api.snapshot(reg, "MAIN-JAIL", tmp_path / name).text.encode()


def test_a_registry_snapshot_protects_its_numbers_at_call_setup(db: Engine, tmp_path: Path) -> None:
    reg = open_registry(db, tmp_path / "reg")
    api.feed(
        reg, write_feed(tmp_path / "bar.csv", [number(i) for i in range(3)]), source="bar_feed"
    )
    first = _snapshot(reg, tmp_path, "w1.snapshot")
    checker = Checker(registry_verifier([reg.signer.verifier()]))
    checker.load(first)

    d = checker.decide("MAIN-JAIL", "A1", number(1))
    assert (d.record, d.reason) == (False, Reason.REGISTERED_NUMBER)
    assert checker.decide("MAIN-JAIL", "A1", FAMILY).record is True

    # The registry grows; the next snapshot chains on the first (consistency proof).
    api.feed(
        reg, write_feed(tmp_path / "bar.csv", [number(i) for i in range(5)]), source="bar_feed"
    )
    checker.load(_snapshot(reg, tmp_path, "w2.snapshot"))
    assert checker.decide("MAIN-JAIL", "A1", number(4)).reason == Reason.REGISTERED_NUMBER

    # An older snapshot delivered again is a rollback: refused, and the checker fails closed.
    with pytest.raises(SnapshotRejected):
        checker.load(first)
    assert checker.decide("MAIN-JAIL", "A1", FAMILY).record is False


def test_a_snapshot_signed_by_another_registry_is_refused(db: Engine, tmp_path: Path) -> None:
    reg = open_registry(db, tmp_path / "reg")
    api.feed(reg, write_feed(tmp_path / "bar.csv", [number(0)]), source="bar_feed")
    data = _snapshot(reg, tmp_path, "w.snapshot")
    from privguard.internals.prevention.ledger import Signer

    stranger = Signer.load_or_create(tmp_path / "other.key", name=api.ORIGIN)
    checker = Checker(registry_verifier([stranger.verifier()]))
    with pytest.raises(SnapshotRejected):
        checker.load(data)
    d = checker.decide("MAIN-JAIL", "A1", FAMILY)
    assert d.record is False and d.reason == Reason.BAD_SIGNATURE

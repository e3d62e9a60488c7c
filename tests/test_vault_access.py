"""Access with a reason: every attempt is an access-log entry, and the log is tamper-evident."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from privguard.errors import InputError
from privguard.internals.prevention import db as pdb
from privguard.internals.prevention.vault import DEFAULT_POLICY, AccessRefused, RolePolicy
from privguard.internals.prevention.vault.models import Access
from vault_helpers import INVESTIGATOR, OFFICER, T0, make_vault, register, store

AU3 = {"time", "component", "actor", "action", "object", "outcome", "source"}


def _log(vault):  # type: ignore[no-untyped-def]
    with vault.factory() as s:
        return [e for e in vault.ledger.entries(s) if e.action != "vault.store"]


def test_every_read_needs_case_reason_and_role_and_every_attempt_is_logged(
    db: Engine, tmp_path: Path
) -> None:
    vault = make_vault(db, tmp_path)
    rid = store(vault, "+15125550100")
    bad = [
        replace(INVESTIGATOR, case=""),
        replace(INVESTIGATOR, reason="because"),
        replace(INVESTIGATOR, role="attorney"),
        replace(INVESTIGATOR, role="nobody"),
    ]
    for ctx in bad:
        with pytest.raises(AccessRefused):
            vault.read(ctx, rid, "download")
    with pytest.raises(AccessRefused, match="may not export"):
        vault.read(INVESTIGATOR, rid, "export")
    with pytest.raises(AccessRefused, match="no such"):
        vault.read(INVESTIGATOR, "rec_missing", "play")
    assert vault.read(OFFICER, rid, "export").data
    entries = _log(vault)
    assert [e.reason for e in entries] == ["refused"] * 6 + ["ok"]
    for e in entries:
        assert set(e.payload) >= AU3, e.payload
        assert e.payload["time"].endswith("Z") and e.payload["component"] == "privguard-vault"
    ok = entries[-1].payload
    assert ok["case"] == OFFICER.case and ok["why"] == OFFICER.reason and ok["source"] == "10.0.0.6"
    assert ok["object"] == rid and ok["action"] == "export" and ok["actor"] == OFFICER.actor


def test_unknown_action_is_bad_input(db: Engine, tmp_path: Path) -> None:
    vault = make_vault(db, tmp_path)
    with pytest.raises(InputError):
        vault.read(INVESTIGATOR, "rec_x", "copy")


def test_privileged_recording_is_never_reached_and_is_quarantined_on_sight(
    db: Engine, tmp_path: Path
) -> None:
    vault = make_vault(db, tmp_path)
    rid = store(vault, "+15125550100")
    register(vault, "+15125550100", T0.date() - dt.timedelta(days=30))  # no sweep ran
    for ctx in (INVESTIGATOR, OFFICER, replace(INVESTIGATOR, role="prosecutor")):
        with pytest.raises(AccessRefused, match="privileged|quarantined"):
            vault.read(ctx, rid, "play")
    with vault.factory() as s:
        assert s.scalar(text(f"SELECT state FROM vault_recordings WHERE id = '{rid}'")) == (
            "quarantined"
        )


def test_bulk_reads_beyond_the_daily_volume_are_refused_or_flagged(
    db: Engine, tmp_path: Path
) -> None:
    policy = dict(DEFAULT_POLICY)
    policy["investigator"] = RolePolicy(DEFAULT_POLICY["investigator"].actions, 2)
    policy["records_officer"] = RolePolicy(DEFAULT_POLICY["records_officer"].actions, 1, "flag")
    vault = make_vault(db, tmp_path, policy=policy)
    ids = [store(vault, f"+1512555010{i}") for i in range(3)]
    vault.read(INVESTIGATOR, ids[0])
    vault.read(INVESTIGATOR, ids[1])
    with pytest.raises(AccessRefused, match="volume"):
        vault.read(INVESTIGATOR, ids[2])
    vault.read(OFFICER, ids[0])
    assert vault.read(OFFICER, ids[1]).data  # allowed, but flagged for the auditor
    with vault.factory() as s:
        rows = s.execute(select(Access.actor, Access.outcome).where(Access.action == "play"))
        assert [tuple(r) for r in rows][-4:] == [
            (INVESTIGATOR.actor, "ok"),
            (INVESTIGATOR.actor, "refused"),
            (OFFICER.actor, "ok"),
            (OFFICER.actor, "flagged"),
        ]


@pytest.mark.parametrize("how", ["alter", "delete", "reorder"])
def test_tampering_with_the_access_log_is_detected(db: Engine, tmp_path: Path, how: str) -> None:
    vault = make_vault(db, tmp_path)
    rid = store(vault, "+15125550100")
    for _ in range(3):
        vault.read(INVESTIGATOR, rid)
    with pytest.raises(AccessRefused):
        vault.read(replace(INVESTIGATOR, case=""), rid)
    verifier = vault.ledger.signer.verifier()
    with vault.factory() as s:
        vault.ledger.checkpoint(s)
        s.commit()
        assert vault.ledger.verify(s, verifier).ok
    with pdb.transaction(vault.factory) as s:
        if how == "alter":  # hide who played it
            s.execute(text(
                "UPDATE ledger_entries SET actor = 'investigator:someone_else' "
                "WHERE log = 'access' AND idx = 2"
            ))  # fmt: skip
        elif how == "delete":  # erase the refused attempt
            s.execute(text("DELETE FROM ledger_entries WHERE log = 'access' AND idx = 4"))
        else:  # swap two plays
            s.execute(text("UPDATE ledger_entries SET idx = -1 WHERE log = 'access' AND idx = 1"))
            s.execute(text("UPDATE ledger_entries SET idx = 1 WHERE log = 'access' AND idx = 2"))
            s.execute(text("UPDATE ledger_entries SET idx = 2 WHERE log = 'access' AND idx = -1"))
    with vault.factory() as s:
        report = vault.ledger.verify(s, verifier)
    assert not report.ok and report.problems

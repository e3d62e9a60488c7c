"""Call records, links and the anomaly report."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine

from privguard.errors import InputError
from privguard.internals.prevention.vault import AccessContext, AccessRefused, access
from privguard.internals.prevention.vault import protect as P
from privguard.internals.prevention.vault.anomalies import anomaly_report
from privguard.internals.prevention.vault.records import (
    export_calls,
    issue_link,
    query_calls,
    redeem_link,
)
from vault_helpers import ADMIN, INVESTIGATOR, T0, make_vault, register, store

AUDITOR = AccessContext("auditor:olga", "auditor", "AUD-1", "quarterly oversight review", "cli")


def test_call_records_are_logged_and_privileged_ones_withheld(db: Engine, tmp_path: Path) -> None:
    vault = make_vault(db, tmp_path)
    store(vault, "+15125550199")
    priv = store(vault, "+15125550100")
    register(vault, "+15125550100", T0.date())
    got = query_calls(vault, INVESTIGATOR, inmate_account="A100")
    assert [r["dialed_number"] for r in got.rows] == ["+15125550199"] and got.withheld == 1
    seen = query_calls(vault, AUDITOR, inmate_account="A100")
    assert {r["id"]: r["state"] for r in seen.rows}[priv] == "privileged"
    with pytest.raises(InputError, match="filter"):
        query_calls(vault, INVESTIGATOR)
    with pytest.raises(AccessRefused, match="may not export"):
        export_calls(vault, INVESTIGATOR, tmp_path / "x.csv", inmate_account="A100")
    prosecutor = replace(INVESTIGATOR, actor="prosecutor:pat", role="prosecutor")
    export_calls(vault, prosecutor, tmp_path / "calls.csv", inmate_account="A100")
    assert "+15125550100" not in (tmp_path / "calls.csv").read_text()
    with vault.factory() as s:
        actions = [(e.action, e.reason, e.payload["items"]) for e in vault.ledger.entries(s)][2:]
    assert ("vault.query", "ok", 1) in actions and ("vault.export", "ok", 1) in actions
    assert ("vault.export", "refused", 0) in actions


def test_links_work_only_for_their_user_and_not_after_expiry(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = make_vault(db, tmp_path)
    rid = store(vault, "+15125550199", b"content")
    token = issue_link(vault, INVESTIGATOR, rid, "download", seconds=60)
    assert redeem_link(vault, token, INVESTIGATOR.actor).data == b"content"
    with pytest.raises(AccessRefused, match="another user"):
        redeem_link(vault, token, "investigator:mallory")
    body, sig = token.split(".")
    with pytest.raises(AccessRefused, match="not valid"):
        redeem_link(vault, body[:-2] + "AA." + sig, INVESTIGATOR.actor)
    import time as _time

    real = _time.time
    monkeypatch.setattr(_time, "time", lambda: real() + 61)
    with pytest.raises(AccessRefused, match="expired"):
        redeem_link(vault, token, INVESTIGATOR.actor)
    monkeypatch.undo()
    with pytest.raises(InputError):
        issue_link(vault, INVESTIGATOR, rid, seconds=3600)
    with pytest.raises(AccessRefused):  # a role that may not play gets no link either
        issue_link(vault, AUDITOR, rid)


def test_anomaly_report_flags_bulk_off_hours_and_protected_attempts(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = make_vault(db, tmp_path)
    ids = [store(vault, f"+1512555{i:04d}") for i in range(200, 206)]
    priv = store(vault, "+15125550100")
    register(vault, "+15125550100", T0.date())
    P.sweep(vault, ADMIN.__class__("registrar:r", "registrar", reason="sweep"))
    night = dt.datetime(2024, 3, 5, 2, 30, tzinfo=dt.UTC)  # a Tuesday, 02:30
    monkeypatch.setattr(access, "utcnow", lambda: night)
    for rid in ids:
        vault.read(INVESTIGATOR, rid)
    with pytest.raises(AccessRefused):
        vault.read(INVESTIGATOR, priv)
    day = dt.datetime(2024, 3, 5, 10, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(access, "utcnow", lambda: day)
    calm = replace(INVESTIGATOR, actor="investigator:calm")
    vault.read(calm, ids[0])
    report = anomaly_report(
        vault, AUDITOR, night - dt.timedelta(hours=1), day + dt.timedelta(hours=1), bulk_per_hour=5
    )
    by = {u.actor: u for u in report.users}
    ivan = by[INVESTIGATOR.actor]
    assert ivan.reads == 6 and ivan.off_hours == 6 and ivan.protected_attempts == 1
    assert ivan.bulk_hours == ["2024-03-05 02:00"] and len(ivan.flags) == 3
    assert by["investigator:calm"].flags == [] and report.users[0].actor == INVESTIGATOR.actor
    assert report.view_problems == []
    with pytest.raises(AccessRefused):
        anomaly_report(vault, INVESTIGATOR, night, day)
    # Deleting the rows the report reads, to hide the night's reads, is named.
    from sqlalchemy import text

    from privguard.internals.prevention import db as pdb

    with pdb.transaction(vault.factory) as s:
        s.execute(text("DELETE FROM vault_access WHERE actor = 'investigator:ivan'"))
    report = anomaly_report(vault, AUDITOR, night - dt.timedelta(hours=1), day)
    assert INVESTIGATOR.actor not in {u.actor for u in report.users}
    assert len(report.view_problems) == 8 and "has no access row" in report.view_problems[0]

"""Registration workflow: submit, verify by directory or by hand, reject; history; receipts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from privguard.errors import InputError
from privguard.internals.prevention.registry import history as H
from privguard.internals.prevention.registry import workflow as W
from privguard.internals.prevention.registry.models import PrivilegedNumber
from privguard.internals.prevention.registry.receipts import check_receipts
from test_registry_helpers import open_registry

T0 = dt.datetime(2024, 3, 4, 15, 0, tzinfo=dt.UTC)


def _directory(tmp_path: Path) -> W.Directory:
    path = tmp_path / "bar.csv"
    path.write_text(
        "Attorney Name,Bar No,Office Phone,Cell\n"
        "Ada Lovelace,001234,(207) 555-0100,207 555 0101\n"
        "Alan Turing,5678,207-555-0102,\n",
        encoding="utf-8",
    )
    return W.load_directory_index(path)


def test_directory_match_registers_with_evidence_and_receipts(db: Engine, tmp_path: Path) -> None:
    reg = open_registry(db, tmp_path)
    with reg.transaction() as s:
        ada = W.add_attorney(
            s,
            reg.ledger,
            "Ada Lovelace",
            bar_number="1234",
            bar_state="me",
            actor="attorney:ada",
            at=T0,
        )
        req = W.submit(
            s, reg.ledger, ada, ["207.555.0100", "+1 (207) 555-0101"], actor="attorney:ada", at=T0
        )
        assert req.state == "submitted" and req.numbers == ("+12075550100", "+12075550101")
        done = W.auto_verify(s, reg.ledger, req.id, _directory(tmp_path), at=T0)
    assert done.state == "verified" and len(done.receipts) == 2
    with reg.transaction() as s:
        rows = s.scalars(select(PrivilegedNumber).order_by(PrivilegedNumber.number)).all()
        assert [r.number for r in rows] == ["+12075550100", "+12075550101"]
        assert (
            rows[0].source == "self_registration" and '"place":"bar.csv row 2"' in rows[0].evidence
        )
        actions = [h.action for h in H.history(s, ada)]
    assert actions == [
        "attorney.added",
        "request.submitted",
        "request.verified",
        "number.registered",
        "number.registered",
    ]
    report = check_receipts([("r1", done.receipts[0])], [reg.signer.verifier()])
    assert report.ok and "+12075550100 is registered from 2024-03-04" in report.registrations[0]


def test_unlisted_number_waits_for_a_registrar_who_approves_or_rejects(
    db: Engine, tmp_path: Path
) -> None:
    reg = open_registry(db, tmp_path)
    with reg.transaction() as s:
        ada = W.add_attorney(s, reg.ledger, "Ada Lovelace", bar_number="1234", actor="a", at=T0)
        first = W.submit(s, reg.ledger, ada, ["207-555-0102"], actor="a", at=T0)
        # Alan's number, not Ada's: the directory does not vouch for it.
        waiting = W.auto_verify(s, reg.ledger, first.id, _directory(tmp_path), at=T0)
        assert waiting.state == "needs_review" and "+12075550102" in waiting.reason
        ok = W.approve(
            s,
            reg.ledger,
            first.id,
            actor="registrar:bo",
            reason="called the office; Ada shares the line",
            at=T0,
        )
        second = W.submit(s, reg.ledger, ada, ["207 555 0199"], actor="a", at=T0)
        no = W.reject(
            s,
            reg.ledger,
            second.id,
            actor="registrar:bo",
            reason="the number belongs to a bail bond company",
            at=T0,
        )
        with pytest.raises(InputError, match="already rejected"):
            W.approve(s, reg.ledger, second.id, actor="registrar:bo", reason="x")
        history = H.history(s, ada)
    assert ok.state == "verified" and no.state == "rejected"
    seen = [(h.action, h.actor, h.reason) for h in history if h.action.startswith("request.")]
    assert ("request.rejected", "registrar:bo", "the number belongs to a bail bond company") in seen
    assert ("request.needs_review", "system:directory", waiting.reason) in seen


def test_bad_number_is_refused_before_anything_is_kept(db: Engine, tmp_path: Path) -> None:
    reg = open_registry(db, tmp_path)
    with reg.transaction() as s:
        ada = W.add_attorney(s, reg.ledger, "Ada", actor="a")
    with pytest.raises(InputError, match="'555-01' is not a phone number"), reg.transaction() as s:
        W.submit(s, reg.ledger, ada, ["207-555-0100", "555-01"], actor="a")
    with reg.transaction() as s:
        assert H.history(s, ada)[-1].action == "attorney.added"


def test_a_removed_number_still_verifies_with_its_dates(db: Engine, tmp_path: Path) -> None:
    reg = open_registry(db, tmp_path)
    with reg.transaction() as s:
        ada = W.add_attorney(s, reg.ledger, "Ada", actor="a", at=T0)
        req = W.submit(s, reg.ledger, ada, ["207-555-0100"], actor="a", at=T0)
        got = W.approve(s, reg.ledger, req.id, actor="registrar:bo", reason="letterhead", at=T0)
        nid = s.scalar(select(PrivilegedNumber.id))
        assert nid is not None
        ended = W.end_number(
            s,
            reg.ledger,
            nid,
            actor="attorney:ada",
            reason="line closed",
            at=T0 + dt.timedelta(days=90),
        )
    texts = [("registered.txt", got.receipts[0]), ("ended.txt", ended)]
    report = check_receipts(texts, [reg.signer.verifier()])
    assert report.ok, report
    assert report.registrations == (
        f"+12075550100 was registered from 2024-03-04 to 2024-06-02 (registration {nid}; "
        "ended: line closed)",
    )
    # Alone, the first receipt still verifies: a later removal does not break it.
    assert check_receipts(texts[:1], [reg.signer.verifier()]).ok

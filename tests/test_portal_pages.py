"""Each role's pages through the in-process client, on SQLite and PostgreSQL: what a person
sees after each step, and the data behind it."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi.testclient import TestClient

from portal_helpers import BASE, add_attorney_user, csrf_in, sign_in, sign_in_staff
from privguard.internals.prevention.db import transaction
from privguard.internals.prevention.registry.exports import make_snapshot
from privguard.internals.prevention.service import create_app
from privguard.internals.prevention.settings import ServiceSettings
from service_helpers import add_user

NUMBER = "+15125550134"


def make_audit(folder: Path, calls: int = 120) -> Path:
    """A small audit output folder, as the audit writes it (files only)."""
    (folder / "exports").mkdir(parents=True)
    (folder / "summary.json").write_text(
        json.dumps(
            {
                "calls": 5000,
                "privileged_calls": calls,
                "privileged_calls_recorded": 7,
                "headline": f"{calls} privileged calls found in the test audit.",
            }
        )
    )
    # The columns of the audit's own findings.db (test_wings_contract reads a real one).
    con = sqlite3.connect(folder / "exports" / "findings.db")
    con.execute(
        "CREATE TABLE privileged_calls (call_id INTEGER, start_utc TEXT, facility TEXT, "
        "inmate_account TEXT, number TEXT, classification TEXT, attorney_name TEXT, "
        "duration_s INTEGER, completed INTEGER, recorded INTEGER, registered_then INTEGER, "
        "sources TEXT)"
    )
    rows = [
        (
            1000 + i,
            f"2013-{1 + i % 3:02d}-0{1 + i % 9} 10:00:00",
            "TX25" if i % 2 else "CA58",
            str(i % 7),
            NUMBER if i % 4 == 0 else f"+1512555{i:04d}",
            "registered",
            "Ada Lovelace" if i % 4 == 0 else "Other Office",
            60,
            1,
            i % 2,
            0,
            f"TX25/billing/cdr.parquet:cdr:{i}; TX25/export.sql:calls:{i + 1}",
        )
        for i in range(calls)
    ]
    con.executemany("INSERT INTO privileged_calls VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    con.commit()
    con.close()
    pq.write_table(
        pa.table({"number": [f"+1512555{i:04d}" for i in range(80)], "calls": list(range(80))}),
        folder / "numbers.parquet",
    )
    return folder


def client_for(db_url: str, tmp_path: Path) -> TestClient:
    audit = make_audit(tmp_path / "audit-2013")
    settings = ServiceSettings(
        data_dir=tmp_path / "data", database_url=db_url, extra={"audit_dirs": [str(audit)]}
    )
    return TestClient(create_app(settings), base_url=BASE)


def test_attorney_registers_registrar_approves_attorney_keeps_a_receipt(
    db_url: str, tmp_path: Path
) -> None:
    with client_for(db_url, tmp_path) as client:
        add_attorney_user(client)
        add_attorney_user(client, "bob", "Bob Smith")  # log entry 1 is his
        rita = add_user(client, "registrar", "rita")
        assert sign_in(client, "ada").headers["location"] == "/attorney"
        form = client.get("/attorney/register")
        assert 'for="numbers"' in form.text and "Skip to content" in form.text
        bad = client.post(
            "/attorney/register",
            data={"csrf": csrf_in(form.text), "numbers": "not a number", "scope": "all"},
        )
        assert (
            bad.status_code == 400 and 'role="alert"' in bad.text and 'href="#numbers"' in bad.text
        )
        done = client.post(
            "/attorney/register",
            data={
                "csrf": csrf_in(form.text),
                "numbers": "(512) 555-0134",
                "scope": "all",
                "note": "Call the office at the number on the bar roll",
            },
            files={"document": ("letterhead.pdf", b"%PDF-1.4 letterhead", "application/pdf")},
            follow_redirects=False,
        )
        assert done.status_code == 303
        page = client.get(done.headers["location"])
        assert "was received" in page.text and "Submitted" in page.text and NUMBER in page.text
        client.cookies.clear()

        assert sign_in_staff(client, "rita", rita).status_code == 303
        queue = client.get("/registrar")
        assert "Ada Lovelace" in queue.text and "TX123" in queue.text
        assert "letterhead.pdf" in queue.text and "Call the office" in queue.text
        rid = re.search(r"/registrar/requests/(\d+)/approve", queue.text).group(1)  # type: ignore[union-attr]
        token = csrf_in(queue.text)
        missing = client.post(f"/registrar/requests/{rid}/approve", data={"csrf": token})
        assert missing.status_code == 400 and "Give a reason" in missing.text
        ok = client.post(
            f"/registrar/requests/{rid}/approve",
            data={"csrf": token, "reason": "called the office"},
            follow_redirects=False,
        )
        assert ok.status_code == 303
        assert "approved" in client.get(ok.headers["location"]).text
        with transaction(client.app.state.sessions) as s:  # type: ignore[attr-defined]
            reg = client.app.state.registry  # type: ignore[attr-defined]
            make_snapshot(s, reg.ledger, reg.signer, "TX25")
        client.cookies.clear()

        sign_in(client, "ada")
        mine = client.get("/attorney")
        assert "Verified" in mine.text and "On the list sent" in mine.text and "TX25" in mine.text
        history = client.get("/attorney/history")
        assert "number.registered" in history.text
        index = re.findall(r"/attorney/receipts/(\d+)", history.text)[-1]
        receipt = client.get(f"/attorney/receipts/{index}")
        assert receipt.status_code == 200 and "attachment" in receipt.headers["content-disposition"]
        check = client.get("/attorney/receipts/check")
        checked = client.post(
            "/attorney/receipts/check",
            data={"csrf": csrf_in(check.text)},
            files={"receipt": ("r.txt", receipt.content, "text/plain")},
        )
        assert "The receipt is valid" in checked.text
        forged = receipt.text.replace("index ", "index 1")  # moved to another place in the log
        bad_check = client.post(
            "/attorney/receipts/check", data={"csrf": csrf_in(check.text), "pasted": forged}
        )
        assert "does not verify" in bad_check.text
        # Someone else's receipt is not found, not shown.
        assert client.get("/attorney/receipts/1").status_code == 404
        notices = client.get("/attorney/notices")
        assert notices.status_code == 200 and "Notices of recorded calls" in notices.text


def test_registrar_rejects_and_reconciles_to_a_number_history(db_url: str, tmp_path: Path) -> None:
    with client_for(db_url, tmp_path) as client:
        add_attorney_user(client)
        rita = add_user(client, "registrar", "rita")
        sign_in(client, "ada")
        form = client.get("/attorney/register")
        for numbers in ("512-555-0134\n512 555 0135", "512 555 0199"):
            client.post(
                "/attorney/register",
                data={"csrf": csrf_in(form.text), "numbers": numbers, "scope": "all"},
            )
        client.cookies.clear()
        sign_in_staff(client, "rita", rita)
        queue = client.get("/registrar")
        first, second = re.findall(r"/registrar/requests/(\d+)/approve", queue.text)
        token = csrf_in(queue.text)
        client.post(
            f"/registrar/requests/{first}/approve", data={"csrf": token, "reason": "letter on file"}
        )
        client.post(
            f"/registrar/requests/{second}/reject",
            data={"csrf": token, "reason": "this is a bail bondsman's number"},
        )
        assert "No request is waiting" in client.get("/registrar").text
        page = client.get("/registrar/reconcile")
        facility_list = (
            "number,attorney_name,date_added,date_removed,facility\n"
            "512-555-0134,Ada Lovelace,2020-01-01,,TX25\n512-555-0777,Someone,2020-01-01,,TX25\n"
        )
        diff = client.post(
            "/registrar/reconcile",
            data={"csrf": csrf_in(page.text), "facility": "tx25"},
            files={"facility_list": ("tx25.csv", facility_list.encode(), "text/csv")},
        )
        assert diff.status_code == 200 and "1 missing" in diff.text
        link = re.search(r'href="(/registrar/numbers/[^"]+)"', diff.text).group(1)  # type: ignore[union-attr]
        assert link.endswith("+15125550135")
        history = client.get(link)
        assert "number.registered" in history.text and "letter on file" in history.text
        client.cookies.clear()
        sign_in(client, "ada")
        assert "bail bondsman" in client.get("/attorney").text  # the attorney reads the reason


def test_auditor_browses_findings_health_and_access_log(db_url: str, tmp_path: Path) -> None:
    with client_for(db_url, tmp_path) as client:
        aud = add_user(client, "auditor", "aud")
        sign_in(client, "nobody", "wrong")  # a failed sign-in, for the access log
        sign_in_staff(client, "aud", aud)
        home = client.get("/auditor")
        assert "audit-2013" in home.text and "120 privileged calls found" in home.text
        audit = client.get("/auditor/audits/0")
        assert "120 call(s) match" in audit.text and "Page 1 of 3" in audit.text
        assert "2013-01" in audit.text
        filtered = client.get("/auditor/audits/0", params={"facility": "TX25", "number": NUMBER})
        assert "0 call(s) match" in filtered.text  # the fixture's NUMBER calls are all at CA58
        by_attorney = client.get("/auditor/audits/0", params={"attorney": "Ada Lovelace"})
        assert "30 call(s) match" in by_attorney.text
        page3 = client.get("/auditor/audits/0", params={"page": 2})
        assert "Page 3 of 3" in page3.text and "Previous page" in page3.text
        call_id = re.search(r"/auditor/audits/0/calls/(\d+)", audit.text).group(1)  # type: ignore[union-attr]
        call = client.get(f"/auditor/audits/0/calls/{call_id}")
        assert "TX25/billing/cdr.parquet:cdr:0" in call.text
        numbers = client.get("/auditor/audits/0/numbers", params={"page": 1})
        assert "+15125550050" in numbers.text and "Page 2 of 2" in numbers.text
        health = client.get("/auditor/health")
        assert "Registry log size" in health.text and "Last reconciliation" in health.text
        access = client.get("/auditor/access")
        assert "login" in access.text and "failed" in access.text and "login.code" in access.text
        assert client.get("/auditor/audits/9").status_code == 404

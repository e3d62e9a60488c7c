"""The compliance report: its figures equal a recount from the database and the ledger, it
is signed, and it verifies offline (and fails when a file or the key is wrong)."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from privguard.cli import main
from privguard.errors import IntegrityError
from privguard.internals.prevention import compliance as C
from privguard.internals.prevention.db import sessions, transaction
from privguard.internals.prevention.ledger import Ledger, Signer
from privguard.internals.prevention.registry import workflow as W
from privguard.internals.prevention.registry.models import Event
from privguard.internals.prevention.registry.models import PrivilegedNumber as N

TODAY = dt.datetime.now(dt.UTC).date()


def _seed(engine: Engine, keys: Path) -> None:
    signer = Signer.load_or_create(keys / "signing.key", name="privguard/registry")
    reg = Ledger(log="registry", signer=signer)
    access = Ledger(log="access", signer=signer.for_name("privguard/access"))
    decisions = Ledger(log="decisions", signer=signer.for_name("privguard/decisions"))
    with transaction(sessions(engine)) as s:
        aid = W.add_attorney(s, reg, "Ada Lovelace", actor="admin:t")
        req = W.submit(s, reg, aid, ["512 555 0134", "512 555 0135", "512 555 0136"], actor="a")
        W.approve(s, reg, req.id, actor="registrar:rita", reason="called")
        bad = W.submit(s, reg, aid, ["512 555 0199"], actor="a")
        W.reject(s, reg, bad.id, actor="registrar:rita", reason="not hers")
        first = s.scalar(select(N.id).order_by(N.id))
        W.end_number(s, reg, first, actor="registrar:rita", reason="line given up")  # type: ignore[arg-type]
        for actor, action, outcome, payload in [
            ("attorney:ada", "login", "ok", {}),
            ("ada", "login", "failed", {}),
            ("auditor:aud", "denied", "refused", {}),
            ("jail-1", "vault.store", "ok", {"role": "facility_system", "items": 1}),
            ("jail-1", "vault.store", "ok", {"role": "facility_system", "items": 1}),
            ("jail-1", "vault.store", "alarm", {"role": "facility_system", "items": 0}),
            ("rita", "vault.quarantine", "ok", {"role": "registrar", "items": 2}),
            ("boss", "vault.purge", "ok", {"role": "admin", "items": 2, "object": "purge_ab12"}),
            ("inv", "vault.play", "refused", {"role": "investigator", "items": 0}),
        ]:
            access.append(s, actor=actor, action=action, reason=outcome, payload=payload)
        for record, reason in [(True, "not_registered")] * 2 + [(False, "registered")] * 3:
            decisions.append(
                s,
                actor="gate",
                action="decision.record" if record else "decision.no_record",
                reason=reason,
                payload={"record": record},
            )
        # Outside the period: must not be counted.
        old = dt.datetime(2001, 1, 1, tzinfo=dt.UTC)
        access.append(s, actor="attorney:x", action="login", reason="ok", payload={}, at=old)


def _recount(engine: Engine) -> dict[str, object]:
    """The same figures by another road: SQL over the tables and the ledger's rows."""
    with sessions(engine)() as s:
        active = s.scalar(select(func.count()).where(N.status == "active"))
        changes = dict(
            s.execute(
                select(Event.action, func.count())
                .where(Event.action.in_(("number.registered", "number.ended")))
                .group_by(Event.action)
            ).all()
        )
        raw = s.execute(
            text("SELECT log, action, reason, actor, payload, at FROM ledger_entries")
        ).all()
    this_year = [r for r in raw if r.at[:4] != "2001"]
    every = Counter(f"{r.action}" for r in this_year if r.log == "registry")
    roles: Counter[str] = Counter()
    stored = quarantined = 0
    for r in this_year:
        if r.log != "access":
            continue
        p = json.loads(r.payload)
        # A failed sign-in names what the caller claimed, not a role: "unknown".
        role = p.get("role") or (r.actor.split(":")[0] if ":" in r.actor else "unknown")
        roles[f"{role} {r.reason}"] += 1
        if r.action == "vault.store" and r.reason == "ok":
            stored += p["items"]
        if r.action == "vault.quarantine" and r.reason == "ok":
            quarantined += p["items"]
    decided = Counter(r.reason for r in this_year if r.log == "decisions")
    return {
        "active": active,
        "registered": changes.get("number.registered"),
        "ended": changes.get("number.ended"),
        "requests": every["request.submitted"],
        "roles": dict(roles),
        "stored": stored,
        "quarantined": quarantined,
        "decided": dict(decided),
    }


def test_figures_equal_a_recount_from_the_database_and_the_ledger(
    db: Engine, tmp_path: Path
) -> None:
    _seed(db, tmp_path)
    signer = Signer.load_or_create(tmp_path / "signing.key", name=C.ORIGIN)
    with sessions(db)() as s:
        written = C.write_report(s, TODAY - dt.timedelta(days=1), TODAY, tmp_path / "r", signer)
    f, again = written.figures, _recount(db)
    assert f["registry"]["active_at_end"] == again["active"] == 2
    assert f["registry"]["active_at_start"] == 0
    assert f["registry"]["changes"]["number.registered"] == again["registered"] == 3
    assert f["registry"]["changes"]["number.ended"] == again["ended"] == 1
    assert f["registry"]["changes"]["request.submitted"] == again["requests"] == 2
    assert f["accesses_by_role"] == again["roles"]
    assert f["vault"]["recordings_stored"] == again["stored"] == 2
    assert f["vault"]["recordings_quarantined"] == again["quarantined"] == 2
    assert f["vault"]["recordings_purged"] == 2 and f["vault"]["certificates"] == ["purge_ab12"]
    assert f["decisions"]["by_outcome"] == {"record": 2, "no_record": 3}
    assert sum(f["decisions"]["by_reason"].values()) == sum(again["decided"].values())  # type: ignore[arg-type]
    assert f["anomalies"] == {
        "login failed": 1,
        "denied refused": 1,
        "vault.store alarm": 1,
        "vault.play refused": 1,
    }
    assert f["logs"]["access"]["size"] == 10  # the 2001 entry is before the period's end
    page = (tmp_path / "r" / "compliance.html").read_text()
    assert "lang='en'" in page and "purge_ab12" in page
    assert (tmp_path / "r" / "compliance.pdf").read_bytes().startswith(b"%PDF")


def test_report_verifies_offline_and_fails_when_touched(db: Engine, tmp_path: Path) -> None:
    _seed(db, tmp_path)
    signer = Signer.load_or_create(tmp_path / "signing.key", name=C.ORIGIN)
    out = tmp_path / "r"
    with sessions(db)() as s:
        C.write_report(s, TODAY, TODAY, out, signer)
    vkey = signer.verifier().vkey
    assert C.verify_report(out / "compliance.sig", vkey) == list(C.FILES)
    other = Signer.generate(C.ORIGIN).verifier().vkey
    with pytest.raises(IntegrityError, match="signature does not verify"):
        C.verify_report(out, other)
    html = out / "compliance.html"
    html.write_text(html.read_text().replace("purge_ab12", "purge_zz99"))
    with pytest.raises(IntegrityError) as err:
        C.verify_report(out, vkey)
    assert "compliance.html: changed since it was signed" in err.value.problems
    with sessions(db)() as s, pytest.raises(Exception, match="does not overwrite"):
        C.write_report(s, TODAY, TODAY, out, signer)


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    else:
        code = 0
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_writes_and_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    out = tmp_path / "report"
    day = TODAY.isoformat()
    code, said, _ = _run(
        ["compliance", "--from", day, "--to", day, "--out", str(out), *data], capsys
    )
    assert code == 0 and "0 numbers protected" in said
    key = str(out / "compliance.vkey")
    code, said, _ = _run(["compliance", "--verify", str(out), "--key", key], capsys)
    assert code == 0 and said.startswith("OK")
    code, _, err = _run(["compliance", "--from", "June", "--to", day, "--out", "x", *data], capsys)
    assert code == 2 and "--from 'June' is not a date" in err
    code, _, err = _run(["compliance", "--verify", str(out)], capsys)
    assert code == 2 and "--verify needs --key" in err
    (out / "compliance.json").write_text("{}")
    code, _, err = _run(["compliance", "--verify", str(out), "--key", key], capsys)
    assert code == 3 and "compliance.json: changed" in err

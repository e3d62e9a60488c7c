"""`privguard registry ...`: the commands end to end, and their exit codes on bad input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, func, select

from privguard.cli import main
from privguard.internals.prevention.registry import api
from privguard.internals.prevention.registry.models import Invitation, PrivilegedNumber
from test_registry_helpers import number, open_registry, write_feed


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def _audit(out: Path) -> Path:
    out.mkdir()
    pq.write_table(
        pa.table(
            {
                "number": [number(0), number(1), number(2), number(3), number(4)],
                "classification": [
                    "registered",
                    "directory_attorney",
                    "confirmed",
                    "candidate",
                    "other",
                ],
                "attorney_name": ["A", "B", None, None, None],
                "evidence": [
                    "on the registry",
                    "bar.csv row 3",
                    "confirmed by review: PD office",
                    "pattern",
                    "too few calls",
                ],
                "review_decision": [None, None, "confirm", None, None],
            }
        ),
        out / "numbers.parquet",
    )
    return out


def test_import_audit_queues_invitations_and_registers_nothing(db: Engine, tmp_path: Path) -> None:
    reg = open_registry(db, tmp_path)
    api.feed(reg, write_feed(tmp_path / "bar.csv", [number(0)]), source="bar_feed")
    out = _audit(tmp_path / "out")
    r = api.audit_invitations(reg, out)
    assert [(i.number, i.classification) for i in r.queued] == [
        (number(1), "directory_attorney"),
        (number(2), "confirmed"),
    ]
    assert r.queued[1].evidence == "confirmed by review: PD office"
    assert (r.rows, r.eligible, r.already_registered) == (5, 2, 0)
    again = api.audit_invitations(reg, out)
    assert (len(again.queued), again.already_invited) == (0, 2)
    with reg.transaction() as s:
        assert s.scalar(select(func.count()).select_from(PrivilegedNumber)) == 1
        assert s.scalar(select(func.count()).select_from(Invitation)) == 2
    assert api.verify(reg).ok


def test_the_whole_round_trip_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reg_dir, site_dir = (
        ["--data-dir", str(tmp_path / "reg")],
        ["--data-dir", str(tmp_path / "site")],
    )
    feed = write_feed(tmp_path / "bar.csv", [number(i) for i in range(3)])
    code, out, _ = run(
        ["registry", "import-feed", str(feed), "--source", "bar_feed", *reg_dir], capsys
    )
    assert code == 0 and "3 added" in out
    code, out, _ = run(
        ["registry", "import-feed", str(feed), "--source", "bar_feed", *reg_dir], capsys
    )
    assert code == 0 and "0 added, 3 unchanged, 0 ended" in out and "0 log entries" in out
    code, vkey, _ = run(["registry", "key", *reg_dir], capsys)
    (tmp_path / "registry.vkey").write_text(vkey)
    snap = tmp_path / "main.snapshot"
    code, out, _ = run(
        ["registry", "snapshot", "--facility", "MAIN", "--out", str(snap), *reg_dir], capsys
    )
    assert code == 0 and "3 numbers for MAIN" in out
    code, out, err = run(
        ["registry", "snapshot", "--facility", "MAIN", "--out", str(snap), *reg_dir], capsys
    )
    assert code == 2 and "does not overwrite" in err
    key = ["--key", str(tmp_path / "registry.vkey")]
    code, out, _ = run(["registry", "import-snapshot", str(snap), *key, *site_dir], capsys)
    assert code == 0 and out.startswith(f"OK: {snap} verified and kept: 3 numbers")
    code, out, _ = run(["registry", "verify", *reg_dir], capsys)
    assert code == 0 and out.startswith("OK:")
    code, out, _ = run(
        [
            "registry",
            "diff",
            "registry",
            str(snap),
            "--facility",
            "MAIN",
            "--on",
            str(dt.date.today() + dt.timedelta(days=7)),
            *reg_dir,
        ],
        capsys,
    )
    assert code == 0 and "Same" in out
    short = tmp_path / "jail.csv"
    short.write_text(f"Phone\n{number(0)}\n")
    code, out, _ = run(
        ["registry", "diff", "registry", str(short), "--facility", "MAIN", *reg_dir], capsys
    )
    assert code == 1 and "2 missing from B" in out and number(2) in out


def test_bad_input_exits_2_with_a_plain_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = ["--data-dir", str(tmp_path / "reg")]
    code, _, err = run(
        ["registry", "import-feed", str(tmp_path / "nope.csv"), "--source", "bar_feed", *d], capsys
    )
    assert code == 2 and err.startswith("Error: ") and "nope.csv" in err
    code, _, err = run(["registry", "import-audit", str(tmp_path), *d], capsys)
    assert code == 2 and "no numbers.parquet here: this is not an audit output folder" in err
    code, _, err = run(["registry", "diff", "registry", "x.csv", *d], capsys)
    assert code == 2 and "comparing against the registry needs --facility" in err
    receipt = ["registry", "verify-receipt", str(tmp_path / "r.txt"), "--key", "junk"]
    code, _, err = run(receipt, capsys)
    assert code == 2 and err.startswith(f"Error: {tmp_path / 'r.txt'}: no such file")
    (tmp_path / "r.txt").write_text("not a receipt\n")
    code, _, err = run(receipt, capsys)
    assert code == 2 and "junk: this is neither a verifier key nor a file" in err
    garbage = tmp_path / "g.snapshot"
    garbage.write_text("hello\n")
    code, _, err = run(["registry", "import-snapshot", str(garbage), *d], capsys)
    assert code == 3 and "not a readable registry snapshot" in err


def test_verify_exits_3_naming_the_tampered_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlalchemy import text

    from privguard.internals.prevention.db import make_engine

    d = ["--data-dir", str(tmp_path / "reg")]
    feed = write_feed(tmp_path / "bar.csv", [number(i) for i in range(3)])
    run(["registry", "import-feed", str(feed), "--source", "bar_feed", *d], capsys)
    eng = make_engine(f"sqlite:///{(tmp_path / 'reg' / 'privguard.db').resolve()}")
    with eng.begin() as c:
        c.execute(text("DELETE FROM registry_numbers WHERE number = :n"), {"n": number(1)})
    eng.dispose()
    code, _, err = run(["registry", "verify", *d], capsys)
    assert code == 3 and "does not match its signed log" in err
    assert f"({number(1)}) is in the ledger" in err

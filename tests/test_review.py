"""The review round trip: export the sheet, fill it in, pass it back as labels."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from privguard.cli import cli
from privguard.errors import InputError
from privguard.internals.audit.identify.api import identify
from privguard.internals.audit.identify.review import export_review
from privguard.internals.audit.paths import AuditPaths
from test_identify_helpers import build, write_calls


def _class_of(out: Path) -> dict[str, tuple[str, str]]:
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT number, classification, evidence FROM '{AuditPaths(out).numbers}'"
    ).fetchall()
    con.close()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_round_trip_confirm_and_reject(tmp_path: Path) -> None:
    pop = build(seed=11)
    out = tmp_path / "out"
    write_calls(pop, out)
    identify(out)
    sheet = export_review(out, tmp_path / "sheet.csv")
    with sheet.open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(r["classification"] == "candidate" for r in rows)
    assert [float(r["score"]) for r in rows] == sorted(
        (float(r["score"]) for r in rows), reverse=True
    )
    assert {"number", "score", "inmates", "business_share", "evidence", "decision", "note"} <= set(
        rows[0]
    )
    # The reviewer confirms the first candidate and rejects the second.
    rows[0]["decision"], rows[0]["note"] = "confirm", "called the office"
    rows[0]["attorney_name"] = "Law Office of Joaquín Núñez"
    rows[1]["decision"], rows[1]["attorney_name"] = "Reject", "Not Anyone"
    with sheet.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    identify(out, labels=sheet)
    classes = _class_of(out)
    assert classes[rows[0]["number"].lstrip("'")] == (
        "confirmed",
        "confirmed by review: called the office",
    )
    assert classes[rows[1]["number"].lstrip("'")] == ("other", "rejected by review")
    # The next sheet keeps the decisions made, so it can be extended run after run.
    again = export_review(out)
    with again.open() as fh:
        decided = {r["number"]: r["decision"] for r in csv.DictReader(fh) if r["decision"]}
    assert decided == {rows[0]["number"]: "confirm", rows[1]["number"]: "reject"}
    # The name given to a confirmed number is the attorney's name from then on (its letter
    # is addressed to it), and the next sheet carries it; a rejected number gets none.
    con = duckdb.connect()
    names = dict(con.execute(
        f"SELECT number, attorney_name FROM '{AuditPaths(out).numbers}'"
    ).fetchall())  # fmt: skip
    con.close()
    assert names[rows[0]["number"].lstrip("'")] == "Law Office of Joaquín Núñez"
    assert names[rows[1]["number"].lstrip("'")] is None
    with again.open() as fh:
        carried = {r["number"]: r["attorney_name"] for r in csv.DictReader(fh) if r["decision"]}
    assert carried == {rows[0]["number"]: "Law Office of Joaquín Núñez", rows[1]["number"]: ""}


def test_unknown_decision_names_the_row(tmp_path: Path) -> None:
    pop = build(seed=11)
    write_calls(pop, tmp_path)
    labels = tmp_path / "labels.csv"
    labels.write_text("number,decision\n+15122000015,maybe\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        identify(tmp_path, labels=labels)
    assert err.value.where == "labels.csv row 2"


def test_cli_writes_the_sheet(tmp_path: Path) -> None:
    pop = build(seed=12)
    write_calls(pop, tmp_path)
    identify(tmp_path)
    result = CliRunner().invoke(cli, ["review", str(tmp_path), "--to", str(tmp_path / "s.csv")])
    assert result.exit_code == 0, result.output
    assert "to review" in result.output and (tmp_path / "s.csv").is_file()


def test_cli_without_an_audit_exits_2_with_a_plain_message(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "from privguard.cli import main; main()", "review", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith(
        f"Error: {AuditPaths(tmp_path).numbers}: the number classification is missing"
    )
    assert "Fix: run 'privguard audit'" in proc.stderr

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
from privguard.internals.audit.identify.sql import REVIEW_COLUMNS
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.common.keys import load_key, pseudonym
from test_identify_helpers import build, write_calls


def _class_of(out: Path) -> dict[str, tuple[str, str]]:
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT number, classification, evidence FROM '{AuditPaths(out).numbers}'"
    ).fetchall()
    con.close()
    return {r[0]: (r[1], r[2]) for r in rows}


def _read(sheet: Path) -> list[dict[str, str]]:
    with sheet.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _write(sheet: Path, rows: list[dict[str, str]]) -> None:
    with sheet.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_round_trip_confirm_and_reject(tmp_path: Path) -> None:
    pop = build(seed=11)
    out = tmp_path / "out"
    write_calls(pop, out)
    identify(out)
    sheet = export_review(out, tmp_path / "sheet.csv")
    rows = _read(sheet)
    assert list(rows[0]) == list(REVIEW_COLUMNS)  # plain names, one per column
    assert rows and all(r["Classification"] == "candidate" for r in rows)
    assert [float(r["Score (0 to 1)"]) for r in rows] == sorted(
        (float(r["Score (0 to 1)"]) for r in rows), reverse=True
    )
    assert not any(r["Pseudonym in the report"] for r in rows)  # no case key: none
    # The reviewer confirms the first candidate and rejects the second.
    rows[0]["Decision"], rows[0]["Note"] = "confirm", "called the office"
    rows[0]["Attorney name"] = "Law Office of Joaquín Núñez"
    rows[1]["Decision"], rows[1]["Attorney name"] = "Reject", "Not Anyone"
    _write(sheet, rows)
    identify(out, labels=sheet)
    classes = _class_of(out)
    first, second = rows[0]["Number"].lstrip("'"), rows[1]["Number"].lstrip("'")
    assert classes[first] == ("confirmed", "confirmed by review: called the office")
    assert classes[second] == ("other", "rejected by review")
    # The next sheet keeps the decisions made, so it can be extended run after run.
    again = export_review(out)
    decided = {r["Number"]: r["Decision"] for r in _read(again) if r["Decision"]}
    assert decided == {rows[0]["Number"]: "confirm", rows[1]["Number"]: "reject"}
    # The name given to a confirmed number is the attorney's name from then on (its letter
    # is addressed to it), and the next sheet carries it; a rejected number gets none.
    con = duckdb.connect()
    names = dict(con.execute(
        f"SELECT number, attorney_name FROM '{AuditPaths(out).numbers}'"
    ).fetchall())  # fmt: skip
    con.close()
    assert names[first] == "Law Office of Joaquín Núñez"
    assert names[second] is None
    carried = {r["Number"]: r["Attorney name"] for r in _read(again) if r["Decision"]}
    assert carried == {rows[0]["Number"]: "Law Office of Joaquín Núñez", rows[1]["Number"]: ""}


def test_a_sheet_with_the_former_column_names_is_still_read(tmp_path: Path) -> None:
    """Sheets written before the plain names (number, decision, attorney_name, note) are
    still read back as decisions, with the attorney's name and the note."""
    pop = build(seed=11)
    out = tmp_path / "out"
    write_calls(pop, out)
    identify(out)
    rows = _read(export_review(out, tmp_path / "new.csv"))
    old = [
        {"number": r["Number"], "classification": r["Classification"], "score": r["Score (0 to 1)"],
         "decision": "", "attorney_name": "", "note": ""}
        for r in rows
    ]  # fmt: skip
    old[0].update(decision="confirm", attorney_name="Ana Gómez, Esq.", note="her cell")
    old[1].update(decision="reject")
    _write(tmp_path / "old.csv", old)
    identify(out, labels=tmp_path / "old.csv")
    classes = _class_of(out)
    assert classes[old[0]["number"].lstrip("'")] == ("confirmed", "confirmed by review: her cell")
    assert classes[old[1]["number"].lstrip("'")] == ("other", "rejected by review")
    again = {r["Number"]: r for r in _read(export_review(out))}
    assert again[old[0]["number"]]["Attorney name"] == "Ana Gómez, Esq."


def test_the_sheet_gives_the_reports_pseudonym(tmp_path: Path) -> None:
    """With the case key (as the report pseudonymizes), each row names the number as the
    report does, so the reviewer can match the sheet to the report; the key next to OUT
    is found by default."""
    pop = build(seed=11)
    out = tmp_path / "out"
    write_calls(pop, out)
    identify(out)
    key = load_key(out)  # OUT/../case.key, as the report creates it
    for sheet in (export_review(out, tmp_path / "a.csv", key=key), export_review(out)):
        rows = _read(sheet)
        assert rows
        for r in rows:
            want = pseudonym(key, "number", r["Number"].lstrip("'"))
            assert r["Pseudonym in the report"] == want


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


def test_cli_review_uses_the_case_files_key_file(tmp_path: Path) -> None:
    """With a custom [privacy] key_file, `privguard review --config` fills the pseudonym
    column with the key the audit used (it was empty: review looked only beside OUT)."""
    pop = build(seed=12)
    out = tmp_path / "out"
    write_calls(pop, out)
    key_file = tmp_path / "secrets" / "k.key"
    key_file.parent.mkdir()
    key = load_key(out, key_file)  # created where the case file says, as the audit does
    case = tmp_path / "case.toml"
    case.write_text(f'[privacy]\nkey_file = "{key_file.as_posix()}"\n', encoding="utf-8")
    identify(out, review_key=key)
    audit_sheet = _read(AuditPaths(out).review)
    assert audit_sheet and all(r["Pseudonym in the report"] for r in audit_sheet)
    sheet = tmp_path / "s.csv"
    done = CliRunner().invoke(cli, ["review", str(out), "--to", str(sheet), "--config", str(case)])
    assert done.exit_code == 0, done.output
    assert _read(sheet) == audit_sheet
    # Without the case file the key is not found: the column is empty, and a warning says why.
    done = CliRunner().invoke(cli, ["review", str(out), "--to", str(sheet)])
    assert done.exit_code == 0 and not any(r["Pseudonym in the report"] for r in _read(sheet))

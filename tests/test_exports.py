"""Exports: spreadsheet-safe CSV and XLSX, Parquet, and a Datasette-ready SQLite database."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest

from privguard.internals.report.exports import csv_cell, neutralize
from test_report_fixture import run_report

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> Path:
    paths, _ = run_report(tmp_path_factory.mktemp("exports"))
    return paths["out"] / "exports"


@pytest.mark.parametrize(
    "raw", ["=1+1", "+SUM(1,2)", "-2+3", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("x")']
)
def test_neutralize_prefixes_formula_starts(raw: str) -> None:
    assert neutralize(raw) == "'" + raw
    assert csv_cell(raw).startswith("'")


@pytest.mark.parametrize("raw", ["Jane", "1+1", "a=b", "", "'quoted"])
def test_neutralize_leaves_plain_text(raw: str) -> None:
    assert neutralize(raw) == raw


def test_csv_has_no_live_formulas(exports: Path) -> None:
    files = sorted(exports.glob("*.csv"))
    assert {f.stem for f in files} >= {"privileged_calls", "attorney_numbers", "by_month"}
    seen_prefixed = set()
    for f in files:
        with open(f, newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    assert not cell.startswith(DANGEROUS), (f.name, cell)
                    if cell.startswith("'"):
                        seen_prefixed.add(cell[1:2])
    # The fixture holds an attorney named "=Evil Esq", a recording ref "+SUM(1,2)" and
    # E.164 numbers: all must have been neutralized, so the test can fail.
    assert {"=", "+"} <= seen_prefixed
    text = (exports / "attorney_numbers.csv").read_text()
    assert "'=Evil Esq" in text and "'+15125550101" in text


def test_xlsx_has_no_formulas_and_numbers_stay_text(exports: Path) -> None:
    wb = openpyxl.load_workbook(exports / "findings.xlsx")
    assert "privileged_calls" in wb.sheetnames
    phones = 0
    for ws in wb:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                if isinstance(c.value, str) and c.value.startswith(DANGEROUS):
                    assert E164.match(c.value), (ws.title, c.coordinate, c.value)
                    assert c.data_type == "s"
                    phones += 1
    assert phones > 0
    names = [r[1].value for r in wb["attorney_numbers"].iter_rows(min_row=2)]
    assert "'=Evil Esq" in names
    assert wb.properties.created is not None and wb.properties.created.year == 2013


def test_parquet_and_csv_agree(exports: Path) -> None:
    for f in exports.glob("*.parquet"):
        table = pq.read_table(f)
        with open(exports / f"{f.stem}.csv", newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == table.column_names
        assert len(rows) - 1 == table.num_rows
    # Parquet keeps values as computed: no apostrophes.
    names = pq.read_table(exports / "attorney_numbers.parquet").column("attorney_name").to_pylist()
    assert "=Evil Esq" in names


def test_sqlite_is_browsable(exports: Path) -> None:
    con = sqlite3.connect(exports / "findings.db")
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"privileged_calls", "attorney_numbers", "facilities", "by_month"} <= tables
    for t in tables:
        pk = [r[1] for r in con.execute(f'PRAGMA table_info("{t}")') if r[5]]
        assert pk, f"{t} has no primary key"
    fks = {(r[2], r[3]) for r in con.execute('PRAGMA foreign_key_list("privileged_calls")')}
    assert ("attorney_numbers", "number") in fks and ("facilities", "facility") in fks
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    indexed = {r[1] for r in con.execute('PRAGMA index_list("privileged_calls")')}
    assert any("number" in i for i in indexed)
    n_db = con.execute("SELECT count(*) FROM privileged_calls").fetchone()[0]
    assert n_db == pq.read_table(exports / "privileged_calls.parquet").num_rows
    summary = json.loads((exports.parent / "summary.json").read_text())
    assert n_db == summary["privileged_calls"]
    recorded = con.execute("SELECT sum(recorded) FROM attorney_numbers").fetchone()[0]
    assert recorded == summary["privileged_calls_recorded"]
    meta = json.loads((exports / "metadata.json").read_text())
    described = meta["databases"]["findings"]["tables"]
    assert set(described) == tables
    for t in tables:
        cols = {r[1] for r in con.execute(f'PRAGMA table_info("{t}")')}
        assert set(described[t]["columns"]) == cols
        assert described[t]["title"] and described[t]["description"]


def test_readme_documents_phone_numbers(exports: Path) -> None:
    text = (exports / "README.txt").read_text()
    assert "'+15125550134" in text and "apostrophe" in text


def test_datasette_serves_titles_and_links(exports: Path) -> None:
    """The real Datasette (a dev tool, skipped when absent) reads the database and metadata."""
    pytest.importorskip("datasette")
    import subprocess
    import sys

    def get(path: str) -> str:
        res = subprocess.run(
            [sys.executable, "-m", "datasette", "findings.db", "-m", "metadata.json", "--get", path],
            cwd=exports, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert res.returncode == 0, res.stderr[-2000:]
        return res.stdout

    rows = json.loads(get("/findings/privileged_calls.json?_shape=array&_size=5"))
    assert rows and set(rows[0]) >= {"call_id", "number", "sources"}
    page = get("/findings/privileged_calls")
    assert "Calls to attorney numbers" in page and "attorney number called" in page
    number = rows[0]["number"].replace("+", "~2B")  # Datasette's tilde encoding
    assert "Links from other tables" in get(f"/findings/attorney_numbers/{number}")


def test_engine_csv_matches_python_writer(exports: Path) -> None:
    """privileged_calls.csv is written by DuckDB; it must hold the very bytes the Python
    writer (csv module + csv_cell) gives for the same rows, taken from the Parquet copy."""
    table = pq.read_table(exports / "privileged_calls.parquet")
    assert table.num_rows > 0
    import io

    buf = io.StringIO(newline="")
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(table.column_names)
    out.writerows([csv_cell(v) for v in row.values()] for row in table.to_pylist())
    assert (exports / "privileged_calls.csv").read_text(encoding="utf-8") == buf.getvalue()


def test_xlsx_continues_a_table_past_the_sheet_limit(tmp_path: Path) -> None:
    """Rows beyond a sheet's limit go on further sheets, each with the header: none lost."""
    import datetime as dt

    from privguard.internals.report.exports import TableSheets, open_xlsx
    from privguard.internals.report.tables import Column, ExportTable

    table = ExportTable(
        "privileged_calls", "t", "d", "SELECT 1",
        (Column("call_id", "INTEGER", "id"), Column("number", "TEXT", "n")), ("call_id",),
    )  # fmt: skip
    rows = [(i, f"+1512555{i:04d}") for i in range(7)]
    path = tmp_path / "x.xlsx"
    wb = open_xlsx(path, dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    head, text = wb.add_format({"bold": True}), wb.add_format({"num_format": "@"})
    sheets = TableSheets(wb, table, head, text, max_rows=4)  # 3 data rows per sheet
    sheets.write(rows[:2])
    sheets.write(rows[2:])
    sheets.close()
    wb.close()
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["privileged_calls", "privileged_calls (2)", "privileged_calls (3)"]
    got = []
    for ws in book.worksheets:
        values = list(ws.iter_rows(values_only=True))
        assert values[0] == ("call_id", "number")
        assert len(values) <= 4
        got.extend(values[1:])
    assert got == rows

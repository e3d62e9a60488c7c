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

from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.report.exports import csv_cell, neutralize
from privguard.internals.audit.report.tables import export_tables
from test_report_fixture import run_report

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> Path:
    paths, _ = run_report(tmp_path_factory.mktemp("exports"))
    return AuditPaths(paths["out"]).exports


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
    exported = {t.name for t in export_tables(True)}
    # The others are the full-text indexes (<table>_fts) and SQLite's tables behind them.
    assert all(re.fullmatch(r"\w+_fts(_\w+)?", t) for t in tables - exported), tables
    for t in tables & exported:
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
    assert set(described) == tables & exported == exported
    for t in exported:
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


# --- findings.xlsx: the engine-built workbook against the former xlsxwriter writer ---------


def _reference_xlsx(path: Path, tables: list, rows: dict, max_rows: int = 1_048_576) -> None:
    """The former writer (xlsxwriter, one Python call per cell), kept as the reference for
    cell values and types: E.164 text as text cells with the "@" style, other text
    neutralized, bools as booleans, numbers as numbers, dates as date cells (ISO text
    before 1900-03-01, where Excel's serials are wrong)."""
    import datetime as dt

    import xlsxwriter

    from privguard.internals.audit.report.exports import _plain

    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False, "constant_memory": True})  # fmt: skip
    text = wb.add_format({"num_format": "@"})
    day = wb.add_format({"num_format": "yyyy-mm-dd"})
    when = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for t in tables:
        data, part = rows[t.name], 1
        while True:
            name = t.name[:31] if part == 1 else f"{t.name[:24]} ({part})"
            ws = wb.add_worksheet(name)
            for c, col in enumerate(t.columns):
                ws.write_string(0, c, col.name)
            chunk, data = data[: max_rows - 1], data[max_rows - 1 :]
            for r, row in enumerate(chunk, start=1):
                for c, value in enumerate(row):
                    if t.columns[c].xlsx_as == "timestamp" and value is not None:
                        value = dt.datetime.fromisoformat(value)  # text elsewhere
                    if isinstance(value, (dt.date, dt.datetime)):
                        if value >= type(value)(1900, 3, 1):  # Excel's exact serials
                            fmt = when if isinstance(value, dt.datetime) else day
                            ws.write_datetime(r, c, value, fmt)
                            continue
                        value = _plain(value)
                    if value is None:
                        continue
                    if isinstance(value, bool):
                        ws.write_boolean(r, c, value)
                    elif isinstance(value, (int, float)):
                        ws.write_number(r, c, value)
                    elif E164.match(str(value)):
                        ws.write_string(r, c, str(value), text)
                    else:
                        ws.write_string(r, c, neutralize(str(value)))
            part += 1
            if not data:
                break
    wb.close()


def _cells(path: Path) -> dict[str, list[list[tuple]]]:
    """Every cell as openpyxl reads it: (value, type, number format) per sheet."""
    book = openpyxl.load_workbook(path)
    return {
        ws.title: [[(c.value, c.data_type, c.number_format) for c in r] for r in ws.iter_rows()]
        for ws in book.worksheets
    }


def _write_book(ex, path: Path, tables: list, max_rows: int = 1_048_576) -> list[int]:
    import datetime as dt

    from privguard.internals.audit.report.xlsx import XlsxBook

    book = XlsxBook(path, dt.datetime(2013, 12, 31, 22, 52, tzinfo=dt.UTC), max_rows=max_rows)
    parts = [book.add_table(ex, t, order_by=t.engine_csv_order) for t in tables]
    book.close()
    return parts


def test_xlsx_cells_equal_the_former_writer(exports: Path, tmp_path: Path) -> None:
    """Every cell of the engine-built findings.xlsx (value, type, number format) equals
    what the former xlsxwriter writer gives for the same rows (the Parquet copies), and
    each sheet keeps the header look: bold, frozen, filtered."""
    from privguard.internals.audit.report.tables import export_tables

    tables = export_tables(True)
    rows = {t.name: [tuple(r.values()) for r in pq.read_table(exports / f"{t.name}.parquet").to_pylist()] for t in tables}  # fmt: skip
    _reference_xlsx(tmp_path / "ref.xlsx", tables, rows)
    got, want = _cells(exports / "findings.xlsx"), _cells(tmp_path / "ref.xlsx")
    assert got.pop("Columns")  # the column descriptions: test_xlsx_describes_every_column
    assert list(got) == [t.name for t in tables] == list(want)
    for name in want:
        assert got[name][0] == want[name][0], name
        assert got[name][1:] == want[name][1:], name
        assert len(got[name]) == len(rows[name]) + 1
    book = openpyxl.load_workbook(exports / "findings.xlsx")
    for ws in book.worksheets:
        assert ws.freeze_panes == "A2" and ws["A1"].font.b and ws.auto_filter.ref


HOSTILE = [
    "<b>&amp; \"q\" 'a'</b>", "a\x00b\x01c\x0bd\x1fe", "cr\rlf\r\nend", "tab\tin", "\t=1", "\r=1",
    "=1+1", "+SUM(1,2)", "-2+3", "@SUM(A1)", "+15125550101", "+15125550101\n", "+1512", "",
    "x" * 40_000, "é" * 20_000, "José Núñez 😀 中文 עברית", "_x0041_ literal", "  lead", "trail ",
    "\n", "\u00a0nbsp", "a\ufffeb\uffff", "line1\nline2\n\nline4", "a,b|c;d", "\\N",
]  # fmt: skip


def test_xlsx_hostile_text_equals_the_former_writer(tmp_path: Path) -> None:
    """XML metacharacters, control characters, very long text, unicode, formula starts,
    numbers, booleans, dates and NULLs: cells equal the former writer's, as read by
    openpyxl; python-calamine reads the same values; rows split across sheets at the
    limit (here 4 rows a sheet) exactly; two writes give the same bytes."""
    import datetime as dt

    import pyarrow as pa
    from python_calamine import CalamineWorkbook

    from privguard.internals.audit.engines import connect
    from privguard.internals.audit.report.tables import Column, ExportTable

    n = len(HOSTILE)
    data = pa.table({
        "id": list(range(n)),
        "txt": HOSTILE,
        "num": [0.1 + 0.2, 1e-7, 12345678901234567.0, -0.0, 2.5, None] * (n // 6) + [1.0] * (n % 6),
        "big": [2**60, -1, 0, None] * (n // 4) + [7] * (n % 4),
        "flag": [True, False, None] * (n // 3) + [True] * (n % 3),
        "day": [dt.date(2013, 1, 2), None, dt.date(1899, 5, 6)] * (n // 3)
        + [dt.date(1999, 12, 31)] * (n % 3),
        "at": [dt.datetime(2013, 5, 6, 7, 8, 9), dt.datetime(2013, 5, 6, 7, 8, 9, 120)] * (n // 2)
        + [None] * (n % 2),
    })  # fmt: skip
    ex = connect()
    ex.register_arrow("hostile", data)
    cols = tuple(Column(c, "TEXT" if c == "txt" else "INTEGER", c) for c in data.column_names)
    tables = [
        ExportTable("calls", "t", "d", "SELECT * FROM hostile", cols, ("id",), engine_csv_order="id"),
        ExportTable("small", "t", "d", "SELECT * FROM hostile ORDER BY id DESC", cols, ("id",)),
    ]  # fmt: skip
    parts = _write_book(ex, tmp_path / "new.xlsx", tables, max_rows=5)
    assert parts == [-(-n // 4)] * 2
    rows = {t.name: [tuple(r) for r in ex.fetchall(t.query + (" ORDER BY id" if t.engine_csv_order else ""))] for t in tables}  # fmt: skip
    _reference_xlsx(tmp_path / "ref.xlsx", tables, rows, max_rows=5)
    got, want = _cells(tmp_path / "new.xlsx"), _cells(tmp_path / "ref.xlsx")
    assert list(got) == list(want)
    assert list(got)[:3] == ["calls", "calls (2)", "calls (3)"]
    for name in want:
        assert got[name] == want[name], name
    assert sum(len(v) - 1 for v in got.values()) == 2 * n
    cal = CalamineWorkbook.from_path(str(tmp_path / "new.xlsx"))
    ref = CalamineWorkbook.from_path(str(tmp_path / "ref.xlsx"))
    for name in want:
        assert cal.get_sheet_by_name(name).to_python() == ref.get_sheet_by_name(name).to_python()
    first = (tmp_path / "new.xlsx").read_bytes()
    _write_book(ex, tmp_path / "new.xlsx", tables, max_rows=5)
    assert (tmp_path / "new.xlsx").read_bytes() == first
    assert not list(tmp_path.glob(".xlsx-*")), "scratch rows left behind"


def test_xlsx_never_passes_text_through_as_xml(tmp_path: Path) -> None:
    """Text that looks like SpreadsheetML (xlsxwriter wrote "<r>...</r>" raw) stays text."""
    import pyarrow as pa

    from privguard.internals.audit.engines import connect
    from privguard.internals.audit.report.tables import Column, ExportTable

    evil = "<r><t>x</t></r>"
    ex = connect()
    ex.register_arrow("t", pa.table({"id": [1], "s": [evil]}))
    cols = (Column("id", "INTEGER", "i"), Column("s", "TEXT", "s"))
    _write_book(
        ex, tmp_path / "x.xlsx", [ExportTable("t", "t", "d", "SELECT * FROM t", cols, ("id",))]
    )
    assert openpyxl.load_workbook(tmp_path / "x.xlsx")["t"]["B2"].value == evil


def test_xlsx_continues_a_table_past_the_sheet_limit(tmp_path: Path) -> None:
    """Rows beyond a sheet's limit go on further sheets, each with the header: none lost."""
    import pyarrow as pa

    from privguard.internals.audit.engines import connect
    from privguard.internals.audit.report.tables import Column, ExportTable

    rows = [(i, f"+1512555{i:04d}") for i in range(7)]
    ex = connect()
    ex.register_arrow(
        "t", pa.table({"call_id": [r[0] for r in rows], "number": [r[1] for r in rows]})
    )
    table = ExportTable(
        "privileged_calls", "t", "d", "SELECT * FROM t",
        (Column("call_id", "INTEGER", "id"), Column("number", "TEXT", "n")), ("call_id",),
        engine_csv_order="call_id",
    )  # fmt: skip
    path = tmp_path / "x.xlsx"
    assert _write_book(ex, path, [table], max_rows=4) == [3]  # 3 data rows per sheet
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["privileged_calls", "privileged_calls (2)", "privileged_calls (3)"]
    got = []
    for ws in book.worksheets:
        values = list(ws.iter_rows(values_only=True))
        assert values[0] == ("call_id", "number")
        assert len(values) <= 4
        assert ws.freeze_panes == "A2"
        got.extend(values[1:])
    assert got == rows


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 1 << 20])
def test_copy_lines_splits_sheets_exactly_at_any_block_size(chunk: int) -> None:
    """A sheet takes exactly its rows from the rows file whatever the read block size."""
    import io

    from privguard.internals.audit.report.xlsx import copy_lines

    lines = [f'<row r="{i}">{"é" * (i % 5)}x</row>\n'.encode() for i in range(23)]
    src = io.BytesIO(b"".join(lines))
    got = []
    for n in (10, 10, 3):
        out = io.BytesIO()
        copy_lines(src, out, n, chunk=chunk)
        got.append(out.getvalue())
    assert got == [b"".join(lines[:10]), b"".join(lines[10:20]), b"".join(lines[20:])]
    with pytest.raises(AssertionError):
        copy_lines(src, io.BytesIO(), 1, chunk=chunk)


def test_privileged_calls_carry_a_violation_column(exports: Path) -> None:
    """recorded although registered that day, as the summary counts registry violations."""
    con = sqlite3.connect(exports / "findings.db")
    rows = con.execute(
        "SELECT recorded, registered_then, registry_violation FROM privileged_calls"
    ).fetchall()
    con.close()
    assert rows and all(v == int(bool(r and t)) for r, t, v in rows)
    summary = json.loads((exports.parent / "summary.json").read_text())
    assert sum(v for _, _, v in rows) == summary["registry_violations"]


def test_xlsx_dates_are_date_cells(exports: Path) -> None:
    """Call times and registry dates are Excel dates with a date format, not text, so a
    spreadsheet sorts, filters and computes with them; the CSV keeps the same text."""
    import datetime as dt

    book = openpyxl.load_workbook(exports / "findings.xlsx")
    ws = book["privileged_calls"]
    head = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2) if r[head.index("start_local")].value)
    for name in ("start_utc", "start_local"):
        cell = row[head.index(name)]
        assert isinstance(cell.value, dt.datetime), (name, cell.value)
        assert cell.is_date and cell.number_format == "yyyy-mm-dd hh:mm:ss"
    call_id = row[head.index("call_id")].value
    with open(exports / "privileged_calls.csv", newline="", encoding="utf-8") as fh:
        want = next(r for r in csv.DictReader(fh) if r["call_id"] == str(call_id))
    assert row[head.index("start_utc")].value == dt.datetime.fromisoformat(want["start_utc"])
    ws = book["attorney_numbers"]
    head = [c.value for c in ws[1]]
    days = [r[head.index("registered_from")] for r in ws.iter_rows(min_row=2)]
    days = [c for c in days if c.value is not None]
    assert days and all(
        isinstance(c.value, dt.datetime) and c.number_format == "yyyy-mm-dd" for c in days
    )


def test_xlsx_describes_every_column(exports: Path) -> None:
    """A last sheet "Columns" gives (sheet, column, meaning) for every column of every
    table's sheet, in sheet order, with the same meanings as the Datasette metadata."""
    from privguard.internals.audit.report.tables import export_tables

    book = openpyxl.load_workbook(exports / "findings.xlsx")
    assert book.sheetnames[-1] == "Columns"
    rows = [tuple(c.value for c in r) for r in book["Columns"].iter_rows()]
    assert rows[0] == ("sheet", "column", "meaning")
    want = [(t.name, c.name, c.description) for t in export_tables(True) for c in t.columns]
    assert rows[1:] == want
    for name in {r[0] for r in want}:
        assert [r[1] for r in want if r[0] == name] == [c.value for c in book[name][1]]
    meta = json.loads((exports / "metadata.json").read_text())["databases"]["findings"]
    assert meta["tables"]["privileged_calls"]["columns"]["start_utc"] == next(
        r[2] for r in rows if r[:2] == ("privileged_calls", "start_utc")
    )


def test_findings_db_has_full_text_search(exports: Path) -> None:
    """findings.db carries FTS5 indexes over names, numbers and facilities, and the
    Datasette metadata points each table to its index (so Datasette shows a search box)."""
    con = sqlite3.connect(exports / "findings.db")
    name, facility = con.execute(
        "SELECT attorney_name, facility FROM privileged_calls WHERE attorney_name IS NOT NULL "
        "ORDER BY call_id LIMIT 1"
    ).fetchone()
    word = max(re.findall(r"\w+", name), key=len)
    found = con.execute(
        "SELECT p.call_id FROM privileged_calls_fts f JOIN privileged_calls p "
        "ON p.rowid = f.rowid WHERE privileged_calls_fts MATCH ? ORDER BY p.call_id",
        [f'attorney_name:"{word}"'],
    ).fetchall()
    want = con.execute(
        "SELECT call_id FROM privileged_calls WHERE attorney_name LIKE ? ORDER BY call_id",
        [f"%{word}%"],
    ).fetchall()
    assert found and found == want
    hits = con.execute(
        "SELECT count(*) FROM facilities_fts WHERE facilities_fts MATCH ?", [f'"{facility}"']
    ).fetchone()[0]
    assert hits == 1
    meta = json.loads((exports / "metadata.json").read_text())["databases"]["findings"]
    for table in ("privileged_calls", "attorney_numbers", "facilities", "by_inmate"):
        fts = meta["tables"][table]["fts_table"]
        assert (
            con.execute(f'SELECT count(*) FROM "{fts}"').fetchone()
            == con.execute(f'SELECT count(*) FROM "{table}"').fetchone()
        )
    con.close()

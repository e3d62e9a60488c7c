"""XLSX sheets with blank rows: a blank row is not a record (as a blank CSV line is not)."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import xlsxwriter

from privguard.internals.audit.ingest.api import ingest


def test_blank_rows_are_skipped_counted_and_rows_count_records(tmp_path: Path) -> None:
    rng = random.Random(7)
    dump = tmp_path / "dump"
    dump.mkdir()
    book = xlsxwriter.Workbook(dump / "calls.xlsx")
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet("March")
    sheet.write_row(0, 0, ["Dialed Number", "Call Start", "Minutes"])
    records: list[list[str]] = []
    blank_rows: list[int] = []  # 1-based spreadsheet rows left blank
    line = 1
    for i in range(40):
        if rng.random() < 0.2:
            blank_rows.append(line + 1)
            if i % 2:
                sheet.write_row(line, 0, ["", ""])  # empty strings are blank cells too
            line += 1
        rec = [f"555{rng.randrange(10**7):07d}", f"2013-03-{1 + i % 28:02d} 09:{i:02d}:00", str(i)]
        sheet.write_row(line, 0, rec)
        records.append(rec)
        line += 1
    for k in range(3):  # formatted but empty rows after the last record
        sheet.write_blank(line + k, 0, None, bold)
    book.close()
    assert blank_rows  # the seed leaves blank rows in the middle

    result = ingest(dump, tmp_path / "work")
    (t,) = result.tables
    assert t["rows_read"] == len(records) == t["rows_accepted"] and t["rows_rejected"] == 0
    (warning,) = t["warnings"]
    assert warning.startswith(f"{len(blank_rows)} blank row(s) skipped")
    assert f"spreadsheet row {blank_rows[0]}" in warning
    got = duckdb.sql(
        f"SELECT src_row, dialed_number, start, duration "
        f"FROM read_parquet('{tmp_path}/work/ingested/*.parquet') ORDER BY src_row"
    ).fetchall()
    # row = the record's index among records: blank rows are not counted.
    assert [(r, [n, s, d]) for r, n, s, d in got] == list(enumerate(records, 1))

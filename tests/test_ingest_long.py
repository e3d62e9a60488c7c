"""A record too long for the reader is rejected at its own index, never lost (issue 12, item 1).

DuckDB lost a line longer than its read buffer (about 32 MB) without a trace: 11 records
gave "read 10, accepted 10, rejected 0", and the next record took the lost one's number.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest

from privguard.internals.audit.ingest.api import ingest

MB = 1 << 20


@pytest.fixture(params=["streamed", "parallel"])
def parse_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "parallel":
        monkeypatch.setattr("privguard.internals.audit.ingest.write.PARALLEL_PARSE_BYTES", 0)
    return str(request.param)


def _row(i: int, name: str) -> str:
    return f"F1,{name},+1 212 555 {1000 + i},2020-01-01 10:00:00,60"


@pytest.mark.parametrize("size_mb", [3, 33])
def test_a_huge_record_is_rejected_not_lost(tmp_path: Path, parse_mode: str, size_mb: int) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    names = [f"N{i}" for i in range(11)]
    names[4] = "X" * (size_mb * MB)
    lines = ["facility,inmate,dialed_number,start,duration", _row(0, names[0]), ""]
    lines += [_row(i, n) for i, n in enumerate(names) if i]
    (dump / "calls.csv").write_text("\n".join(lines) + "\n")
    result = ingest(dump, tmp_path / "work")
    (table,) = result.tables
    assert (table["rows_read"], table["rows_accepted"], table["rows_rejected"]) == (11, 10, 1)
    rows = duckdb.sql(
        "SELECT src_row, coalesce(inmate_name, inmate_account) FROM "
        f"read_parquet('{tmp_path}/work/ingested/*.parquet') ORDER BY src_row"
    ).fetchall()
    assert rows == [(i + 1, n) for i, n in enumerate(names) if i != 4]
    csv.field_size_limit(64 * MB)
    with open(tmp_path / "work" / "rejects.csv", newline="", encoding="utf-8") as fh:
        (rej,) = list(csv.DictReader(fh))
    assert rej["row"] == "5" and "too long" in rej["reason"]
    assert rej["raw"].startswith("F1,XXXX") and f"{len(_row(4, names[4])):,} bytes" in rej["raw"]
    report = json.loads((tmp_path / "work" / "ingest_report.json").read_text())
    assert report["totals"]["rows_read"] == 11


def test_a_huge_record_in_a_file_with_quotes_is_rejected_not_lost(tmp_path: Path) -> None:
    """A file with a quote character anywhere was read as it was: 33 MB in one record
    vanished ("read 10"). A long line that is a whole record is now taken out there too,
    and its index counts a quoted value spanning lines (with a blank line in it) once."""
    dump = tmp_path / "dump"
    dump.mkdir()
    names = [f'"N, {i}"' for i in range(11)]
    names[1] = '"two\n\nlines"'
    names[4] = "X" * (33 * MB)
    lines = ["facility,inmate,dialed_number,start,duration", _row(0, names[0]), ""]
    lines += [_row(i, n) for i, n in enumerate(names) if i]
    (dump / "calls.csv").write_text("\n".join(lines) + "\n")
    result = ingest(dump, tmp_path / "work")
    (table,) = result.tables
    assert (table["rows_read"], table["rows_accepted"], table["rows_rejected"]) == (11, 10, 1)
    rows = duckdb.sql(
        "SELECT src_row, coalesce(inmate_name, inmate_account) FROM "
        f"read_parquet('{tmp_path}/work/ingested/*.parquet') ORDER BY src_row"
    ).fetchall()
    assert [r[0] for r in rows] == [1, 2, 3, 4, 6, 7, 8, 9, 10, 11]
    assert rows[1][1] == "two\n\nlines"
    csv.field_size_limit(64 * MB)
    with open(tmp_path / "work" / "rejects.csv", newline="", encoding="utf-8") as fh:
        (rej,) = list(csv.DictReader(fh))
    assert rej["row"] == "5" and "too long" in rej["reason"]

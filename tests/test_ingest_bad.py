"""Bad input: truncated files, wrong encodings, broken quoting, dumps with other statements.

In every case the reconciliation is exact: per table, the ingested ``src_row`` values and the
rejected rows are together exactly 1..rows_read, each once.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import shutil
from pathlib import Path

import duckdb
import pytest

from privguard.internals.audit.ingest.api import ingest

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"


@pytest.fixture(autouse=True, params=["streamed", "parallel"])
def parse_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run every case both ways a delimited file is parsed: small files stream, large ones
    are numbered as a parallel parse hands them over; the positions and rejects must agree."""
    if request.param == "parallel":
        monkeypatch.setattr("privguard.internals.audit.ingest.write.PARALLEL_PARSE_BYTES", 0)
    return str(request.param)


def assert_reconciled(work: Path) -> dict[tuple[str, str], dict]:
    """Every table: accepted rows + rejected rows == 1..rows_read exactly; returns the tables."""
    report = json.loads((work / "ingest_report.json").read_text())
    with open(work / "rejects.csv", newline="", encoding="utf-8") as fh:
        rejects = list(csv.DictReader(fh))
    con = duckdb.connect()
    files = list((work / "ingested").glob("*.parquet"))
    rows = (
        con.execute(
            f"SELECT src_file, src_table, src_row FROM read_parquet({[str(f) for f in files]})"
        ).fetchall()
        if files
        else []
    )
    tables = {}
    for t in report["tables"]:
        key = (t["file"], t["table"])
        tables[key] = t
        assert t["rows_read"] == t["rows_accepted"] + t["rows_rejected"], t
        got = sorted(r[2] for r in rows if (r[0], r[1]) == key)
        bad = sorted(int(r["row"]) for r in rejects if (r["file"], r["table"]) == key)
        assert len(got) == t["rows_accepted"] and len(bad) == t["rows_rejected"], key
        assert sorted(got + bad) == list(range(1, t["rows_read"] + 1)), key
    totals = report["totals"]
    assert totals["rows_read"] == totals["rows_accepted"] + totals["rows_rejected"]
    return tables


def _ingest_fixture(tmp_path: Path, *names: str):
    dump = tmp_path / "dump"
    dump.mkdir()
    for name in names:
        shutil.copy(FIXTURES / name, dump / name)
    result = ingest(dump, tmp_path / "work")
    return result, assert_reconciled(tmp_path / "work")


def _values(work: Path, column: str) -> dict[int, str]:
    con = duckdb.connect()
    return dict(
        con.execute(
            f"SELECT src_row, {column} FROM read_parquet('{work}/ingested/*.parquet')"
        ).fetchall()
    )


def _rejected_rows(work: Path) -> list[int]:
    with open(work / "rejects.csv", newline="", encoding="utf-8") as fh:
        return [int(r["row"]) for r in csv.DictReader(fh)]


def test_truncated_csv(tmp_path: Path) -> None:
    _, tables = _ingest_fixture(tmp_path, "truncated.csv")
    t = tables[("truncated.csv", "truncated")]
    assert (t["rows_read"], t["rows_rejected"]) == (3, 1)
    assert _rejected_rows(tmp_path / "work") == [3]


def test_truncated_gzip_rejects_the_cut_record(tmp_path: Path) -> None:
    _, tables = _ingest_fixture(tmp_path, "truncated.csv.gz")
    t = tables[("truncated.csv.gz", "truncated")]
    assert t["rows_rejected"] == 1 and t["rows_read"] > 1000
    assert any("truncated" in w for w in t["warnings"])
    # Every accepted row is whole: the duration equals the row's index (as generated).
    durations = _values(tmp_path / "work", "duration")
    assert all(int(v) == row - 1 for row, v in durations.items())


def test_broken_quoting(tmp_path: Path) -> None:
    _, tables = _ingest_fixture(tmp_path, "broken_quotes.csv")
    assert tables[("broken_quotes.csv", "broken_quotes")]["rows_rejected"] == 2
    assert _rejected_rows(tmp_path / "work") == [2, 4]


def test_ragged_and_blank_lines(tmp_path: Path) -> None:
    _, tables = _ingest_fixture(tmp_path, "ragged.csv", "blank_lines.csv")
    assert tables[("blank_lines.csv", "blank_lines")]["rows_read"] == 6
    with open(tmp_path / "work" / "rejects.csv", newline="", encoding="utf-8") as fh:
        raws = {(r["file"], r["row"]): r["raw"] for r in csv.DictReader(fh)}
    assert raws[("blank_lines.csv", "3")] == "3125550003,2013-01-01 12:00:00"
    numbers = _values(tmp_path / "work", "dialed_number")
    # The number encodes the record index in these fixtures: provenance must agree.
    assert all(int(n[-1]) == row for row, n in numbers.items())


def test_encodings(tmp_path: Path) -> None:
    _, tables = _ingest_fixture(tmp_path, "latin1.csv", "mixed_encoding.csv")
    latin = tables[("latin1.csv", "latin1")]
    assert latin["rows_rejected"] == 0 and any("latin-1" in w for w in latin["warnings"])
    mixed = tables[("mixed_encoding.csv", "mixed_encoding")]
    assert mixed["rows_rejected"] == 1  # the one latin-1 line in a UTF-8 file
    con = duckdb.connect()
    names = {
        r[0]
        for r in con.execute(
            f"SELECT inmate_name FROM read_parquet('{tmp_path}/work/ingested/*.parquet')"
        ).fetchall()
    }
    assert {"café", "Müller", "Zoë Ünal", "Jürgen", "Ana ☎"} <= names


def test_sql_dump_with_other_statements_executes_nothing(tmp_path: Path) -> None:
    result, tables = _ingest_fixture(tmp_path, "other_statements.sql")
    t = tables[("other_statements.sql", "calls")]
    # rows 1-3 parse; row 4 lacks columns; the last INSERT was cut off mid-string.
    assert (t["rows_read"], t["rows_accepted"], t["rows_rejected"]) == (5, 3, 2)
    numbers = _values(tmp_path / "work", "dialed_number")
    # Neither the UPDATE nor the DELETE nor the DROP took effect: they were never run.
    assert numbers == {1: "3125550001", 2: "3125550002", 3: "3125550003"}
    warnings = " ".join(w["warning"] for w in result.warnings)
    for kind in ("UPDATE", "DELETE FROM", "GRANT", "DROP TABLE"):
        assert f"{kind} statement" in warnings
    assert "truncated" in warnings
    notes = _values(tmp_path / "work", "json_extract_string(extras, '$.note')")
    assert notes[1] == "it's" and notes[3] == "a),(b"


def test_truncated_pg_dump(tmp_path: Path) -> None:
    result, tables = _ingest_fixture(tmp_path, "pg_truncated.sql")
    t = tables[("pg_truncated.sql", "calls")]
    assert (t["rows_read"], t["rows_rejected"]) == (4, 1)
    notes = _values(tmp_path / "work", "json_extract_string(extras, '$.note')")
    assert notes == {1: "line\nbreak", 2: None, 3: "back\\slash"}
    assert any("truncated" in w["warning"] for w in result.warnings)


def test_damaged_files_are_listed_not_dropped(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    (dump / "broken.sqlite").write_bytes(b"SQLite format 3\x00" + b"\x00" * 50)
    (dump / "readme.pdf").write_bytes(b"%PDF-1.4")
    shutil.copy(FIXTURES / "truncated.csv", dump / "calls.csv")
    result = ingest(dump, tmp_path / "work")
    assert {s["file"] for s in result.skipped_files} == {
        "broken.xlsx",
        "broken.sqlite",
        "readme.pdf",
    }
    assert_reconciled(tmp_path / "work")


@pytest.mark.parametrize(
    ("seed", "n", "quotes", "encoding"),
    [
        (1, 20_000, True, "utf-8"),
        (2, 60_000, True, "utf-8"),
        (4, 60_000, False, "utf-8"),
        (5, 60_000, False, "latin-1"),
        pytest.param(3, 1_500_000, True, "utf-8", marks=pytest.mark.slow),
    ],
)
def test_random_damage_exact_positions(
    tmp_path: Path, seed: int, n: int, quotes: bool, encoding: str
) -> None:
    """Blank lines, multi-line quoted fields and damaged records at known places: rejects
    land exactly there. The slow case (~70 MB) is split by DuckDB's parallel scanner.
    Without quotes every record is one line and UTF-8 rejects are placed by their byte
    position (latin-1 is re-encoded before DuckDB counts bytes, so it keeps line numbers)."""
    rng = random.Random(seed)
    dump = tmp_path / "dump"
    dump.mkdir()
    bad = set(rng.sample(range(1, n + 1), 300 + n // 1000))
    lines = ["dialed,start,duration,note"]
    for i in range(1, n + 1):
        notes = (
            ["x", '"multi\nline"', '"q ""uoted"""', "", '"a,b"'] if quotes else ["x", "", "café"]
        )
        note = rng.choice(notes)
        row = f"{3120000000 + i},2013-01-01 00:00:{i % 60:02d},{i},{note}"
        if i in bad:
            stray = f"ERR,{3120000000 + i},2013-01-01 00:00:00,{i},"  # accepted shifted by DuckDB
            row = rng.choice([row + ",extra", f"{3120000000 + i},2013-01-01", stray])
        lines.append(row)
        if rng.random() < 0.01:
            lines.append("")
    (dump / "big.csv").write_text("\n".join(lines) + "\n", encoding=encoding)
    ingest(dump, tmp_path / "work")
    assert_reconciled(tmp_path / "work")
    assert sorted(_rejected_rows(tmp_path / "work")) == sorted(bad)
    durations = _values(tmp_path / "work", "duration")
    assert all(int(v) == row for row, v in durations.items())


def test_empty_and_all_rejected_tables(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "header_only.csv").write_text("Phone,Start\n")
    (dump / "zero.csv").write_text("")
    (dump / "all_bad.csv").write_text("Phone,Start\n1,2,3\n4,5,6\n")
    (dump / "ok.csv").write_text("Phone,Start\n3125550001,2013-01-01 10:00\n")
    result = ingest(dump, tmp_path / "work")
    status = {t["file"]: (t["status"], t["rows_read"], t["rows_rejected"]) for t in result.tables}
    assert status == {
        "header_only.csv": ("empty", 0, 0),
        "zero.csv": ("empty", 0, 0),
        "all_bad.csv": ("empty", 2, 2),
        "ok.csv": ("ingested", 1, 0),
    }
    assert result.totals["tables_ingested"] == 1
    assert_reconciled(tmp_path / "work")


def test_empty_dump_folder(tmp_path: Path) -> None:
    (tmp_path / "dump").mkdir()
    result = ingest(tmp_path / "dump", tmp_path / "work")
    assert result.tables == [] and result.totals["rows_read"] == 0
    assert (tmp_path / "work" / "rejects.csv").read_text() == "file,table,row,reason,raw\n"


def test_corrupt_rows_do_not_flip_the_delimiter(tmp_path: Path) -> None:
    """Commas inside names and a few broken rows must not make a ';' file look comma-separated."""
    from privguard.internals.audit.ingest.readers.delimited.dialect import sniff

    header = "CALL_SEQ;facility;name;Destination Number;CallStartUTC;Minutes"
    good = "1;CO05;ST. JOHN, JACOB;(213) 880-5730;12/31/2011 00:52:13;20"
    rows = (
        [header] + [good] * 45 + [good + ";extra"] * 3 + ["2;CO05;JONES, ROSA;(303) 908-3299"] * 2
    )
    delim, _, parsed = sniff("\n".join(rows) + "\n")
    assert delim == ";"
    assert len(parsed[0]) == 6


def test_stray_field_with_empty_last_field_is_rejected(tmp_path: Path) -> None:
    """DuckDB accepts a record with one extra, empty, last field shifted by one column."""
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "calls.csv").write_text(
        "dialed_number,start,recording\n"
        "5551230001,2013-01-02 10:00:00,rec1.wav\n"
        "ERR,5551230002,2013-01-02 11:00:00,\n"  # three fields plus a stray one: misaligned
        "5551230003,2013-01-02 12:00:00,\n"
    )
    ingest(dump, tmp_path / "work")
    assert_reconciled(tmp_path / "work")
    with open(tmp_path / "work" / "rejects.csv", newline="") as fh:
        rejects = list(csv.DictReader(fh))
    assert [int(r["row"]) for r in rejects] == [2]
    assert rejects[0]["raw"] == "ERR,5551230002,2013-01-02 11:00:00,"
    assert "Expected Number of Columns: 3 Found: 4" in rejects[0]["reason"]
    assert _values(tmp_path / "work", "dialed_number") == {1: "5551230001", 3: "5551230003"}


def test_stray_field_around_quoted_line_breaks_in_gzip(tmp_path: Path) -> None:
    """The check re-parses on one thread when records span lines (DuckDB cannot pad them
    in parallel), and reads gzip files it cannot scan for a trailing delimiter."""
    dump = tmp_path / "dump"
    dump.mkdir()
    body = (
        'phone,start,note\n3125550001,2013-01-02 10:00:00,"two\nlines"\n'
        "3125550002,2013-01-02 11:00:00,\nERR,3125550003,2013-01-02 12:00:00,\n"
        '3125550004,2013-01-02 13:00:00,"z,z"\n'
    )
    with gzip.open(dump / "calls.csv.gz", "wt") as fh:
        fh.write(body)
    ingest(dump, tmp_path / "work")
    assert_reconciled(tmp_path / "work")
    assert _rejected_rows(tmp_path / "work") == [3]
    assert sorted(_values(tmp_path / "work", "dialed_number")) == [1, 2, 4]


def test_a_delimiter_ending_every_record_is_the_files_habit(tmp_path: Path) -> None:
    """Exports that end every data line in a delimiter (not the header) keep their records."""
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "calls.csv").write_text(
        "dialed_number,start\n5551230001,2013-01-02 10:00:00,\n5551230002,2013-01-02 11:00:00,\n"
    )
    result = ingest(dump, tmp_path / "work")
    assert_reconciled(tmp_path / "work")
    assert _rejected_rows(tmp_path / "work") == []
    (table,) = result.tables
    assert table["rows_accepted"] == 2
    assert any("one empty field more than the 2 columns" in w for w in table["warnings"])


def test_a_reject_across_a_read_buffer_boundary_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB 2.0's rejects-storing parse stops for good after a record that is too long and
    crosses a read-buffer boundary; the rest of the file vanished without a trace. The
    fixture is the 170 kB around such a record in a 144 M synth table (where 23,054 of
    265,967 records were lost), with the boundary moved to that record."""
    monkeypatch.setattr(
        "privguard.internals.audit.ingest.readers.delimited.table.READ_BUFFER", 150_197
    )
    dump = tmp_path / "dump"
    dump.mkdir()
    with gzip.open(FIXTURES / "reject_at_buffer_boundary.tsv.gz", "rb") as fh:
        data = fh.read()
    (dump / "export.tsv").write_bytes(data)
    result = ingest(dump, tmp_path / "work")
    assert_reconciled(tmp_path / "work")
    (table,) = result.tables
    assert table["rows_read"] == data.count(b"\n") - 1  # one record a line, after the header
    assert table["rows_rejected"] == len(_rejected_rows(tmp_path / "work")) > 0

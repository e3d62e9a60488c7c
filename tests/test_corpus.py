"""Issue 12 item 3: every file of ``../shared/corpus`` (real files from peer projects' tests).

Each file is ingested alone in a fresh dump folder. It either ingests with its rows
accounted for (per table rows read = accepted + rejected, and the ingested and rejected rows
are exactly those counts), or ends in a clean :class:`~privguard.errors.PrivguardError`
that names it. Few of these files are call records, so a file whose tables cannot be mapped
(a clean ``MappingError``) is ingested again with a mapping that takes each table's first
column as both the number and the start: its rows then flow, and what the corpus README
(``§2.1``-``§2.4``) says a file must give is asserted on them.

The corpus is not copied into the repository: without it these tests are skipped.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest

from privguard.errors import MappingError, PrivguardError
from privguard.internals.audit.engines import connect
from privguard.internals.audit.ingest.api import ingest
from privguard.internals.audit.ingest.discover import discover
from privguard.internals.audit.ingest.readers.probe import probe
from privguard.internals.audit.ingest.readers.xlsx import read_xlsx
from privguard.internals.audit.ingest.settings import MappingRule, Settings

CORPUS = Path(__file__).parents[2] / "shared" / "corpus"
if not CORPUS.is_dir():  # in a worktree (wt/<name>) the shared folder is one level higher
    CORPUS = Path(__file__).parents[3] / "shared" / "corpus"
FILES = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.is_file())


@dataclass
class Outcome:
    """What ingesting one corpus file gave."""

    tables: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    error: PrivguardError | None = None
    mapped: bool = False  # ingested with the first-column mapping
    rows: list[dict[str, Any]] = field(default_factory=list)  # ingested rows, in order
    rejects: list[dict[str, str]] = field(default_factory=list)

    def table(self, name: str | None = None) -> dict[str, Any]:
        """The one table (or the table called ``name``)."""
        found = [t for t in self.tables if name is None or t["table"] == name]
        assert len(found) == 1, [t["table"] for t in self.tables]
        return found[0]

    def counts(self, name: str | None = None) -> tuple[int, int, int]:
        t = self.table(name)
        return t["rows_read"], t["rows_accepted"], t["rows_rejected"]

    def values(self, column: str, table: str | None = None) -> list[Any]:
        """A source column of the ingested rows, in order (mapped first column or extras)."""
        out = []
        for r in self.rows:
            if table is not None and r["src_table"] != table:
                continue
            extras = json.loads(r["extras"])
            out.append(extras[column] if column in extras else r["dialed_number"])
        return out


def _first_column_mapping(dump: Path, scratch: Path) -> Settings:
    """A rule per table mapping its first column onto the number and the start."""
    scratch.mkdir(parents=True)
    files, _, _ = discover(dump, scratch / "extract")
    rules = []
    ex = connect()
    try:
        for k, src in enumerate(files):
            tables = probe(ex, src, scratch, f"c{k:03d}")
            if not tables and src.format == "xlsx":  # XLS, XLSB, ODS: no probe, the full read
                tables = read_xlsx(src, scratch, f"c{k:03d}")
            for s in tables:
                if s.columns:
                    cols = (("dialed_number", (s.columns[0],)), ("start", (s.columns[0],)))
                    rules.append(MappingRule(src.name, s.table, cols))
    finally:
        ex.close()
    return Settings(tuple(rules))


def _read_back(work: Path, out: Outcome) -> None:
    files = sorted((work / "ingested").glob("*.parquet"))
    if files:
        con = duckdb.connect()
        cur = con.execute(
            f"SELECT * FROM read_parquet({[str(f) for f in files]}) ORDER BY table_id, src_row"
        )
        names = [d[0] for d in cur.description]
        out.rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    with open(work / "rejects.csv", newline="", encoding="utf-8") as fh:
        out.rejects = list(csv.DictReader(fh))


def run(rel: str, tmp: Path) -> Outcome:
    """Ingest one corpus file alone; map it by its first column if it cannot be mapped."""
    dump = tmp / "dump"
    dump.mkdir()
    shutil.copy(CORPUS / rel, dump / Path(rel).name)
    out = Outcome()
    try:
        try:
            result = ingest(dump, tmp / "work")
        except MappingError:
            out.mapped = True
            rules = _first_column_mapping(dump, tmp / "probe")
            result = ingest(dump, tmp / "work", mapping=rules)
    except PrivguardError as exc:
        out.error = exc
        return out
    out.tables, out.skipped = result.tables, result.skipped_files
    _read_back(tmp / "work", out)
    return out


def assert_accounted(rel: str, out: Outcome) -> None:
    """Rows read = accepted + rejected, per table, and exactly those rows were written."""
    if out.error is not None:
        assert Path(rel).name in out.error.render(), out.error.render()
        assert out.error.fix, out.error.render()
        return
    for t in out.tables:
        key = (t["file"], t["table"])
        assert t["rows_read"] == t["rows_accepted"] + t["rows_rejected"], t
        rows = sorted(r["src_row"] for r in out.rows if (r["src_file"], r["src_table"]) == key)
        bad = sorted(int(r["row"]) for r in out.rejects if (r["file"], r["table"]) == key)
        assert (len(rows), len(bad)) == (t["rows_accepted"], t["rows_rejected"]), key
        assert sorted(rows + bad) == list(range(1, t["rows_read"] + 1)), key
    for s in out.skipped:
        assert s["reason"], s


# What the corpus README states a file must give (its section in brackets).
Check = Callable[[Outcome], None]


def _spectrum(rows: int) -> Check:
    """csv-spectrum (§2.1): the row count of the JSON file, and its cell values."""

    def check(out: Outcome) -> None:
        assert out.counts()[1:] == (rows, 0)

    return check


def _spectrum_cells(name: str) -> Check:
    """csv-spectrum (§2.1): every cell equals the upstream JSON's."""
    expected = json.loads((CORPUS / "csv-spectrum" / "json" / f"{name}.json").read_text("utf-8"))

    def check(out: Outcome) -> None:
        assert out.counts()[1:] == (len(expected), 0)
        for column in expected[0]:
            want = [r[column] for r in expected]
            got = [v if v is not None else "" for v in out.values(column)]
            assert got == want, column

    return check


def _counts(read: int, accepted: int, rejected: int, table: str | None = None) -> Check:
    def check(out: Outcome) -> None:
        assert out.counts(table) == (read, accepted, rejected)

    return check


def _error_or_skipped(out: Outcome) -> None:
    """A file that cannot be read is a clean error or listed as skipped, never 0 rows read."""
    assert out.error is not None or out.skipped, out.tables
    assert not any(t["rows_accepted"] for t in out.tables)


EXPECT: dict[str, Check] = {
    **{
        f"csv-spectrum/csvs/{name}.csv": _spectrum_cells(name)
        for name in (
            "comma_in_quotes",
            "empty",
            "empty_crlf",
            "escaped_quotes",
            "json",
            "newlines",
            "newlines_crlf",
            "quotes_and_newlines",
            "simple",
            "simple_crlf",
            "utf8",
        )
    },
    "csv-spectrum/csvs/latin1.csv": _spectrum(2),
    "csv-spectrum/csvs/newlines_cr.csv": _spectrum_cells("newlines_cr"),
    "csv-spectrum/csvs/null.csv": lambda out: assert_null_policy(out),
    "csv-spectrum/csvs/location_coordinates.csv": _spectrum(1),
    # duckdb-csv (§2.2)
    "duckdb-csv/encodings/latin1.csv": _counts(12, 12, 0),
    "duckdb-csv/encodings/utf16.csv": _counts(20, 20, 0),
    "duckdb-csv/test/mixed_line_endings.csv": _counts(3, 3, 0),
    "duckdb-csv/rejects/incorrect_columns/small_mix.csv": _counts(4, 2, 2),
    "duckdb-csv/rejects/unquoted/unquoted_new_line.csv": _counts(7, 6, 1),
    "duckdb-csv/test/test_comp.csv.gz": _counts(2, 2, 0),
    "duckdb-csv/test/test_comp.csv.gzz": _counts(2, 2, 0),  # gzip by its magic bytes
    "duckdb-csv/test/concat.gz": _counts(14, 14, 0),  # concatenated members, no inner suffix
    "duckdb-csv/empty.csv": lambda out: assert_empty(out),
    "duckdb-csv/auto/utf8bom.csv": lambda out: assert_bom_header(out),
    "duckdb-csv/leading_zeros.csv": lambda out: assert_text_kept(out, "09001"),
    "duckdb-csv/phonenumbers.csv": lambda out: assert_text_kept(out, "+318855443322"),
    # Notes before the header: the table is the line "345.0,TEST4,2000-12-13" (and TEST3).
    "duckdb-csv/auto/multiple_skip_row.csv": lambda out: assert_after_notes(out, "TEST4"),
    "duckdb-csv/auto/skip_row.csv": lambda out: assert_after_notes(out, "TEST3"),
    # §2.5: 70 attorneys.
    "nys-attorney-registrations/nys_attorney_registrations_sample.csv": _counts(70, 70, 0),
    # SQL dumps (§2.4)
    "test_db/load_departments.dump": _counts(9, 9, 0),
    "test_db/load_dept_manager.dump": _counts(24, 24, 0),
    "pgshift/testdump.sql": _counts(3, 3, 0),
    "pgshift/example_dump.sql": lambda out: assert_pgshift_example(out),
    # calamine (§2.3)
    "calamine/pass_protected.xlsx": _error_or_skipped,
    # openpyxl raises IndexError on it; privguard's reader reads its 195 rows.
    "calamine/minimal_package.xlsx": _counts(195, 195, 0),
    "calamine/too_small.xls": _error_or_skipped,
    # A fuzzed file that made calamine panic: now read as one empty sheet, and reported so.
    "calamine/issue_666_panic.xlsb": lambda out: assert_reported_empty(out),
    "calamine/issue_594_dos.ods": _error_or_skipped,
    "calamine/strict_iso_paths.xlsx": lambda out: assert_not_silent(out),
    "calamine/date.xlsx": lambda out: assert_dates(out),
    "calamine/date_1904.xlsx": lambda out: assert_dates(out),
    # The same dates in the legacy and other formats (an .xlsb was opened as a zip archive).
    "calamine/date.xls": lambda out: assert_dates(out),
    "calamine/date_1904.xls": lambda out: assert_dates(out),
    "calamine/date.xlsb": lambda out: assert_dates(out),
    "calamine/date.ods": lambda out: assert_dates(out, duration=False),
    "calamine/string-ref.xlsx": lambda out: assert_string_ref(out),
    "calamine/any_sheets.xlsx": lambda out: assert_hidden_sheets(out),
    # A table at B4: the probe saw an empty column A that the full read does not.
    "calamine/temperature-in-middle.xlsx": lambda out: assert_temperature(out),
    "calamine/errors.xlsx": lambda out: assert_error_cells(out),
}


def assert_null_policy(out: Outcome) -> None:
    """privguard's policy (§2.1 asks for one): a CSV cell is text as written. ``NULL`` and
    ``"NULL"`` are both the text NULL (evidence is never reinterpreted); only an empty cell
    is NULL. (csv-spectrum's JSON turns the unquoted one into "".)"""
    assert out.counts() == (3, 3, 0)
    assert out.values("b") == [None, "NULL", "NULL"]


def assert_bom_header(out: Outcome) -> None:
    """The byte-order mark is not part of the first column's name; rows 1 Mark, 2 Hannes."""
    table = out.table()
    assert table["mapping"]["dialed_number"] == "id"
    assert out.values("id") == ["1", "2"]
    assert [r["inmate_name"] for r in out.rows] == ["Mark", "Hannes"]  # "name" is a synonym


def assert_text_kept(out: Outcome, value: str) -> None:
    """An identifier stays the text it was (leading zero, leading +)."""
    assert value in out.values("column1") + [r["dialed_number"] for r in out.rows]


def assert_after_notes(out: Outcome, marker: str) -> None:
    """Free-text lines before the header are not records: one row, read as three columns."""
    assert out.counts()[1] == 1
    assert json.loads(out.rows[0]["extras"]).get("text") == marker


def assert_empty(out: Outcome) -> None:
    """``empty.csv`` (0 bytes): no rows and a message saying so, not a crash."""
    assert out.error is None
    assert sum(t["rows_read"] for t in out.tables) == 0
    assert out.tables and out.tables[0]["status"] == "empty"


def assert_pgshift_example(out: Outcome) -> None:
    """12 lines: 11 accepted, and row 8 (``eight   8<TAB>foo``: 2 fields of 3) rejected."""
    assert out.counts() == (12, 11, 1)
    assert [int(r["row"]) for r in out.rejects] == [8]
    assert out.rejects[0]["raw"].startswith("eight   8")


def assert_not_silent(out: Outcome) -> None:
    """Strict OOXML: rows read, or a clean refusal; never "0 rows" as a success."""
    if out.error is None and not out.skipped:
        assert sum(t["rows_read"] for t in out.tables) > 0, out.tables


def assert_dates(out: Outcome, duration: bool = True) -> None:
    """A1/A2 are 2021-01-01 and 2021-01-02 in both date systems; A3 is 255:10:10, not wrapped.

    ``date.ods`` holds other values after A1 (a date-time and times of day).
    """
    cells = [str(v) for v in out.values("column1")] if out.rows else []
    assert cells[:1] == ["2021-01-01"], cells
    if duration:
        assert cells[1:3] == ["2021-01-02", "255:10:10"], cells


def assert_temperature(out: Outcome) -> None:
    """Columns label and value from B4; rows celsius and fahrenheit."""
    assert out.counts() == (2, 2, 0)
    assert out.table()["mapping"]["dialed_number"] == "label"
    assert out.values("label") == ["celsius", "fahrenheit"]


def assert_reported_empty(out: Outcome) -> None:
    """No rows, and said so: a clean error, a skipped file or tables reported empty."""
    assert not out.rows
    assert out.error is not None or out.skipped or all(t["status"] == "empty" for t in out.tables)


def assert_string_ref(out: Outcome) -> None:
    """``-8086931554011838357`` stored as text stays that text, never a float."""
    seen = [
        str(v) for r in out.rows for v in [r["dialed_number"], *json.loads(r["extras"]).values()]
    ]
    assert "-8086931554011838357" in seen, seen


def assert_hidden_sheets(out: Outcome) -> None:
    """Hidden and very hidden sheets are read or reported, never dropped silently."""
    named = {t["table"] for t in out.tables} | {s["file"] for s in out.skipped}
    warned = " ".join(w for t in out.tables for w in t.get("warnings", []))
    for sheet in ("Hidden", "VeryHidden"):
        assert sheet in named or sheet in warned, (named, warned)


def assert_error_cells(out: Outcome) -> None:
    """``#DIV/0!``, ``#NAME?``... (A1:A7 of Feuil1) are flagged, never taken as data."""
    assert not out.rows
    assert any(
        "7 cell(s) hold a spreadsheet error" in w and "A1" in w
        for w in out.table("Feuil1")["warnings"]
    )


# Files that still fail, each with why (none now: the last four passed with issue 12's
# reject placing and notes before the header).
XFAIL: dict[str, str] = {}


def _param(rel: str) -> Any:
    if rel in XFAIL:
        return pytest.param(rel, marks=pytest.mark.xfail(strict=True, reason=XFAIL[rel]))
    return rel


@pytest.mark.slow  # about a second a file, 150 files
@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent")
@pytest.mark.parametrize("rel", [_param(f) for f in FILES] or ["(no corpus)"])
def test_corpus_file(rel: str, tmp_path: Path) -> None:
    out = run(rel, tmp_path)
    assert_accounted(rel, out)
    check = EXPECT.get(rel)
    if check is not None:
        check(out)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent")
def test_every_stated_expectation_names_a_corpus_file() -> None:
    """A file renamed upstream must not silently drop its assertions."""
    assert set(EXPECT) - set(FILES) == set()
    assert set(XFAIL) <= set(FILES)


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
@pytest.mark.parametrize("at_end", [True, False])
def test_a_one_character_record_keeps_its_place(
    tmp_path: Path, ending: bytes, at_end: bool
) -> None:
    """duckdb-csv ``test/error_too_little.csv`` without the corpus: a short record ``7``.

    DuckDB's byte position of a record is its 1-based first byte; one added to it put a
    one-character record past its own line break, so it took the next record's number.
    """
    rows = [b"dialed_number,start", b"3125550001,2024-01-01 10:00:00", b"7"]
    rows += [] if at_end else [b"3125550002,2024-01-02 10:00:00"]
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "short.csv").write_bytes(ending.join(rows) + ending)
    out = Outcome()
    result = ingest(dump, tmp_path / "work")
    out.tables = result.tables
    _read_back(tmp_path / "work", out)
    assert_accounted("short.csv", out)
    assert [int(r["row"]) for r in out.rejects] == [2]
    assert [r["src_row"] for r in out.rows] == ([1] if at_end else [1, 3])


def test_a_sheet_whose_first_row_holds_dates_has_no_header(tmp_path: Path) -> None:
    """calamine ``date.xlsx`` without the corpus: a first row of a date and a number is a
    record (A1 was taken as a header and lost as data), in the probe and the full read."""
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([dt.datetime(2021, 1, 1, 10, 0), "3125550001", 15])
    sheet.append([dt.datetime(2021, 1, 2, 11, 0), "3125550002", 16])
    named = book.create_sheet("named")
    named.append(["start", "dialed_number"])
    named.append([dt.datetime(2021, 1, 3, 12, 0), "3125550003"])
    dump = tmp_path / "dump"
    dump.mkdir()
    book.save(dump / "calls.xlsx")
    result = ingest(dump, tmp_path / "work")
    counts = {t["table"]: (t["rows_read"], t["mapping"]) for t in result.tables}
    assert counts == {
        "Sheet": (2, {"start": "column1", "dialed_number": "column2"}),
        "named": (1, {"start": "start", "dialed_number": "dialed_number"}),
    }


def test_gzip_text_is_found_by_its_bytes_not_only_its_name(tmp_path: Path) -> None:
    """duckdb-csv ``test_comp.csv.gzz`` and ``concat.gz`` without the corpus: both were
    skipped as "not a table format"."""
    import gzip

    text = b"dialed_number\tstart\n3125550001\t2024-01-01 10:00:00\n"
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "calls.csv.gzz").write_bytes(gzip.compress(text))
    (dump / "more.gz").write_bytes(
        gzip.compress(text) + gzip.compress(text[text.index(b"\n") + 1 :])
    )
    (dump / "image.gz").write_bytes(gzip.compress(b"\x89PNG\r\n\x1a\n\x00\x00"))
    result = ingest(dump, tmp_path / "work")
    assert {t["file"]: t["rows_accepted"] for t in result.tables} == {
        "calls.csv.gzz": 1,
        "more.gz": 2,
    }
    assert [s["file"] for s in result.skipped_files] == ["image.gz"]


@pytest.mark.parametrize("piece", [None, 600])
def test_error_cells_are_flagged_with_the_first_one(
    tmp_path: Path, piece: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """calamine ``errors.xlsx`` without the corpus: python-calamine reads an error cell as
    empty; the table's report says how many there are and where the first is."""
    import openpyxl

    if piece is not None:  # pieces smaller than the sheet: tags cut at every boundary
        monkeypatch.setattr("privguard.internals.audit.ingest.readers.xlsx_errors._PIECE", piece)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["dialed_number", "start"])
    for k in range(40):
        sheet.append([f"31255500{k:02d}", "2024-01-01 10:00:00"])
    sheet.append(["#N/A", "#DIV/0!"])
    for k in range(40):
        sheet.append([f"31255501{k:02d}", "#REF!"])
    dump = tmp_path / "dump"
    dump.mkdir()
    book.save(dump / "calls.xlsx")
    result = ingest(dump, tmp_path / "work")
    (table,) = result.tables
    assert table["rows_read"] == 80  # the row of errors only is skipped as blank
    assert [w for w in table["warnings"] if "spreadsheet error" in w] == [
        "42 cell(s) hold a spreadsheet error (#DIV/0!, #N/A, #REF!...), first at A42: read as "
        "empty, never as data (a row of errors only is skipped as blank)"
    ]

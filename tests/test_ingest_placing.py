"""Where rejected records and notes before the header are placed (issue 12, items 1 and 3).

Every record of a table takes one index: accepted rows and rejected records together are
exactly 1..rows_read, in the order of the file.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest

from privguard.internals.audit.ingest.api import ingest


def _ingest(tmp_path: Path, name: str, data: bytes) -> tuple[dict, list[int], list[dict]]:
    """(the table's report, accepted rows' src_row, rejects.csv rows) of one file."""
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / name).write_bytes(data)
    ingest(dump, tmp_path / "work")
    (table,) = json.loads((tmp_path / "work" / "ingest_report.json").read_text())["tables"]
    files = [str(f) for f in (tmp_path / "work" / "ingested").glob("*.parquet")]
    rows = duckdb.sql(f"SELECT src_row FROM read_parquet({files}) ORDER BY 1").fetchall()
    with open(tmp_path / "work" / "rejects.csv", newline="", encoding="utf-8") as fh:
        rejects = list(csv.DictReader(fh))
    return table, [r[0] for r in rows], rejects


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_a_blank_line_inside_a_quoted_value_is_not_a_blank_line(
    tmp_path: Path, ending: bytes
) -> None:
    """A break after a break inside quotes was counted as a blank line: the rejected record
    after it took the index of the accepted record before it."""
    lines = [
        b"dialed_number,start",
        b'"3125550001' + ending + ending + b'x",2024-01-01 10:00:00',
        b"3125550002",  # one field of two: rejected
        b"3125550003,2024-01-03 10:00:00",
        b"",  # a real blank line: not a record
        b'3125550004,"2024-01-04',
        b'10:00:00",extra',  # a quoted break, then one field too many: rejected
        b"3125550005,2024-01-05 10:00:00",
    ]
    table, rows, rejects = _ingest(tmp_path, "calls.csv", ending.join(lines) + ending)
    assert (table["rows_read"], table["rows_accepted"], table["rows_rejected"]) == (5, 3, 2)
    assert [int(r["row"]) for r in rejects] == [2, 4]
    assert rows == [1, 3, 5]


def test_a_record_duckdb_lists_twice_is_one_record() -> None:
    """Fuzzed files: DuckDB listed one record (one byte position, one raw text) under two
    line numbers, with two faults; later line numbers were one too high."""
    from privguard.internals.audit.ingest.readers.delimited.table import _once

    rej = [
        (3, 40, "TOO MANY COLUMNS", "a,b,c"),
        (4, 40, "UNQUOTED VALUE", "a,b,c"),
        (6, 70, "MISSING COLUMNS", "x"),
        (7, 80, "MISSING COLUMNS", "x"),  # the same text elsewhere: another record
    ]
    assert _once(rej) == [
        (3, 40, "TOO MANY COLUMNS", "a,b,c"),
        (5, 70, "MISSING COLUMNS", "x"),
        (6, 80, "MISSING COLUMNS", "x"),
    ]


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_notes_before_the_header_are_set_aside_as_records(tmp_path: Path, ending: bytes) -> None:
    """duckdb-csv ``auto/multiple_skip_row.csv`` and ``17738_rn.csv`` without the corpus: the
    first note was taken as the header (one column), so every line was a record of it."""
    lines = [
        b"Call detail export",
        b"facility: north, range 2024",
        b"",
        b"dialed_number,start,duration",
        b"3125550001,2024-01-01 10:00:00,60",
        b"3125550002",  # one field of three: rejected
        b"3125550003,2024-01-03 10:00:00,61",
    ]
    table, rows, rejects = _ingest(tmp_path, "calls.csv", ending.join(lines) + ending)
    assert table["mapping"]["dialed_number"] == "dialed_number"
    assert (table["rows_read"], table["rows_accepted"], table["rows_rejected"]) == (5, 2, 3)
    assert [(int(r["row"]), r["raw"]) for r in rejects] == [
        (1, "Call detail export"),
        (2, "facility: north, range 2024"),
        (4, "3125550002"),
    ]
    assert rejects[0]["reason"].startswith("a line of free text before the table")
    assert rows == [3, 5]
    assert "2 line(s) of free text before the table set aside" in table["warnings"]


@pytest.mark.parametrize(
    ("row", "header"),
    [
        (["dialed_number", "start"], True),
        (["number", "text", "date"], True),
        (["10", "hello", "20"], False),  # duckdb-csv test/mixed_line_endings.csv
        (["John", "Doe", "Riverside", " 08075"], False),  # 17738_rn.csv's first record
        (["F1", "+1 212 555 0100", "2024-01-01 10:00:00"], False),
        (["1", "2"], False),
        (["", ""], False),
    ],
)
def test_a_first_row_with_a_value_in_it_is_a_record(row: list[str], header: bool) -> None:
    from privguard.internals.audit.ingest.readers.delimited.dialect import looks_like_header

    assert looks_like_header(row) is header


def test_rejects_placed_inconsistently_are_put_in_order_and_said() -> None:
    """Broken quoting (fuzzed UTF-16 files): DuckDB's line numbers gave two rejects one
    index, or one past the table's end; they keep their order at the nearest free index."""
    import numpy as np

    from privguard.internals.audit.ingest.readers.delimited.table import _in_order

    fixed, moved = _in_order(np.asarray([1, 3, 3, 9]), 8)
    assert (fixed.tolist(), moved) == ([1, 3, 4, 8], True)
    fixed, moved = _in_order(np.asarray([2, 4, 5]), 6)
    assert (fixed.tolist(), moved) == ([2, 4, 5], False)
    fixed, moved = _in_order(np.asarray([0, 0, 7, 7]), 7)
    assert (fixed.tolist(), moved) == ([1, 2, 6, 7], True)


@pytest.mark.parametrize("seed", range(12))
def test_the_line_scan_spares_reading_stretches_without_a_blank_line(
    tmp_path: Path, seed: int
) -> None:
    """Issue 22: with the scan's blank lines given, the placing reads only where one may be,
    and counts exactly what a reading of the whole file counts."""
    import random

    from privguard.internals.audit.ingest.readers.delimited.checks import scan_text
    from privguard.internals.audit.ingest.readers.delimited.placing import (
        quoted_blanks_before,
    )

    rng = random.Random(seed)
    pieces = ["ab", ",", '"', '""', "\n", "\r\n", "\n\n", "\n\r\n", "x", "1"]
    weights = [6, 4, 2, 1, 4, 2, 1 if seed % 3 else 0, 1 if seed % 4 else 0, 6, 6]
    data = "".join(rng.choices(pieces, weights, k=300)).encode()
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    starts = sorted(rng.sample(range(1, len(data)), 6))
    rejects = [(p + 1, data[p : p + rng.randrange(1, 12)].decode()) for p in starts]
    lines = scan_text(path, ",", '"', "utf-8")
    args = (path, False, "utf-8", (",", '"', '"'), rejects, tmp_path / "scratch.txt")
    assert quoted_blanks_before(*args, lines.blank_ends) == quoted_blanks_before(*args)

"""Unmappable tables are reported from the head of each file, before any file is read in full."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import duckdb
import pytest
import xlsxwriter

from privguard.errors import MappingError
from privguard.internals.audit.ingest.api import ingest

ROWS = [(f"Person {i}", 20 + i % 50, f"Block {'ABC'[i % 3]}") for i in range(300)]
COLS = ("inmate", "age", "housing")


class Tasks:
    """A real Progress sink that records which tasks started."""

    def __init__(self) -> None:
        self.started: list[str] = []

    def start(self, task: str, total: float | None = None) -> None:
        self.started.append(task)

    def advance(self, task: str, amount: float = 1) -> None:
        pass

    def finish(self, task: str) -> None:
        pass


def _roster_files(dump: Path) -> dict[str, str]:
    """The same roster (no number, no time) in every format; file -> its first row as text."""
    dump.mkdir()
    (dump / "roster.csv").write_text(
        ",".join(COLS) + "\n" + "".join(f"{a},{b},{c}\n" for a, b, c in ROWS)
    )
    with open(dump / "roster_lines.jsonl", "w") as fh:
        fh.writelines(json.dumps(dict(zip(COLS, r, strict=True))) + "\n" for r in ROWS)
    (dump / "roster_array.json").write_text(
        json.dumps([dict(zip(COLS, r, strict=True)) for r in ROWS])
    )
    duckdb.sql(
        "SELECT * FROM (VALUES " + ",".join(f"('{a}',{b},'{c}')" for a, b, c in ROWS) + ") "
        f"t({', '.join(COLS)})"
    ).write_parquet(str(dump / "roster_pq.parquet"))
    book = xlsxwriter.Workbook(dump / "roster_book.xlsx")
    sheet = book.add_worksheet("Roster")
    sheet.write_row(0, 0, COLS)
    for i, r in enumerate(ROWS):
        sheet.write_row(i + 1, 0, r)
    book.close()
    con = sqlite3.connect(dump / "roster_db.sqlite")
    con.execute(f"CREATE TABLE roster ({', '.join(COLS)})")
    con.executemany("INSERT INTO roster VALUES (?, ?, ?)", ROWS)
    con.commit()
    con.close()
    values = ",".join(f"('{a}',{b},'{c}')" for a, b, c in ROWS)
    (dump / "roster_my.sql").write_text(
        "-- MariaDB dump\nCREATE TABLE `roster` (`inmate` text, `age` int, `housing` text);\n"
        f"INSERT INTO `roster` VALUES {values};\n"
    )
    copy = "".join(f"{a}\t{b}\t{c}\n" for a, b, c in ROWS)
    (dump / "roster_pg.sql").write_text(
        "-- PostgreSQL database dump\nCOPY public.roster (inmate, age, housing) FROM stdin;\n"
        f"{copy}\\.\n"
    )
    return {
        "roster.csv": "roster",
        "roster_lines.jsonl": "roster_lines",
        "roster_array.json": "roster_array",
        "roster_pq.parquet": "roster_pq",
        "roster_book.xlsx": "Roster",
        "roster_db.sqlite": "roster",
        "roster_my.sql": "roster",
        "roster_pg.sql": "roster",
    }


def test_unmappable_tables_of_every_format_fail_before_any_full_read(tmp_path: Path) -> None:
    tables = _roster_files(tmp_path / "dump")
    tasks = Tasks()
    with pytest.raises(MappingError) as info:
        ingest(tmp_path / "dump", tmp_path / "work", progress=tasks)
    assert "reading tables" not in tasks.started  # no file was read in full
    err = info.value
    assert len(err.problems) == len(tables)
    text = err.render()
    for name, table in tables.items():
        (problem,) = [p for p in err.problems if p.startswith(f"{name} (table {table!r})")]
        assert "Columns found: inmate, age, housing" in problem, problem
        assert "First rows: Person 0, 20, Block A; Person 1, 21, Block B" in problem, problem
        assert f'files = "{name}"' in text

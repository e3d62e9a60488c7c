"""Gzip CSV under the archive limits, and its long records (issue 12, items 1 and 4).

DuckDB read a ``.csv.gz`` itself, outside ``[ingest] max_extracted_bytes`` and
``max_compression_ratio``; it is now decompressed within them, like any other gzip file,
and its plain text is read as any CSV is (so a record too long for the reader is found).
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import duckdb
import pytest

from privguard.errors import InputError
from privguard.internals.audit.ingest.api import ingest
from privguard.internals.audit.ingest.limits import Limits

MB = 1 << 20
ROW = b"3125550001,2024-01-01 10:00:00\n"


def test_a_csv_gz_bomb_is_refused_by_the_ratio(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    data = b"dialed_number,start\n" + ROW * (8 * MB // len(ROW))
    (dump / "calls.csv.gz").write_bytes(gzip.compress(data, compresslevel=9))
    with pytest.raises(InputError) as caught:
        ingest(dump, tmp_path / "work")
    assert caught.value.where == "calls.csv.gz"
    assert "[ingest] max_compression_ratio" in caught.value.render()
    result = ingest(dump, tmp_path / "work", limits=Limits(max_compression_ratio=100_000))
    assert result.totals["rows_accepted"] == 8 * MB // len(ROW)


def test_a_csv_gz_counts_toward_the_extracted_total(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    data = b"dialed_number,start\n" + ROW * 1000
    (dump / "calls.csv.gz").write_bytes(gzip.compress(data))
    with pytest.raises(InputError) as caught:
        ingest(dump, tmp_path / "work", limits=Limits(max_extracted_bytes=len(data) - 1))
    assert caught.value.where == "calls.csv.gz"
    assert "[ingest] max_extracted_bytes" in caught.value.render()
    result = ingest(dump, tmp_path / "work", limits=Limits(max_extracted_bytes=len(data)))
    assert result.totals["rows_accepted"] == 1000
    assert result.tables[0]["sha256"] != ""  # the .gz file as it sits in the dump


@pytest.mark.slow
def test_a_huge_record_in_a_gzip_file_is_rejected_not_lost(tmp_path: Path) -> None:
    """33 MB in one record, past DuckDB's read buffer: it vanished from a .csv.gz."""
    dump = tmp_path / "dump"
    dump.mkdir()
    rows = [f"3125550{i:03d},2024-01-01 10:00:00,N{i}" for i in range(11)]
    rows[4] = "3125550004,2024-01-01 10:00:00," + "X" * (33 * MB)
    text = "dialed_number,start,inmate_name\n" + "\n".join(rows) + "\n"
    (dump / "calls.csv.gz").write_bytes(gzip.compress(text.encode(), compresslevel=1))
    result = ingest(dump, tmp_path / "work", limits=Limits(max_compression_ratio=100_000))
    (table,) = result.tables
    assert (table["rows_read"], table["rows_accepted"], table["rows_rejected"]) == (11, 10, 1)
    got = duckdb.sql(
        f"SELECT src_row FROM read_parquet('{tmp_path}/work/ingested/*.parquet') ORDER BY 1"
    ).fetchall()
    assert [r[0] for r in got] == [1, 2, 3, 4, 6, 7, 8, 9, 10, 11]
    csv.field_size_limit(64 * MB)
    with open(tmp_path / "work" / "rejects.csv", newline="", encoding="utf-8") as fh:
        (rej,) = list(csv.DictReader(fh))
    assert rej["row"] == "5" and "too long" in rej["reason"]
    report = json.loads((tmp_path / "work" / "ingest_report.json").read_text())
    assert report["totals"]["rows_read"] == 11

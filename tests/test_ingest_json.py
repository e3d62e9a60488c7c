"""JSON files holding one array of records (not JSON lines)."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import duckdb

from privguard.internals.audit.ingest.api import ingest


def _records(n: int, seed: int) -> list[object]:
    rng = random.Random(seed)
    out: list[object] = []
    for i in range(n):
        rec = {
            "dialed_number": f"555{rng.randrange(10**7):07d}",
            "start_time": f"2013-02-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00",
            "note": rng.choice(["O'Brien", "new\nline", "ünï ☎", "", None, 'q"q']),
        }
        if i % 97 == 5:
            out.append(rng.choice([7, "text", [1, 2], None]))  # not an object: rejected
        else:
            out.append(rec)
    return out


def _rows(work: Path) -> dict[int, tuple[str, str | None]]:
    rows = duckdb.sql(
        f"SELECT src_row, dialed_number, json_extract_string(extras, '$.note') "
        f"FROM read_parquet('{work}/ingested/*.parquet')"
    ).fetchall()
    return {int(r): (num, note) for r, num, note in rows}


def test_json_array_is_one_table_with_row_as_array_index(tmp_path: Path) -> None:
    records = _records(600, 3)
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "calls_2013.json").write_text(json.dumps(records, indent=1, ensure_ascii=False))
    result = ingest(dump, tmp_path / "work")
    (t,) = result.tables
    assert (t["format"], t["table"]) == ("json", "calls_2013")
    bad = [i + 1 for i, r in enumerate(records) if not isinstance(r, dict)]
    assert t["rows_read"] == len(records) and t["rows_rejected"] == len(bad)
    got = _rows(tmp_path / "work")
    for row, (num, note) in got.items():
        src = records[row - 1]
        assert isinstance(src, dict)
        assert (num, note) == (src["dialed_number"], src["note"])
    with open(tmp_path / "work" / "rejects.csv", newline="") as fh:
        rejects = list(csv.DictReader(fh))
    assert [int(r["row"]) for r in rejects] == bad
    assert all(json.loads(r["raw"]) == records[int(r["row"]) - 1] for r in rejects)


def test_broken_json_array_keeps_records_before_the_break(tmp_path: Path) -> None:
    records = _records(50, 4)
    records = [r for r in records if isinstance(r, dict)]
    text = json.dumps(records)
    cut = text.index("{", len(text) // 2)  # a record starts here
    dump = tmp_path / "dump"
    dump.mkdir()
    # Broken syntax in the middle (a missing colon), and a file cut off mid-record.
    (dump / "broken.json").write_text(text[:cut] + '{"dialed_number" "5"}, ' + text[cut:])
    (dump / "cut.json").write_text(text[: cut + 10])
    result = ingest(dump, tmp_path / "work")
    n_before = text[:cut].count("{")
    for t in result.tables:
        assert t["rows_read"] == n_before + 1 == t["rows_accepted"] + t["rows_rejected"]
        assert t["rows_rejected"] == 1 and t["warnings"]
    got = _rows(tmp_path / "work")
    assert sorted(got) == list(range(1, n_before + 1))
    with open(tmp_path / "work" / "rejects.csv", newline="") as fh:
        rejects = {r["file"]: r for r in csv.DictReader(fh)}
    assert rejects["cut.json"]["raw"] == text[cut : cut + 10]
    assert "truncated" in rejects["cut.json"]["reason"]
    assert rejects["broken.json"]["raw"].startswith('{"dialed_number" "5"}')

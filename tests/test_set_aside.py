"""Issue 11 item 4: a row with neither a usable number nor a readable start is never a call."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

import privguard
from privguard.internals.audit.normalize.api import normalize
from privguard.internals.audit.paths import AuditPaths
from test_normalize_helpers import write_ingested

T0 = dt.datetime(2014, 3, 3, 14, 0, 0)
JUNK = [  # what the issue found: no number, "not-a-date", "abc"
    {"dialed_number": None, "start": "not-a-date", "duration": "abc"},
    {"dialed_number": "", "start": "", "duration": None},
    {"dialed_number": "n/a", "start": "unknown", "duration": "12"},
]


def _good(i: int) -> dict[str, str]:
    return {
        "facility": "TX07",
        "inmate_account": f"{100 + i % 5}",
        "dialed_number": f"512-555-{1000 + i % 9:04d}",
        "start": (T0 + dt.timedelta(hours=7 * i)).strftime("%Y-%m-%d %H:%M:%S"),
        "duration": str(60 + 11 * i),
        "status": "completed",
    }


def test_normalize_sets_junk_aside_with_reason_and_provenance(tmp_path: Path) -> None:
    rows = [_good(i) for i in range(40)]
    # Half-usable rows stay: a number without a start, a start without a number.
    rows.append({**_good(41), "start": "garbage"})
    rows.append({**_good(42), "dialed_number": None})
    junk_at = []
    for j, junk in enumerate(JUNK):
        at = 5 + 10 * j
        rows.insert(at, {"facility": "TX07", **junk})
        junk_at.append(at + 1)  # src_row is 1-based
    write_ingested(tmp_path, [{"file": "calls.csv", "rows": rows, "tz_hint": "UTC"}])
    result = normalize(tmp_path)
    kept = pq.read_table(tmp_path / "normalized.parquet").column("src_row").to_pylist()
    assert len(kept) == len(rows) - len(JUNK) == result.rows
    assert not set(kept) & set(junk_at)
    with open(tmp_path / "set_aside.csv", newline="") as fh:
        aside = list(csv.DictReader(fh))
    assert [int(r["row"]) for r in aside] == junk_at
    assert {r["file"] for r in aside} == {"calls.csv"}
    assert all("no usable dialed number" in r["reason"] for r in aside)
    assert aside[0]["start"] == "not-a-date" and aside[0]["duration"] == "abc"
    report = json.loads((tmp_path / "normalize_report.json").read_text())
    assert report["totals"]["rows_set_aside"] == len(JUNK)
    assert report["tables"][0]["rows_set_aside"] == len(JUNK)
    assert any("set aside" in w for w in report["warnings"])


def test_audit_reconciles_rows_read_with_calls_duplicates_and_set_aside(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    header = ["facility", "account", "dialed_number", "start_time", "duration", "status"]
    good = [_good(i) for i in range(60)]
    with open(dump / "calls.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for i, r in enumerate(good):
            w.writerow([r["facility"], r["inmate_account"], r["dialed_number"], r["start"],
                        r["duration"], r["status"]])  # fmt: skip
            if i % 20 == 3:
                w.writerow(["TX07", "", "", "not-a-date", "abc", ""])
    # A second export of the first 30 calls: duplicates that dedupe merges.
    with open(dump / "copy.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in good[:30]:
            w.writerow([r["facility"], r["inmate_account"], r["dialed_number"], r["start"],
                        r["duration"], r["status"]])  # fmt: skip
    out = tmp_path / "out"
    privguard.audit(dump, out)
    paths = AuditPaths(out)
    s = json.loads(paths.summary.read_text())
    assert s["rows_set_aside"] == 3
    assert s["calls"] == 60
    dedupe = json.loads(paths.dedupe_report.read_text())
    dupes = dedupe["rows_in"] - dedupe["calls_out"]
    assert dupes == 30
    assert s["rows_read"] == s["calls"] + dupes + s["rows_set_aside"] + s["rows_rejected"]
    q = f"SELECT count(*) FROM '{paths.calls}' WHERE start_utc IS NULL OR dialed_number IS NULL"
    assert duckdb.sql(q).fetchall() == [(0,)]
    assert paths.set_aside.is_file()
    html = paths.report_html.read_text()
    assert "Rows set aside (not calls)" in html

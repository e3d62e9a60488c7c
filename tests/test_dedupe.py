"""dedupe: near duplicates merged by sort-and-window, distinct calls kept, output deterministic."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from privguard.errors import InputError, SettingsError
from privguard.internals.audit import schema
from privguard.internals.audit.dedupe.api import dedupe
from privguard.internals.audit.dedupe.settings import Settings
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.settings import parse_settings

T0 = dt.datetime(2013, 6, 1, 12, 0, 0)


def _row(table: int, row: int, acct: str, num: str, start: dt.datetime, dur: int,
         rounded: bool = False, **kw: Any) -> dict[str, Any]:  # fmt: skip
    return {
        "row_key": table * (1 << 40) + row, "table_id": table, "src_file": f"t{table}.csv",
        "src_table": f"t{table}", "src_row": row, "facility": "TX07", "inmate_account": acct,
        "inmate_name": kw.get("name"), "dialed_number": num, "number_raw": num,
        "number_status": "valid", "number_key": num, "extension": None, "start_utc": start,
        "duration_s": dur,
        "duration_rounded": rounded, "completed": kw.get("completed", True),
        "completed_from": kw.get("completed_from", "status"),
        "recorded": kw.get("recorded"), "recording_ref": kw.get("ref"), "source_call_id": None,
    }  # fmt: skip


def _write(work: Path, rows: list[dict[str, Any]]) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows).select(list(schema.NORMALIZED_COLUMNS))
    pq.write_table(table, work / "normalized.parquet")
    return work


def _clusters(out: Path) -> list[tuple[list[tuple[str, int]], str]]:
    rows = duckdb.sql(
        f"SELECT [(s.file, s.row) FOR s IN sources], merge_rule FROM '{AuditPaths(out).calls}'"
    ).fetchall()
    return sorted(([tuple(x) for x in r[0]], r[1]) for r in rows)


A, B = "+15125550101", "+15125550199"
S = dt.timedelta(seconds=1)
ROWS = [
    # call 1: billing (exact seconds), recording (billed minutes, 40 s skew), exact copy
    _row(0, 1, "1", A, T0, 125), _row(1, 1, "1", A, T0 + 40 * S, 180, True, ref="r/1.wav"),
    _row(2, 1, "1", A, T0, 125, name="DOE, J"),
    # call 2: same inmate and number 20 minutes later
    _row(0, 2, "1", A, T0 + 1200 * S, 300), _row(1, 2, "1", A, T0 + 1203 * S, 302),
    # a quick redial inside one table: two calls, not copies
    _row(0, 3, "1", B, T0, 5), _row(0, 4, "1", B, T0 + 30 * S, 7),
    # same time and number, another inmate: another call
    _row(0, 5, "2", A, T0, 125),
    # durations incompatible: billed 1 minute cannot be 125 s
    _row(1, 3, "3", A, T0, 60, True), _row(0, 6, "3", A, T0 + 2 * S, 125),
]  # fmt: skip


def test_copies_merge_and_distinct_calls_stay_apart(tmp_path: Path) -> None:
    result = dedupe(_write(tmp_path / "work", ROWS), tmp_path / "out")
    assert _clusters(tmp_path / "out") == [
        ([("t0.csv", 1), ("t1.csv", 1), ("t2.csv", 1)], "billed_minutes"),
        ([("t0.csv", 2), ("t1.csv", 2)], "near_time"),
        ([("t0.csv", 3)], "single"),
        ([("t0.csv", 4)], "single"),
        ([("t0.csv", 5)], "single"),
        ([("t0.csv", 6)], "single"),
        ([("t1.csv", 3)], "single"),
    ]
    assert (result.rows_in, result.calls_out) == (len(ROWS), 7)
    report = json.loads((AuditPaths(tmp_path / "out").dedupe_report).read_text())
    assert report["clusters_per_rule"]["billed_minutes"] == {"clusters": 1, "rows": 3}
    assert report["tolerances"]["time_tolerance_s"] == Settings().time_tolerance_s


def test_survivorship_takes_the_best_value_of_each_field(tmp_path: Path) -> None:
    dedupe(_write(tmp_path / "work", ROWS), tmp_path / "out")
    call = duckdb.sql(
        f"SELECT start_utc, duration_s, duration_rounded, recorded, recording_ref, inmate_name, "
        f"n_sources FROM '{AuditPaths(tmp_path / 'out').calls}' WHERE n_sources = 3"
    ).fetchall()[0]
    # Exact seconds beat billed minutes; the exact copies' start wins; a reference means recorded.
    assert call == (T0, 125, False, True, "r/1.wav", "DOE, J", 3)


def test_tolerances_come_from_settings(tmp_path: Path) -> None:
    work = _write(tmp_path / "work", ROWS)
    strict = dedupe(
        work, tmp_path / "strict", settings=Settings(time_tolerance_s=0, skew_correction=False)
    )
    assert strict.calls_out == 9  # only the exact copy still merges
    assert strict.rules["exact"] == {"clusters": 1, "rows": 2}
    with pytest.raises(SettingsError):
        parse_settings({"dedupe": {"time_tolerance_s": -1}})
    assert parse_settings({"dedupe": {"time_tolerance_s": 30}}).dedupe.time_tolerance_s == 30


def test_reruns_are_byte_identical(tmp_path: Path) -> None:
    work = _write(tmp_path / "work", list(reversed(ROWS)))
    digests = set()
    for name in ("a", "b"):
        dedupe(work, tmp_path / name)
        digests.add(hashlib.sha256((tmp_path / AuditPaths(name).calls).read_bytes()).hexdigest())
    assert len(digests) == 1


def test_missing_input_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        dedupe(tmp_path, tmp_path / "out")


def test_clock_skew_is_estimated_per_table_and_untangles_interleaved_copies(
    tmp_path: Path,
) -> None:
    # Table 1's clock runs 45 s fast. A failed 40 s call is followed 40 s later by a
    # long call; without correction the copies interleave in time (A0 A2 B0 A1 B1).
    rows = []
    for i in range(30):  # ordinary calls that let the skew be measured
        t = T0 + dt.timedelta(hours=i)
        rows += [_row(0, 10 + i, "9", A, t, 200 + i), _row(1, 10 + i, "9", A, t + 45 * S, 200 + i)]
    t = T0 + dt.timedelta(days=3)
    rows += [
        _row(0, 1, "1", A, t, 40), _row(1, 1, "1", A, t + 45 * S, 38),
        _row(0, 2, "1", A, t + 40 * S, 1200), _row(1, 2, "1", A, t + 85 * S, 1194),
        _row(2, 1, "1", A, t + 20 * S, 40),  # a third system, 20 s fast, copy of the first
    ]  # fmt: skip
    work = _write(tmp_path / "work", rows)
    result = dedupe(work, tmp_path / "out")
    report = json.loads(result.report_path.read_text())
    skews = {s["table_id"]: s["skew_s"] for s in report["clock_skew_s"]}
    assert abs(skews[1] - skews[0] - 45) <= 1
    got = [c for c in _clusters(tmp_path / "out") if ("t0.csv", 1) in c[0] or ("t0.csv", 2) in c[0]]
    assert [sorted(c[0]) for c in got] == [
        [("t0.csv", 1), ("t1.csv", 1), ("t2.csv", 1)],
        [("t0.csv", 2), ("t1.csv", 2)],
    ]


def test_a_table_without_accounts_still_merges_but_accounts_keep_calls_apart(
    tmp_path: Path,
) -> None:
    rows = [
        _row(0, 1, "1", A, T0, 300), _row(1, 1, None, A, T0 + 5 * S, 298),  # type: ignore[arg-type]
        _row(0, 2, "2", A, T0 + 3 * S, 100),  # another inmate, same number, same moment
    ]  # fmt: skip
    dedupe(_write(tmp_path / "work", rows), tmp_path / "out")
    assert [c[0] for c in _clusters(tmp_path / "out")] == [
        [("t0.csv", 1), ("t1.csv", 1)],
        [("t0.csv", 2)],
    ]


def test_skews_follow_pairwise_offsets_whatever_table_is_duplicated() -> None:
    from privguard.internals.audit.dedupe.skew import solve

    true = {1: 0, 2: 40, 3: 40, 4: -25, 9: 7}  # 3 is a re-export of 2; 9 is on its own
    pairs = [(1, 2, -40.0, 900), (1, 3, -40.0, 900), (2, 3, 0.0, 900), (1, 4, 25.0, 300),
             (2, 4, 65.0, 250), (4, 9, -32.0, 3)]  # fmt: skip
    got = solve(pairs)
    assert 9 not in got  # three shared calls measure nothing
    assert {t: got[t][0] - got[1][0] for t in got} == {t: true[t] - true[1] for t in got}
    assert got[2][1] == 900 + 900 + 250


def test_skew_is_measured_on_a_sample_of_whole_keys_when_the_input_is_big(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from privguard.internals.audit.dedupe import skew
    from privguard.internals.audit.dedupe.sql import sample_sql
    from privguard.internals.audit.engines import connect
    from privguard.internals.audit.sql import parquet_source

    rows = []
    for i in range(200):  # 200 numbers, each called 3 times; table 1's clock runs 45 s fast
        num = f"+1512555{i:04d}"
        for j in range(3):
            t = T0 + dt.timedelta(hours=i, minutes=20 * j)
            rows += [_row(0, 3 * i + j, "9", num, t, 100 + j),
                     _row(1, 3 * i + j, "9", num, t + 45 * S, 100 + j)]  # fmt: skip
    work = _write(tmp_path / "work", rows)
    full = json.loads(dedupe(work, tmp_path / "full").report_path.read_text())
    assert skew.sample_modulus(len(rows), 2) == 1  # small tables: every key measures
    # Pretend the input is big: 1 key in 4.
    monkeypatch.setattr(skew, "SAMPLE_ROWS", len(rows) // 4)
    monkeypatch.setattr(skew, "TABLE_ROWS", 1)
    sampled = json.loads(dedupe(work, tmp_path / "sampled").report_path.read_text())
    used = {s["table_id"]: s for s in sampled["clock_skew_s"]}
    assert abs(used[1]["skew_s"] - used[0]["skew_s"] - 45) <= 1
    assert 0 < used[1]["pairs_used"] < full["clock_skew_s"][1]["pairs_used"]
    assert (full["tolerances"]["skew_sample"], sampled["tolerances"]["skew_sample"]) == (1, 4)
    assert _clusters(tmp_path / "sampled") == _clusters(tmp_path / "full")
    ex = connect()
    try:  # a sampled key keeps all six of its rows, so its islands are those of the full data
        counts = ex.fetchall(
            f"SELECT count(*) FROM {sample_sql(parquet_source(work / 'normalized.parquet'), 4)} s"
            " GROUP BY dialed_number"
        )
    finally:
        ex.close()
    assert 0 < len(counts) < 200 and {c[0] for c in counts} == {6}


def test_the_skew_sample_keeps_enough_rows_of_an_average_table() -> None:
    from privguard.internals.audit.dedupe.skew import MAX_MODULUS, TABLE_ROWS, sample_modulus

    assert sample_modulus(400_000, 10) == 1  # under SAMPLE_ROWS: every key
    assert sample_modulus(2_000_000, 250) == 4  # 8 k rows per table: 2 k of each kept
    assert sample_modulus(2_000_000, 2_000) == 1  # 1 k rows per table: all needed
    assert sample_modulus(144_000_000, 300) == MAX_MODULUS
    rows, tables = 50_000_000, 500
    assert rows / tables / sample_modulus(rows, tables) >= TABLE_ROWS

"""The recipients' CSVs written in one partitioned COPY hold the bytes of one COPY each."""

from __future__ import annotations

from pathlib import Path

from privguard.internals.audit.engines import EngineOptions, connect
from privguard.internals.audit.report import parallel
from privguard.internals.audit.report import sql as rsql
from privguard.internals.audit.sql import copy_csv_sql, copy_parquet_sql


def _calls(ex: object, path: Path) -> None:
    """Sorted letter calls: one recipient with many engine chunks, awkward text, NULLs."""
    query = """
    SELECT CASE WHEN i < 150000 THEN 'Big, Recipient' ELSE 'r' || (i % 7)::VARCHAR END AS recipient,
           i AS call_id,
           CASE WHEN i % 5 = 0 THEN NULL ELSE '2014-01-0' || (i % 9 + 1)::VARCHAR END
               AS start_local,
           'America/Chicago' AS local_zone,
           CASE WHEN i % 11 = 0 THEN NULL ELSE '2014-01-01 ' || (i % 97)::VARCHAR END
               AS start_utc,
           CASE WHEN i % 13 = 0 THEN '=cmd' WHEN i % 17 = 0 THEN '' ELSE 'TX25' END AS facility,
           '+1211555' || (i % 10000)::VARCHAR AS number,
           CASE WHEN i % 3 = 0 THEN 'Doe, "J"' || chr(10) || 'x' ELSE 'Roe' END AS inmate_name,
           NULL AS inmate_account, i % 600 AS duration_s, i % 2 AS completed,
           NULL AS registered_then, NULL AS recording_ref, NULL AS recorded_from, 'f.csv:t:' || i::VARCHAR AS sources
    FROM range(200000) r(i) ORDER BY recipient, start_utc NULLS FIRST, call_id"""
    ex.execute(copy_parquet_sql(query, path, row_group_rows=1000))  # type: ignore[attr-defined]


def test_one_pass_writes_the_bytes_of_one_copy_each(tmp_path: Path) -> None:
    ex = connect(EngineOptions(threads=2))
    try:
        calls = tmp_path / "calls.parquet"
        _calls(ex, calls)
        names = [r[0] for r in ex.fetchall(f"SELECT DISTINCT recipient FROM '{calls}' ORDER BY 1")]
        names.append("nobody")  # no rows: a header-only file, as its own COPY writes
        one, each = tmp_path / "one", tmp_path / "each"
        one.mkdir()
        each.mkdir()
        files = [(n, one / f"{i}.csv") for i, n in enumerate(names)]
        parallel.write_csvs(ex, calls, files, tmp_path / "scratch")
        for i, name in enumerate(names):
            ex.execute(copy_csv_sql(rsql.letter_csv_sql(calls, name), each / f"{i}.csv"))
        threads = ex.fetchall("SELECT current_setting('threads')")[0][0]
    finally:
        ex.close()
    assert threads == 2  # the one-thread setting of the partitioned COPY was undone
    for i in range(len(names)):
        assert (one / f"{i}.csv").read_bytes() == (each / f"{i}.csv").read_bytes(), names[i]
    big = (one / "0.csv").read_bytes()
    assert big.count(b"\n") > 150000 and b"'=cmd" in big
    assert not (tmp_path / "scratch" / "letter_csvs").exists()

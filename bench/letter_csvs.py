"""The recipients' CSV files: one COPY each (before) against one partitioned COPY (after).

Builds a letter-calls Parquet file like the report's (``letter_calls.parquet``: sorted by
recipient, 8,192-row row groups) with ``--recipients`` recipients and ``--rows`` calls,
writes every recipient's CSV both ways with the privguard found first on ``PYTHONPATH``,
checks the files are byte-identical, and prints one JSON line: seconds and files/s of
each way, and the load average. Only the CSV part of the letters is measured here; the
PDFs are rendered by the worker processes at the same time.

Example: PYTHONPATH=$PWD/src .venv/bin/python bench/letter_csvs.py --recipients 1297 --rows 200000 --out /tmp/letter_csvs
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

from privguard.internals.audit.engines import EngineOptions, connect
from privguard.internals.audit.report import parallel
from privguard.internals.audit.report import sql as rsql
from privguard.internals.audit.sql import copy_csv_sql


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipients", type=int, default=1297)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    calls = args.out / "letter_calls.parquet"
    ex = connect(EngineOptions(memory_limit="5GB"))
    try:
        # Skewed like real letters: a few recipients hold many calls.
        query = f"""
        SELECT 'Attorney ' || lpad((floor(pow(hash(i) % 1000000 / 1e6, 3) * {args.recipients}))
                                   ::VARCHAR, 5, '0') AS recipient,
               i AS call_id, '2014-01-0' || (i % 9 + 1)::VARCHAR || ' 10:00' AS start_local,
               'America/Chicago' AS local_zone,
               '2014-01-0' || (i % 9 + 1)::VARCHAR || ' 16:' || (i % 60)::VARCHAR AS start_utc,
               'TX25' AS facility, '+1211555' || (i % 10000)::VARCHAR AS number,
               'Doe, J' AS inmate_name, 'A' || (i % 5000)::VARCHAR AS inmate_account,
               i % 600 AS duration_s, i % 2 AS completed, NULL AS registered_then,
               'rec/' || i::VARCHAR || '.wav' AS recording_ref,
               'dump/f.csv:t:' || i::VARCHAR || '; dump/g.csv:u:' || i::VARCHAR AS sources
        FROM range({args.rows}) r(i) ORDER BY recipient, start_utc NULLS FIRST, call_id"""
        ex.execute(rsql.copy_letter_calls_sql(query, calls))
        names = [r[0] for r in ex.fetchall(f"SELECT DISTINCT recipient FROM '{calls}' ORDER BY 1")]
        each, one = args.out / "each", args.out / "one"
        each.mkdir()
        one.mkdir()
        t0 = time.perf_counter()
        for i, name in enumerate(names):
            ex.execute(copy_csv_sql(rsql.letter_csv_sql(calls, name), each / f"{i}.csv"))
        t_each = time.perf_counter() - t0
        t0 = time.perf_counter()
        parallel.write_csvs(ex, calls, [(n, one / f"{i}.csv") for i, n in enumerate(names)],
                            args.out / "scratch")  # fmt: skip
        t_one = time.perf_counter() - t0
    finally:
        ex.close()
    differ = sum(
        (each / f"{i}.csv").read_bytes() != (one / f"{i}.csv").read_bytes()
        for i in range(len(names))
    )
    print(json.dumps({
        "recipients": len(names), "rows": args.rows,
        "one_copy_each_s": round(t_each, 2), "files_per_s_before": round(len(names) / t_each, 1),
        "one_partitioned_copy_s": round(t_one, 2),
        "files_per_s_after": round(len(names) / t_one, 1),
        "files_differing": differ, "load": os.getloadavg(),
    }))  # fmt: skip


if __name__ == "__main__":
    main()

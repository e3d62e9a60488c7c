"""Time the distinct-number SQL, layered vs nested, on ingested tables; check both agree.

Runs normalize's number query (:func:`phones_sql.numbers_sql`, each regex once per
distinct value) and the nested reference (:func:`phones_sql.nested_numbers_sql`) over the
``dialed_number`` of every ingested Parquet file, prints their times and distinct values
per second, and the rows in one and not in the other (EXCEPT ALL both ways: must be 0).

Example: .venv/bin/python bench/numbers_layered.py /work/bench-data/hc1M/runs/base/restricted/work/ingested
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb

from privguard.internals.audit.normalize.phones_sql import nested_numbers_sql, numbers_sql


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ingested", type=Path, help="a WORK/ingested folder of Parquet files")
    parser.add_argument("--layered-only", action="store_true", help="skip the slow reference")
    args = parser.parse_args(argv)
    source = f"read_parquet('{args.ingested}/*.parquet', union_by_name = true)"
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    started = time.perf_counter()
    con.execute(f"CREATE TABLE layered AS {numbers_sql(source)}")
    layered_s = time.perf_counter() - started
    (n,) = con.execute("SELECT count(*) FROM layered").fetchone() or (0,)
    print(f"layered: {n:,} distinct values in {layered_s:.1f} s ({n / layered_s:,.0f}/s)")
    if args.layered_only:
        return 0
    started = time.perf_counter()
    con.execute(f"CREATE TABLE nested AS {nested_numbers_sql(source)}")
    nested_s = time.perf_counter() - started
    print(f"nested:  {n:,} distinct values in {nested_s:.1f} s ({n / nested_s:,.0f}/s)")
    diff = [
        con.execute(
            f"SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})"
        ).fetchall()[0][0]
        for a, b in (("layered", "nested"), ("nested", "layered"))
    ]
    print(f"rows only in layered: {diff[0]}, only in nested: {diff[1]}")
    return 0 if diff == [0, 0] else 1


if __name__ == "__main__":
    sys.exit(main())

"""Two Parquet files hold the same rows, values and types in the same order (bytes aside).

    python bench/parquet_rows_equal.py A.parquet B.parquet

For a change that alters a file's bytes on purpose (a new writer) but must keep its
content: DuckDB compares the column names and types, then ``EXCEPT ALL`` both ways on
every column plus each row's position in its file. Exit 0 and one JSON line when equal.
"""

from __future__ import annotations

import json
import sys

import duckdb


def main() -> None:
    a, b = sys.argv[1], sys.argv[2]
    con = duckdb.connect()

    def src(p: str) -> str:
        return f"read_parquet('{p}', file_row_number = true)"

    types = [con.sql(f"DESCRIBE SELECT * FROM {src(p)}").fetchall() for p in (a, b)]
    only = [
        con.execute(f"SELECT count(*) FROM (FROM {src(x)} EXCEPT ALL FROM {src(y)})").fetchone()[0]
        for x, y in ((a, b), (b, a))
    ]
    rows = [con.execute(f"SELECT count(*) FROM {src(p)}").fetchone()[0] for p in (a, b)]
    same = types[0] == types[1] and only == [0, 0] and rows[0] == rows[1]
    print(
        json.dumps(
            {
                "rows": rows,
                "only_in_a": only[0],
                "only_in_b": only[1],
                "same_types": types[0] == types[1],
                "equal": same,
            }
        )
    )
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()

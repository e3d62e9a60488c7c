"""Ingest throughput per format (MB/s, rows/s), with DuckDB's bare read_csv side by side.

Run on purpose, not part of the tests:

    .venv/bin/python bench/ingest_throughput.py --scale 1.0 --out build/bench_ingest

``--scale 1.0`` writes about 10.6 M rows in total: CSV 3 M (one file of 2 M and 100 files
of 10 k, so both one big table and many small ones are measured), TSV 1 M, JSON lines 1 M,
Parquet 1 M, MySQL dump 2 M, PostgreSQL dump 2 M, SQLite 0.5 M, XLSX 0.1 M. Each format
gets its own dump folder and is ingested alone; the bare reader runs on the same CSV files
(``count(*)`` and a ``COPY ... TO parquet``) so the ratio is measured side by side.
Results are printed and written to ``OUT/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import time
from pathlib import Path

import duckdb

from privguard.internals.audit.ingest.api import ingest

COLUMNS = (
    "call_id, facility, inmate_account, inmate_name, dialed_number, start_time, duration_sec, "
    "status, recorded, recording_url"
)


def _rows_sql(n: int, offset: int = 0) -> str:
    """``n`` synthetic call rows with awkward text (quotes, commas, backslashes, unicode)."""
    return f"""
        SELECT i AS call_id,
               'FAC' || (i % 37) AS facility,
               lpad(CAST(i * 7919 % 1000000 AS VARCHAR), 8, '0') AS inmate_account,
               ['O''Brien, Pat', 'Zoë "Z" Ünal', 'Lee\\Ann', 'Smith, John'][1 + i % 4] AS inmate_name,
               '(312) 555-' || lpad(CAST(i % 10000 AS VARCHAR), 4, '0') AS dialed_number,
               strftime(TIMESTAMP '2012-01-01' + INTERVAL (i * 37) SECOND, '%Y-%m-%d %H:%M:%S')
                   AS start_time,
               CAST(i % 1800 AS VARCHAR) AS duration_sec,
               ['completed', 'refused', 'no answer'][1 + i % 3] AS status,
               CASE WHEN i % 5 = 0 THEN 'N' ELSE 'Y' END AS recorded,
               'https://rec.example/' || i || '.wav' AS recording_url
        FROM range({offset}, {offset + n}) t(i)
    """


def _q(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def make_csv(con: duckdb.DuckDBPyConnection, folder: Path, n: int, delim: str, files: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    per = n // files
    for k in range(files):
        ext = "tsv" if delim == "\t" else "csv"
        con.execute(
            f"COPY ({_rows_sql(per, k * per)}) TO {_q(folder / f'calls_{k:04d}.{ext}')} "
            f"(HEADER, DELIMITER '{delim}')"
        )


def make_mysql(con: duckdb.DuckDBPyConnection, path: Path, n: int) -> None:
    """A mysqldump-style file: extended INSERTs of 500 rows, backslash escapes."""

    def lit(c: str) -> str:
        return f"'''' || replace(replace({c}, '\\', '\\\\'), '''', '\\''') || ''''"

    tup = (
        "'(' || call_id || ',' || "
        + " || ',' || ".join(lit(c) for c in COLUMNS.split(", ")[1:])
        + " || ')'"
    )
    body = path.with_suffix(".body")
    con.execute(
        f"COPY (SELECT 'INSERT INTO `calls` VALUES ' || string_agg({tup}, ',' ORDER BY call_id) "
        f"|| ';' FROM ({_rows_sql(n)}) GROUP BY call_id // 500 ORDER BY call_id // 500) "
        f"TO {_q(body)} (HEADER false, QUOTE '', ESCAPE '', DELIMITER '\\x01')"
    )
    cols = ",\n".join(f"  `{c}` text" for c in COLUMNS.split(", "))
    with open(path, "wb") as out:
        out.write(
            f"-- MySQL dump\nDROP TABLE IF EXISTS `calls`;\nCREATE TABLE `calls` (\n"
            f"{cols}\n) ENGINE=InnoDB;\nLOCK TABLES `calls` WRITE;\n".encode()
        )
        with open(body, "rb") as fh:
            shutil.copyfileobj(fh, out, 1 << 24)
        out.write(b"UNLOCK TABLES;\n")
    body.unlink()


def make_pg(con: duckdb.DuckDBPyConnection, path: Path, n: int) -> None:
    """A pg_dump-style file: one COPY block, tab separated, backslash escapes, \\N nulls."""
    esc = ", ".join(
        f"replace(replace({c}, '\\', '\\\\'), chr(9), '\\t') AS {c}"
        for c in COLUMNS.split(", ")[1:]
    )
    body = path.with_suffix(".body")
    con.execute(
        f"COPY (SELECT call_id, {esc} FROM ({_rows_sql(n)})) TO {_q(body)} "
        "(HEADER false, QUOTE '', ESCAPE '', DELIMITER '\t', NULLSTR '\\N')"
    )
    with open(path, "wb") as out:
        out.write(b"-- PostgreSQL database dump\nSET statement_timeout = 0;\n")
        out.write(
            f"CREATE TABLE public.calls ({', '.join(c + ' text' for c in COLUMNS.split(', '))});\n".encode()
        )
        out.write(f"COPY public.calls ({COLUMNS}) FROM stdin;\n".encode())
        with open(body, "rb") as fh:
            shutil.copyfileobj(fh, out, 1 << 24)
        out.write(b"\\.\n")
    body.unlink()


def make_sqlite(con: duckdb.DuckDBPyConnection, path: Path, n: int) -> None:
    db = sqlite3.connect(path)
    db.execute(f"CREATE TABLE calls ({COLUMNS})")
    cur = con.execute(_rows_sql(n))
    while rows := cur.fetchmany(100_000):
        db.executemany(f"INSERT INTO calls VALUES ({','.join('?' * 10)})", rows)
    db.commit()
    db.close()


def make_xlsx(con: duckdb.DuckDBPyConnection, path: Path, n: int) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_urls": False})
    sheet = book.add_worksheet("calls")
    sheet.write_row(0, 0, COLUMNS.split(", "))
    for r, row in enumerate(con.execute(_rows_sql(n)).fetchall(), start=1):
        sheet.write_row(r, 0, row)
    book.close()


ROWS = {"csv_one_big": 2e6, "csv_100_small": 1e6, "tsv": 1e6, "jsonl": 1e6, "parquet": 1e6,
        "mysql_dump": 2e6, "pg_dump": 2e6, "sqlite": 5e5, "xlsx": 1e5}  # fmt: skip
SPLIT = {"csv_100_small": 100, "tsv": 4}


MAKERS = {
    "csv_one_big": lambda con, root, n: make_csv(con, root / "csv_one_big", n, ",", 1),
    "csv_100_small": lambda con, root, n: make_csv(con, root / "csv_100_small", n, ",", 100),
    "tsv": lambda con, root, n: make_csv(con, root / "tsv", n, "\t", 4),
    "jsonl": lambda con, root, n: con.execute(
        f"COPY ({_rows_sql(n)}) TO {_q(root / 'jsonl' / 'calls.jsonl')} (FORMAT json)"
    ),
    "parquet": lambda con, root, n: con.execute(
        f"COPY ({_rows_sql(n)}) TO {_q(root / 'parquet' / 'calls.parquet')} (FORMAT parquet)"
    ),
    "mysql_dump": lambda con, root, n: make_mysql(con, root / "mysql_dump" / "calls.sql", n),
    "pg_dump": lambda con, root, n: make_pg(con, root / "pg_dump" / "calls.sql", n),
    "sqlite": lambda con, root, n: make_sqlite(con, root / "sqlite" / "calls.sqlite", n),
    "xlsx": lambda con, root, n: make_xlsx(con, root / "xlsx" / "calls.xlsx", n),
}


def build(root: Path, scale: float, only: list[str] | None = None) -> dict[str, tuple[Path, int]]:
    """Write the dump folders once (kept between runs); return folder and row count per format.

    Only the formats in ``only`` (all when None) are written; each format's folder is marked
    done on its own, so a later run with more formats writes only the missing ones.
    """
    counts = {
        k: max(1000, int(v * scale)) // SPLIT.get(k, 1) * SPLIT.get(k, 1) for k, v in ROWS.items()
    }
    out = {k: (root / k, n) for k, n in counts.items() if not only or k in only}
    con = duckdb.connect()
    for name, (folder, n) in out.items():
        done = root / f"done_{name}"
        if done.exists():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        MAKERS[name](con, root, n)
        done.write_text("")
    return out


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def bare_csv(folder: Path) -> dict[str, float]:
    """DuckDB's own reader on the same files: count(*), and a COPY to Parquet."""
    con = duckdb.connect()
    files = sorted(str(p) for p in folder.iterdir())
    out = {}
    started = time.perf_counter()
    for f in files:
        con.execute(f"SELECT count(*) FROM read_csv({_q(Path(f))}, all_varchar=true)").fetchall()
    out["count_s"] = time.perf_counter() - started
    started = time.perf_counter()
    for k, f in enumerate(files):
        con.execute(
            f"COPY (SELECT * FROM read_csv({_q(Path(f))}, all_varchar=true)) "
            f"TO '/tmp/_bare_{os.getpid()}_{k}.parquet' (FORMAT parquet, COMPRESSION zstd)"
        )
        os.unlink(f"/tmp/_bare_{os.getpid()}_{k}.parquet")
    out["copy_s"] = time.perf_counter() - started
    return out


def check_provenance(work: Path) -> None:
    """Every ingested row's src_row is its record index: call ids count up from the file's first."""
    bad = (
        duckdb.connect()
        .execute(
            "SELECT count(*) FROM (SELECT src_row, CAST(source_call_id AS BIGINT) AS id, "
            "min(CAST(source_call_id AS BIGINT)) OVER (PARTITION BY src_file, src_table) AS first "
            f"FROM read_parquet({_q(work / 'ingested' / '*.parquet')})) WHERE src_row != id - first + 1"
        )
        .fetchone()
    )
    assert bad is not None and bad[0] == 0, f"{work}: {bad} rows with a wrong src_row"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = about 10.6 M rows")
    parser.add_argument("--out", type=Path, default=Path("build/bench_ingest"))
    parser.add_argument("--only", nargs="*", help="formats to run (default: all)")
    args = parser.parse_args()
    data = args.out / "data"
    plan = build(data, args.scale, args.only)
    results: dict[str, dict[str, float]] = {}
    for name, (folder, rows) in plan.items():
        if args.only and name not in args.only:
            continue
        size = _size(folder)
        started = time.perf_counter()
        cpu = time.process_time()
        result = ingest(folder, args.out / "work" / name)
        wall = time.perf_counter() - started
        assert result.totals["rows_read"] == rows, (name, result.totals, rows)
        check_provenance(args.out / "work" / name)
        r = {
            "rows": rows,
            "mb": size / 1e6,
            "wall_s": wall,
            "cpu_s_process": time.process_time() - cpu,  # all threads of this process
            "mb_per_s": size / 1e6 / wall,
            "rows_per_s": rows / wall,
            "load_avg_1m": os.getloadavg()[0],
        }
        if name.startswith(("csv", "tsv")):
            bare = bare_csv(folder)
            r.update({f"bare_{k}": v for k, v in bare.items()})
            r["ratio_vs_bare_count"] = wall / bare["count_s"]
            r["ratio_vs_bare_copy"] = wall / bare["copy_s"]
            r["bare_count_mb_per_s"] = size / 1e6 / bare["count_s"]
        results[name] = r
        print(name, json.dumps({k: round(v, 3) for k, v in r.items()}), flush=True)
    total_rows = sum(r["rows"] for r in results.values())
    print(f"total rows measured: {total_rows:,}")
    (args.out / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

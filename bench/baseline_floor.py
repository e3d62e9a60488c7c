"""The floor: what an expert's bare DuckDB SQL costs on the same dump, as a lower bound on time.

It reads every table DuckDB can read natively (CSV/TSV, JSON lines, Parquet, gzip'd or
not), converts the few it cannot in the fastest simple way (zip members are extracted;
XLSX sheets via python-calamine and SQLite tables via Python's sqlite3 are streamed to
Parquet), unions everything by column name as text into one Parquet file, removes exact
duplicates (by a 64-bit hash of every column: see ``_dedupe_sql``), and joins the dialed
numbers (last 10 digits of any phone-like column) to the directory's numbers.

At 144 M rows a plain ``SELECT DISTINCT *`` over 76 text columns does not fit: it reached
19 GB of RAM and then filled 52 GB of disk with spill files. So, as an expert would, the
floor sets a memory limit, a spill cap and no insertion order, materializes the union once,
and compares rows by hash; it still reads every table and removes every exact duplicate.

No mapping, no normalization, no time zones, no provenance, no fuzzy dedupe: it does much
less than privguard, so its time is a floor, not a competitor. MySQL and PostgreSQL dump
files (.sql) are skipped: DuckDB cannot read them without a server or a parser; the
result says how many files and bytes that leaves out, so the floor can be scaled.

Usage: python bench/baseline_floor.py DUMP --directory F [--directory F] --out DIR
Prints one JSON object (counts and what was skipped) on stdout.
"""

from __future__ import annotations

import sqlite3
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from _baseline_cli import baseline_main

NATIVE = {".csv": "csv", ".tsv": "csv", ".tab": "csv", ".txt": "csv", ".jsonl": "json"}
NATIVE |= {".ndjson": "json", ".json": "json", ".parquet": "parquet", ".pq": "parquet"}
# Phone-like column names, best first; "number" alone is weak (account numbers, sequence numbers).
PHONE_WORDS = ("dialed", "dialled", "called", "phone", "dest", "dnis", "tel", "number")
NOT_PHONE = ("inmate", "account", "seq", "pin", "booking", "call_id", "callid", "ref", "id_")
BATCH = 200_000
MEMORY_LIMIT = "12GB"  # of 24 GB; DuckDB's default (80 %) starves the rest of the machine
MAX_TEMP = "25GB"  # spill cap: fail rather than fill the shared disk


def _suffix(path: Path) -> str:
    """The meaningful suffix, looking through .gz."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def q(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def qi(name: str) -> str:
    """A SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def table_sql(path: Path, kind: str) -> str:
    """SELECT every column of one file as VARCHAR, so tables union by name without type clashes."""
    if kind == "csv":
        # The leak has corrupt records (cut lines, wrong field counts): skip them, as an expert would.
        reader = (
            f"read_csv({q(str(path))}, all_varchar = true, header = true, ignore_errors = true)"
        )
    elif kind == "json":
        reader = f"read_json({q(str(path))}, format = 'newline_delimited', ignore_errors = true)"
    else:
        reader = f"read_parquet({q(str(path))})"
    return f"SELECT COLUMNS(*)::VARCHAR FROM {reader}"


def _strings_to_parquet(header: list[Any], rows: Any, dest: Path) -> int:
    """Stream rows of cells to a Parquet file of text columns; returns rows written."""
    names = [str(h) if h not in (None, "") else f"col{i}" for i, h in enumerate(header)]
    schema = pa.schema([(n, pa.string()) for n in names])
    width = len(names)
    written = 0

    def flush(batch: list[list[str | None]]) -> None:
        columns = [pa.array([r[i] for r in batch], pa.string()) for i in range(width)]
        writer.write_table(pa.Table.from_arrays(columns, schema=schema))

    with pq.ParquetWriter(dest, schema) as writer:
        batch: list[list[str | None]] = []
        for row in rows:
            cells = [None if v is None or v == "" else str(v) for v in row][:width]
            batch.append(cells + [None] * (width - len(cells)))
            if len(batch) >= BATCH:
                flush(batch)
                written += len(batch)
                batch = []
        if batch:
            flush(batch)
            written += len(batch)
    return written


def convert_xlsx(path: Path, scratch: Path) -> list[Path]:
    """Each sheet of an XLSX file as a Parquet file of text (python-calamine)."""
    from python_calamine import CalamineWorkbook

    out = []
    book = CalamineWorkbook.from_path(str(path))
    for i, name in enumerate(book.sheet_names):
        rows = book.get_sheet_by_name(name).to_python()
        if not rows:
            continue
        dest = scratch / f"{path.stem}.{i}.parquet"
        _strings_to_parquet(rows[0], rows[1:], dest)
        out.append(dest)
    return out


def convert_sqlite(path: Path, scratch: Path) -> list[Path]:
    """Each table of a SQLite file as a Parquet file of text (Python's sqlite3, streamed)."""
    out = []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for i, table in enumerate(tables):
            cur = con.execute(f"SELECT * FROM {qi(table)}")
            header = [d[0] for d in cur.description]
            dest = scratch / f"{path.stem}.{i}.parquet"
            _strings_to_parquet(header, iter(cur), dest)
            out.append(dest)
    finally:
        con.close()
    return out


def collect(dump: Path, scratch: Path) -> tuple[list[str], dict[str, Any]]:
    """SELECTs for every readable table, and what was skipped or converted."""
    selects: list[str] = []
    info: dict[str, Any] = {"files": 0, "converted": {}, "skipped": {}, "skipped_bytes": 0}
    queue = sorted(p for p in dump.rglob("*") if p.is_file())
    while queue:
        path = queue.pop(0)
        info["files"] += 1
        kind = _suffix(path)
        if kind == ".zip":
            dest = scratch / f"zip{info['files']}"
            with zipfile.ZipFile(path) as archive:
                archive.extractall(dest)
            queue += sorted(p for p in dest.rglob("*") if p.is_file())
            info["converted"]["zip"] = info["converted"].get("zip", 0) + 1
        elif kind in NATIVE:
            selects.append(table_sql(path, NATIVE[kind]))
        elif kind in (".xlsx", ".sqlite", ".db", ".sqlite3"):
            convert = convert_xlsx if kind == ".xlsx" else convert_sqlite
            selects += [table_sql(p, "parquet") for p in convert(path, scratch)]
            info["converted"][kind] = info["converted"].get(kind, 0) + 1
        else:
            info["skipped"][kind] = info["skipped"].get(kind, 0) + 1
            info["skipped_bytes"] += path.stat().st_size
    return selects, info


def directory_sql(paths: list[Path], scratch: Path) -> str:
    """Every 10-digit number found anywhere in the directory files, one row each."""
    parts = []
    for path in paths:
        files = convert_xlsx(path, scratch) if _suffix(path) == ".xlsx" else [path]
        for f in files:
            kind = "parquet" if f.suffix == ".parquet" else "csv"
            # Any cell may hold several phones in any format: take every run of digits that,
            # stripped of punctuation, is a 10- or 11-digit number.
            parts.append(
                f"SELECT DISTINCT right(regexp_replace(m, '[^0-9]', '', 'g'), 10) AS number "
                f"FROM (SELECT unnest(regexp_extract_all(concat_ws(' ', *COLUMNS(*)), "
                f"'\\+?1?[ .(-]*[0-9]{{3}}[ .)-]*[0-9]{{3}}[ .-]*[0-9]{{4}}')) AS m "
                f"FROM ({table_sql(f, kind)}))"
            )
    return " UNION ".join(parts)


def phone_columns(cols: list[str]) -> list[str]:
    """Columns that look like a dialed number, best first (as an expert reading headers would)."""
    ranked = []
    for c in cols:
        low = c.lower()
        if any(n in low for n in NOT_PHONE):
            continue
        ranks = [i for i, w in enumerate(PHONE_WORDS) if w in low]
        if ranks:
            ranked.append((min(ranks), c))
    return [c for _, c in sorted(ranked)]


def _dedupe_sql(union_file: Path) -> str:
    """Rows of the materialized union minus exact duplicates, each kept once (its first copy).

    Rows are compared by a 64-bit hash of all their columns (computed while the union was
    written), so only (hash, row number) pairs go through a hash table, never 76 text
    columns. Among 136 M rows a collision has probability ~5e-4 and would only drop one
    distinct row: the floor would do slightly less work, never more.
    """
    rows = f"read_parquet({q(str(union_file))}, file_row_number = true)"
    # The copies to drop: every row of a hash group but the first. Duplicates are a few
    # percent of rows, so the anti-join's build side stays small.
    drop = (
        f"SELECT u.file_row_number FROM (SELECT _h, file_row_number FROM {rows}) u "
        f"JOIN (SELECT _h, min(file_row_number) AS keep FROM {rows} GROUP BY _h "
        f"HAVING count(*) > 1) g ON u._h = g._h AND u.file_row_number <> g.keep"
    )
    return (
        f"SELECT r.* EXCLUDE (_h, file_row_number) FROM {rows} r "
        f"ANTI JOIN ({drop}) d ON r.file_row_number = d.file_row_number"
    )


def run(dump: Path, directories: list[Path], out: Path) -> dict[str, Any]:
    """Run the floor pipeline and return its counts and timings per step."""
    out.mkdir(parents=True, exist_ok=True)
    scratch = out / "scratch"
    scratch.mkdir(exist_ok=True)
    con = duckdb.connect()
    # What an expert sets at 144 M rows: no ordering to keep, a memory limit with room for
    # the OS and the readers, and a cap on spill files so a runaway query fails instead of
    # filling the disk.
    con.execute(f"SET temp_directory = {q(str(out / 'tmp'))}")
    con.execute(f"SET memory_limit = {q(MEMORY_LIMIT)}")
    con.execute(f"SET max_temp_directory_size = {q(MAX_TEMP)}")
    con.execute("SET preserve_insertion_order = false")
    steps: dict[str, float] = {}
    t = time.perf_counter()
    selects, info = collect(dump, scratch)
    steps["read_convert_s"] = time.perf_counter() - t
    t = time.perf_counter()
    union = " UNION ALL BY NAME ".join(selects)
    union_file = scratch / "union.parquet"
    con.execute(
        f"COPY (SELECT *, hash(*COLUMNS(*)) AS _h FROM ({union})) TO {q(str(union_file))} "
        "(FORMAT parquet)"
    )
    steps["union_s"] = time.perf_counter() - t
    t = time.perf_counter()
    distinct = out / "distinct.parquet"
    con.execute(f"COPY ({_dedupe_sql(union_file)}) TO {q(str(distinct))} (FORMAT parquet)")
    steps["distinct_s"] = time.perf_counter() - t
    union_file.unlink()
    t = time.perf_counter()
    cols = [
        r[0]
        for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({q(str(distinct))})").fetchall()
    ]
    phone_cols = phone_columns(cols)
    digits = " , ".join(
        f"right(regexp_replace({qi(c)}, '[^0-9]', '', 'g'), 10)" for c in phone_cols
    )
    matches = out / "matches.parquet"
    con.execute(
        f"COPY (SELECT c.* FROM (SELECT *, coalesce({digits}) AS _number "
        f"FROM read_parquet({q(str(distinct))})) c "
        f"JOIN ({directory_sql(directories, scratch)}) d ON c._number = d.number) "
        f"TO {q(str(matches))} (FORMAT parquet)"
    )
    steps["directory_join_s"] = time.perf_counter() - t
    count = "SELECT count(*) FROM read_parquet({})"
    info |= {
        "tables": len(selects),
        "columns_after_union": len(cols),
        "phone_columns": phone_cols,
        "rows_distinct": con.execute(count.format(q(str(distinct)))).fetchall()[0][0],
        "rows_matching_directory": con.execute(count.format(q(str(matches)))).fetchall()[0][0],
        "steps": {k: round(v, 3) for k, v in steps.items()},
    }
    con.close()
    return info


def main(argv: list[str] | None = None) -> int:
    return baseline_main(run, __doc__ or "", argv)


if __name__ == "__main__":
    sys.exit(main())

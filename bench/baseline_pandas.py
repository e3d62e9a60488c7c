"""The naive analyst's pandas script: load every table, concat, drop duplicates, merge.

This is what a capable analyst writes first: read every file into a DataFrame as text,
``pd.concat`` them, ``drop_duplicates()``, pull the last 10 digits of the phone-like
column, and ``merge`` with the numbers found in the directory files. Everything lives
in memory, which is the point of the comparison: the harness runs it under a memory cap
and reports the size at which it fails. It skips the same files the floor skips (MySQL
and PostgreSQL .sql dumps) and reads the same ones, with pandas' own readers.

Usage: python bench/baseline_pandas.py DUMP --directory F [--directory F] --out DIR
Prints one JSON object (counts and per-step seconds) on stdout.
"""

from __future__ import annotations

import gzip
import json
import re
import sqlite3
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _baseline_cli import baseline_main
from baseline_floor import _suffix, phone_columns

PHONE_RE = re.compile(r"\+?1?[ .(-]*\d{3}[ .)-]*\d{3}[ .-]*\d{4}")


def read_any(path: Path, scratch: Path) -> list[pd.DataFrame]:
    """Every table in one file, as text columns; [] for formats pandas cannot read."""
    kind = _suffix(path)
    # The leak has corrupt records (cut lines, wrong field counts): skip them, as anyone would.
    if kind in (".csv", ".txt", ".tsv", ".tab"):
        sep = _delimiter(path)
        return [
            pd.read_csv(
                path,
                dtype=str,
                sep=sep,
                on_bad_lines="skip",
                encoding="utf-8-sig",
                encoding_errors="replace",
            )
        ]
    if kind in (".jsonl", ".ndjson", ".json"):
        return [pd.DataFrame(_json_lines(path)).astype(str)]
    if kind == ".parquet":
        return [pd.read_parquet(path).astype(str)]
    if kind == ".xlsx":
        sheets = pd.read_excel(path, sheet_name=None, dtype=str, engine="calamine")
        return list(sheets.values())
    if kind in (".sqlite", ".db", ".sqlite3"):
        con = sqlite3.connect(path)
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        frames = [pd.read_sql(f'SELECT * FROM "{n}"', con).astype(str) for n in names]
        con.close()
        return frames
    if kind == ".zip":
        dest = scratch / path.name
        with zipfile.ZipFile(path) as archive:
            archive.extractall(dest)
        return [df for p in sorted(dest.rglob("*")) if p.is_file() for df in read_any(p, scratch)]
    return []


def _delimiter(path: Path) -> str:
    """The delimiter of a text table, from its header line (the one an analyst would eyeball)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", errors="replace") as f:
        header = f.readline()
    return max(",;|\t", key=header.count)


def _json_lines(path: Path) -> list[dict[str, Any]]:
    """JSON lines, skipping the lines that do not parse (pandas' reader stops at the first)."""
    opener = gzip.open if path.suffix == ".gz" else open
    records = []
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def directory_numbers(paths: list[Path], scratch: Path) -> pd.DataFrame:
    """Every 10-digit number found in any cell of the directory files."""
    found: set[str] = set()
    for path in paths:
        for df in read_any(path, scratch):
            for cell in df.astype(str).to_numpy().ravel():
                for m in PHONE_RE.findall(str(cell)):
                    found.add(re.sub(r"\D", "", m)[-10:])
    return pd.DataFrame({"_number": sorted(found)})


def run(dump: Path, directories: list[Path], out: Path) -> dict[str, Any]:
    """The analyst's script; returns counts and seconds per step."""
    out.mkdir(parents=True, exist_ok=True)
    scratch = out / "scratch"
    scratch.mkdir(exist_ok=True)
    steps: dict[str, float] = {}
    t = time.perf_counter()
    frames = [df for p in sorted(dump.rglob("*")) if p.is_file() for df in read_any(p, scratch)]
    steps["read_s"] = time.perf_counter() - t
    t = time.perf_counter()
    calls = pd.concat(frames, ignore_index=True)
    del frames
    rows_read = len(calls)
    steps["concat_s"] = time.perf_counter() - t
    t = time.perf_counter()
    calls = calls.drop_duplicates()
    steps["drop_duplicates_s"] = time.perf_counter() - t
    t = time.perf_counter()
    number = pd.Series(pd.NA, index=calls.index, dtype="object")
    for col in phone_columns(list(calls.columns)):
        number = number.fillna(calls[col].str.replace(r"\D", "", regex=True).str[-10:])
    calls["_number"] = number
    matches = calls.merge(directory_numbers(directories, scratch), on="_number")
    matches.to_csv(out / "matches.csv", index=False)
    steps["directory_merge_s"] = time.perf_counter() - t
    return {
        "pandas": pd.__version__,
        "rows_read": rows_read,
        "rows_distinct": len(calls),
        "rows_matching_directory": len(matches),
        "steps": {k: round(v, 3) for k, v in steps.items()},
    }


def main(argv: list[str] | None = None) -> int:
    return baseline_main(run, __doc__ or "", argv)


if __name__ == "__main__":
    sys.exit(main())

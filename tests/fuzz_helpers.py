"""Random delimited files and the one check made on each, shared by the fuzz test
(tests/test_fuzz_readers.py, in `make test`) and its long run (bench/fuzz_readers.py).

A file is made from a ``random.Random``, so any run is replayed from its seed. The check:
ingest ends either normally or with a :class:`~privguard.errors.PrivguardError` (never
another exception), and every table's accounting holds: rows read = accepted + rejected,
as many rows written as accepted and as many in rejects.csv as rejected. Whether the
``src_row`` values and the rejected rows are exactly 1..rows_read is reported apart
(``position``). Where DuckDB numbers the rejects of broken quoting inconsistently, the
reader puts them in order and the table says its positions are approximate: such tables
are counted apart too (``approximate``), never hidden.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import random
import shutil
import traceback
from dataclasses import dataclass
from pathlib import Path

import duckdb

from privguard.errors import PrivguardError
from privguard.internals.audit.ingest.api import ingest

HEADER = ["facility", "inmate", "dialed_number", "start", "duration"]
_PIECES = [
    ",", ",", ";", "\t", "|", '"', '"', '""', "\\", "\\\"", "\r", "\n", "\r\n", " ", "",
    "NULL", "F1", "+1 212 555 0100", "2020-01-01 10:00:00", "60", "0:01:00", "O\u2019Brien",
    "\u00e9", "\ufeff", "\x00", "\u2028", "=1+2", "\U0001f600", "x" * 300,
]  # fmt: skip
_ENCODINGS = ["utf-8", "utf-8", "utf-8", "cp1252", "latin-1", "utf-16", "utf-16-le", "utf-16-be"]
_BREAKS = ["\n", "\r\n", "\r"]


@dataclass(frozen=True)
class Case:
    """One generated file: its name, bytes and whether the mapping file skips it (counted)."""

    name: str
    data: bytes
    skip: bool


def _field(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return rng.choice(["F1", "A12", "+1 212 555 0100", "2020-01-01 10:00:00", "60", ""])
    return "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 4)))


def make_case(rng: random.Random) -> Case:
    """A CSV-like file: mostly well-formed rows, with random damage, breaks and encodings."""
    if rng.random() < 0.15:
        data = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 600)))
        return Case(rng.choice(["r.csv", "r.tsv", "r.txt"]), data, rng.random() < 0.5)
    delim = rng.choice([",", ",", "\t", ";", "|"])
    width = len(HEADER)
    lines = [delim.join(HEADER) if rng.random() < 0.8 else delim.join(map(str, range(width)))]
    for _ in range(rng.randint(0, 40)):
        n = width if rng.random() < 0.8 else rng.randint(0, width + 2)
        cells = [_field(rng) for _ in range(n)]
        if rng.random() < 0.2:
            cells = [f'"{c}"' for c in cells]
        lines.append(delim.join(cells))
    mixed = rng.random() < 0.2
    brk = rng.choice(_BREAKS)
    text = "".join(line + (rng.choice(_BREAKS) if mixed else brk) for line in lines)
    if rng.random() < 0.2:
        text = text.rstrip("\r\n")
    encoding = rng.choice(_ENCODINGS)
    data = text.encode(encoding, "replace")
    if encoding == "utf-8" and rng.random() < 0.1:
        data = codecs.BOM_UTF8 + data
    if rng.random() < 0.1 and data:
        cut = rng.randrange(len(data))
        data = data[:cut] + bytes([rng.getrandbits(8)]) + data[cut + 1 :]
    name = "calls.tsv" if delim == "\t" and rng.random() < 0.5 else "calls.csv"
    if rng.random() < 0.1:
        data = gzip.compress(data, mtime=0)
        if rng.random() < 0.3:
            data = data[: rng.randrange(max(len(data), 1))]
        name += ".gz"
    return Case(name, data, rng.random() < 0.3)


@dataclass
class Outcome:
    """What one run gave: a clean end (its error kind, if any), a traceback, or a mismatch."""

    error: str = ""  # the PrivguardError kind, "" when ingest finished
    traceback: str = ""  # set when anything else was raised
    mismatch: str = ""  # set when the accounting does not hold
    position: str = ""  # set when rows are not numbered exactly 1..rows_read
    approximate: str = ""  # set when a table says its rejects' positions are approximate


def run_case(case: Case, tmp: Path) -> Outcome:
    """Ingest ``case`` alone in ``tmp`` (emptied first) and check what it gave."""
    shutil.rmtree(tmp, ignore_errors=True)
    dump, work = tmp / "dump", tmp / "work"
    dump.mkdir(parents=True)
    (dump / case.name).write_bytes(case.data)
    rules = None
    if case.skip:
        rules = tmp / "mapping.toml"
        rules.write_text('[[mapping]]\nfiles = "*"\nskip = true\n')
    try:
        ingest(dump, work, mapping_file=rules)
    except PrivguardError as exc:
        return Outcome(error=exc.kind)
    except Exception:  # the point of the fuzz: anything else is a finding
        return Outcome(traceback=traceback.format_exc())
    return Outcome("", "", *accounting(work))


def accounting(work: Path) -> tuple[str, str, str]:
    """(what does not add up, what is not numbered 1..rows_read, which table's positions
    are approximate): "" when all is well."""
    report = json.loads((work / "ingest_report.json").read_text())
    approx = ", ".join(
        f"{t['file']}/{t['table']}"
        for t in report["tables"]
        if any("placed some rejected records inconsistently" in w for w in t["warnings"])
    )
    with open(work / "rejects.csv", newline="", encoding="utf-8") as fh:
        csv.field_size_limit(1 << 30)
        rejects = list(csv.DictReader(fh))
    files = [str(f) for f in (work / "ingested").glob("*.parquet")]
    rows = (
        duckdb.sql(f"SELECT src_file, src_table, src_row FROM read_parquet({files})").fetchall()
        if files
        else []
    )
    position = ""
    for t in report["tables"]:
        key = (t["file"], t["table"])
        if t["rows_read"] != t["rows_accepted"] + t["rows_rejected"]:
            return f"{key}: read {t['rows_read']} != accepted + rejected", position, approx
        bad = sorted(int(r["row"]) for r in rejects if (r["file"], r["table"]) == key)
        if len(bad) != t["rows_rejected"]:
            return (
                f"{key}: {len(bad)} rows in rejects.csv, {t['rows_rejected']} counted",
                position,
                approx,
            )
        if t.get("output"):
            got = sorted(r[2] for r in rows if (r[0], r[1]) == key)
            if len(got) != t["rows_accepted"]:
                return (
                    f"{key}: {len(got)} rows written, {t['rows_accepted']} counted",
                    position,
                    approx,
                )
            if sorted(got + bad) != list(range(1, t["rows_read"] + 1)):
                position = f"{key}: src_row and rejected rows are not 1..{t['rows_read']}"
    return "", position, approx

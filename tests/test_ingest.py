"""Ingest: every format, provenance checked against the source bytes with independent readers."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import random
import sqlite3
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import xlsxwriter

from privguard.internals.audit.ingest.api import ingest
from privguard.internals.audit.schema import INGESTED_COLUMNS

HEADERS = [
    "Facility",
    "Inmate ID",
    "Inmate Name",
    "Phone",
    "Call Date",
    "Call Time",
    "Dur Sec",
    "Status",
    "Notes",
]
TRICKY = [
    "plain",
    'say "hi"',
    "comma, inside",
    "multi\nline",
    "ünïcødé ☎",
    "",
    "semi;colon",
    "pipe|bar",
    "tab\there",
]


def make_rows(n: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    return [
        [
            rng.choice(["F01", "F02", "Cook County"]),
            str(rng.randint(100000, 999999)),
            rng.choice(["Doe, John", "O'Neil", "Ann Lee", "Zoë Ünal"]),
            rng.choice(["(312) 555-{:04d}", "312555{:04d}", "1-312-555-{:04d}"]).format(i % 10000),
            f"2013-{1 + i % 12:02d}-{1 + i % 28:02d}",
            f"{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}",
            str(rng.randint(0, 3600)),
            rng.choice(["completed", "refused", "no answer"]),
            rng.choice(TRICKY),
        ]
        for i in range(n)
    ]


def write_csv(
    path: Path,
    rows: list[list[str]],
    delim: str = ",",
    encoding: str = "utf-8",
    header: list[str] = HEADERS,
) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    data = buf.getvalue()
    if encoding == "latin-1":
        data = data.replace("☎", "?")  # not encodable in latin-1
    raw = data.encode(encoding)
    if path.suffix == ".gz":
        raw = gzip.compress(raw)
    path.write_bytes(raw)


Reader = Callable[[], list[dict[str, Any]]]


def csv_reader(path: Path, delim: str, encoding: str = "utf-8") -> Reader:
    def read() -> list[dict[str, Any]]:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8-sig" if encoding == "utf-8" else encoding)
        rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delim) if r]
        return [dict(zip(rows[0], r, strict=False)) for r in rows[1:]]

    return read


def check_provenance(work: Path, readers: dict[tuple[str, str], Reader], n: int = 150) -> int:
    """Pick random ingested rows, go back to their source record, compare every value."""
    report = json.loads((work / "ingest_report.json").read_text())
    by_id = {t["table_id"]: t for t in report["tables"]}
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT * FROM read_parquet('{work}/ingested/*.parquet') USING SAMPLE {n} ROWS"
    ).fetchall()
    cols = list(INGESTED_COLUMNS)
    cache: dict[tuple[str, str], list[dict[str, Any]]] = {}
    checked = 0
    for values in rows:
        row = dict(zip(cols, values, strict=True))
        key = (row["src_file"], row["src_table"])
        if key not in cache:
            cache[key] = readers[key]()
        record = cache[key][row["src_row"] - 1]
        entry = by_id[row["table_id"]]
        assert entry["file"] == row["src_file"] and entry["table"] == row["src_table"]
        for field, source in entry["mapping"].items():
            if isinstance(source, list):
                want = " ".join(str(record[c]) for c in source if record[c] not in (None, ""))
            else:
                want = record[source]
            assert (row[field] or "") == ("" if want is None else str(want)), (field, row, record)
        for name, value in json.loads(row["extras"]).items():
            assert (value or "") == ("" if record[name] is None else str(record[name])), name
        checked += 1
    return checked


def test_csv_dialects_provenance(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    (dump / "site_a").mkdir(parents=True)
    readers: dict[tuple[str, str], Reader] = {}
    specs = [
        ("site_a/calls_2013.csv", ",", "utf-8"),
        ("site_a/semi.csv", ";", "utf-8"),
        ("pipes.txt", "|", "utf-8"),
        ("tabs.tsv", "\t", "utf-8"),
        ("latin.csv", ",", "latin-1"),
        ("bom.csv", ",", "utf-8-sig"),
        ("packed.csv.gz", ",", "utf-8"),
    ]
    for k, (name, delim, enc) in enumerate(specs):
        path = dump / name
        write_csv(path, make_rows(400, k), delim, enc)
        stem = path.name.split(".")[0]
        readers[(name, stem)] = csv_reader(path, delim, "utf-8" if enc == "utf-8-sig" else enc)
    # A zip archive with a member in a folder.
    inner = tmp_path / "inner.csv"
    write_csv(inner, make_rows(300, 99))
    with zipfile.ZipFile(dump / "archive.zip", "w") as zf:
        zf.write(inner, "q1/inner.csv")
    readers[("archive.zip/q1/inner.csv", "inner")] = csv_reader(inner, ",")

    result = ingest(dump, tmp_path / "work")
    assert {(t["file"], t["table"]) for t in result.tables} == set(readers)
    for t in result.tables:
        assert t["rows_read"] == t["rows_accepted"] + t["rows_rejected"]
        assert t["rows_rejected"] == 0, t
        assert t["mapping"]["start"] == ["Call Date", "Call Time"]
        assert t["mapping"]["dialed_number"] == "Phone"
        assert t["hints"]["duration_unit"] == "seconds"
    assert result.totals["rows_read"] == 400 * 7 + 300
    fmt = {t["file"]: t["format"] for t in result.tables}
    assert fmt["tabs.tsv"] == "tsv" and fmt["pipes.txt"] == "csv"
    # SHA-256 of the bytes each src_file names: the file, or the archive member.
    for t in result.tables:
        data = (
            inner.read_bytes()
            if t["file"].startswith("archive.zip/")
            else (dump / t["file"]).read_bytes()
        )
        assert t["sha256"] == hashlib.sha256(data).hexdigest(), t["file"]
    latin = next(t for t in result.tables if t["file"] == "latin.csv")
    assert any("latin-1" in w for w in latin["warnings"])
    assert check_provenance(tmp_path / "work", readers, 300) == 300


def test_other_formats_provenance(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    rows = make_rows(250, 5)
    names = ["facility", "account", "name", "dialed", "start_utc", "duration_min", "status"]
    recs = [
        dict(zip(names, [r[0], r[1], r[2], r[3], f"{r[4]} {r[5]}", r[6], r[7]], strict=True))
        for r in rows
    ]
    readers: dict[tuple[str, str], Reader] = {}
    # JSON lines, with a nested value and keys that vary.
    with open(dump / "calls.jsonl", "w", encoding="utf-8") as fh:
        for k, rec in enumerate(recs):
            extra = {"meta": {"k": k}} if k % 3 == 0 else {}
            fh.write(json.dumps({**rec, **extra}) + "\n")
    readers[("calls.jsonl", "calls")] = lambda: [
        {
            k: (json.dumps(v, separators=(",", ":")) if isinstance(v, dict) else v)
            for k, v in json.loads(line).items()
        }
        | {
            "meta": json.loads(line).get("meta")
            and json.dumps(json.loads(line)["meta"], separators=(",", ":"))
        }
        for line in (dump / "calls.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    # Parquet with typed columns.
    table = pa.table(
        {
            **{k: [r[k] for r in recs] for k in names},
            "billed": pa.array([i * 0.5 for i in range(len(recs))]),
        }
    )
    pq.write_table(table, dump / "calls.parquet")
    readers[("calls.parquet", "calls")] = lambda: [
        {k: (v if not isinstance(v, float) else str(v)) for k, v in r.items()}
        for r in pq.read_table(dump / "calls.parquet").to_pylist()
    ]
    # SQLite with two tables, one typed.
    db = dump / "calls.sqlite"
    con = sqlite3.connect(db)
    con.execute(
        "CREATE TABLE calls (facility, account INTEGER, name, dialed, start_utc,"
        " duration_min INTEGER, status)"
    )
    con.executemany(
        "INSERT INTO calls VALUES (?,?,?,?,?,?,?)",
        [
            (
                r["facility"],
                int(r["account"]),
                r["name"],
                r["dialed"],
                r["start_utc"],
                int(r["duration_min"]),
                r["status"],
            )
            for r in recs
        ],
    )
    con.execute("CREATE TABLE more_calls (dialed, start_utc)")
    con.executemany("INSERT INTO more_calls VALUES (?, ?)", [("3125550000", "2013-01-01 00:00")])
    con.commit()
    con.close()

    def sqlite_rows(name: str) -> Reader:
        def read() -> list[dict[str, Any]]:
            c = sqlite3.connect(db)
            c.row_factory = sqlite3.Row
            out = [
                {k: (None if r[k] is None else str(r[k])) for k in r.keys()}  # noqa: SIM118 - Row iterates values
                for r in c.execute(f"SELECT * FROM {name}")
            ]
            c.close()
            return out

        return read

    readers[("calls.sqlite", "calls")] = sqlite_rows("calls")
    readers[("calls.sqlite", "more_calls")] = sqlite_rows("more_calls")
    # XLSX written by xlsxwriter, read back with openpyxl: two sheets, numbers and dates.
    book = xlsxwriter.Workbook(dump / "calls.xlsx")
    for sheet_name in ("January", "February"):
        ws = book.add_worksheet(sheet_name)
        ws.write_row(0, 0, names)
        for i, r in enumerate(recs):
            ws.write_row(
                i + 1,
                0,
                [
                    r["facility"],
                    int(r["account"]),
                    r["name"],
                    int("".join(ch for ch in r["dialed"] if ch.isdigit())),
                    r["start_utc"],
                    int(r["duration_min"]),
                    r["status"],
                ],
            )
    book.close()

    def xlsx_rows(sheet: str) -> Reader:
        def read() -> list[dict[str, Any]]:
            wb = openpyxl.load_workbook(dump / "calls.xlsx", read_only=True)
            it = wb[sheet].iter_rows(values_only=True)
            head = [str(h) for h in next(it)]
            return [
                dict(zip(head, [None if v is None else str(v) for v in r], strict=True)) for r in it
            ]

        return read

    readers[("calls.xlsx", "January")] = xlsx_rows("January")
    readers[("calls.xlsx", "February")] = xlsx_rows("February")

    result = ingest(dump, tmp_path / "work")
    assert {(t["file"], t["table"]) for t in result.tables} == set(readers)
    for t in result.tables:
        assert t["rows_read"] == t["rows_accepted"] + t["rows_rejected"]
        assert t["hints"]["tz_hint"] == "UTC"
    fmts = {t["file"]: t["format"] for t in result.tables}
    assert fmts == {
        "calls.jsonl": "jsonl",
        "calls.parquet": "parquet",
        "calls.sqlite": "sqlite",
        "calls.xlsx": "xlsx",
    }
    assert check_provenance(tmp_path / "work", readers, 300) == 300

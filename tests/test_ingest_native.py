"""The native reader of delimited text (what Spark runs) against the DuckDB path, file by file.

Each case ingests one small dump twice: DuckDB converting every table, then the native
reader (``read_local``, the same function Spark's workers run on each file's bytes). The
ingested tables, ``rejects.csv`` and the report must be equal; where a file has a feature
only the DuckDB path reproduces, the table must say it was converted, and why.
"""

from __future__ import annotations

import filecmp
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from privguard.internals.audit.ingest.api import ingest
from privguard.internals.audit.ingest.native import NativeJob, NativeOutcome, to_json
from privguard.internals.audit.ingest.native_driver import engine_reader, read_local

HEADER = "Facility Name,ACCOUNT_NO,Destination Number,CallStartUTC,DurationSec,Notes"


def _both(
    tmp_path: Path, files: dict[str, bytes], reader: Any = read_local, mapping_file: Any = None
) -> list[dict[str, Any]]:
    """Ingest ``files`` both ways; assert equal outputs; the native run's table entries."""
    dump = tmp_path / "dump"
    for name, data in files.items():
        (dump / name).parent.mkdir(parents=True, exist_ok=True)
        (dump / name).write_bytes(data)
    ingest(dump, tmp_path / "a", mapping_file=mapping_file)
    ingest(dump, tmp_path / "b", native=reader, mapping_file=mapping_file)
    a = json.loads((tmp_path / "a" / "ingest_report.json").read_text())
    b = json.loads((tmp_path / "b" / "ingest_report.json").read_text())
    entries = [dict(e) for e in b["tables"]]
    for e in b["tables"]:
        e.pop("reader")
        e.pop("reader_note", None)
    assert a == b
    assert filecmp.cmp(tmp_path / "a" / "rejects.csv", tmp_path / "b" / "rejects.csv", False)
    for e in a["tables"]:
        if e.get("output"):
            ta = pq.read_table(tmp_path / "a" / e["output"])
            tb = pq.read_table(tmp_path / "b" / e["output"])
            assert ta.column_names == tb.column_names
            for col in ta.column_names:
                assert ta[col].to_pylist() == tb[col].to_pylist(), (e["file"], col)
    return entries


def _rows(tmp_path: Path, entry: dict[str, Any], col: str) -> list[Any]:
    return pq.read_table(tmp_path / "b" / entry["output"])[col].to_pylist()


def _rejects(tmp_path: Path) -> list[list[str]]:
    lines = (tmp_path / "b" / "rejects.csv").read_text().splitlines()[1:]
    return [line.split(",", 4) for line in lines]


def test_records_are_numbered_past_blank_lines_and_rejects(tmp_path: Path) -> None:
    text = "\r\n".join([
        HEADER,
        "CA26,4810485,619.520.8328,12/01/2011 18:39:03,757,a",
        "",
        "CA26,4810485,619.520.8328",  # too few fields: record 2
        "CA26,801249,323.586.2469,12/05/2011 05:10:38,377,b",
        "CA26,801249,323.586.2469,12/05/2011 05:10:38,377,b,x,y",  # too many: record 4
        "",
        "CA26,801249,323.586.2469,12/06/2011 05:10:38,,",
        "",
    ])  # fmt: skip
    [e] = _both(tmp_path, {"calls.csv": text.encode()})
    assert e["reader"] == "spark" and (e["rows_read"], e["rows_rejected"]) == (5, 2)
    assert _rows(tmp_path, e, "src_row") == [1, 3, 5]
    assert _rows(tmp_path, e, "duration")[2] is None  # an empty field is NULL, as on DuckDB
    assert [(r[2], r[3][:16]) for r in _rejects(tmp_path)] == [
        ("2", "MISSING COLUMNS:"),
        ("4", "TOO MANY COLUMNS"),
    ]
    assert "Found: 7" in _rejects(tmp_path)[1][3]


def test_quoted_values_with_line_breaks_delimiters_and_quotes(tmp_path: Path) -> None:
    text = (
        HEADER + "\n"
        'CA26,1,"619,520,8328",12/01/2011 18:39:03,757,"two\nlines, and ""quotes"""\n'
        'CA26,2,619.520.8328,12/01/2011 18:40:03,12,"\x07bell \\ slash é ☎"\n'
        '"CA26","3","619.520.8328","12/01/2011","9"\n'  # a quoted record, one field short
        'CA26,4,619.520.8328,12/01/2011 18:41:03,1,"last\nline"'
    )
    [e] = _both(tmp_path, {"calls.csv": text.encode()})
    assert e["reader"] == "spark" and e["rows_rejected"] == 1
    assert _rows(tmp_path, e, "src_row") == [1, 2, 4]
    extras = [json.loads(x) for x in _rows(tmp_path, e, "extras")]
    assert extras[0]["Notes"] == 'two\nlines, and "quotes"'
    assert extras[2]["Notes"] == "last\nline"


def test_latin1_tsv_is_read_as_windows_1252(tmp_path: Path) -> None:
    rows = [HEADER.replace(",", "\t")]
    rows += [
        f"CA26\t{k}\t619.520.8328\t12/01/2011 18:39:03\t75\tPEÑA O’BRIEN {k}" for k in range(40)
    ]
    data = "\r\n".join(rows).encode("cp1252")
    [e] = _both(tmp_path, {"export/calls.txt": data})
    assert e["reader"] == "spark" and e["format"] == "tsv" and e["rows_accepted"] == 40
    assert json.loads(_rows(tmp_path, e, "extras")[0])["Notes"] == "PEÑA O\u2019BRIEN 0"
    assert any("read as windows-1252" in w for w in e["warnings"])


@pytest.mark.parametrize("every", [False, True])
def test_a_stray_empty_field_is_set_aside_unless_every_record_has_it(
    tmp_path: Path, every: bool
) -> None:
    good = "CA26,2,619.520.8328,12/01/2011 18:39:03,757,b" + ("," if every else "")
    text = "\n".join([HEADER, good, 'CA26,1,"619,520",12/01/2011 18:39:03,757,a,', good])
    files = {"calls.csv": text.encode(), "skipped.csv": text.encode()}
    rules = tmp_path / "m.toml"
    rules.write_text('[[mapping]]\nfiles = "skipped.csv"\nskip = true\n')
    e, skipped = _both(tmp_path, files, mapping_file=rules)
    assert e["reader"] == skipped["reader"] == "spark"
    assert e["rows_rejected"] == (0 if every else 1) and skipped["rows_accepted"] == 3
    assert any("that field was dropped" in w for w in e["warnings"]) == every


def test_latin1_with_a_break_inside_a_quoted_value_is_converted(tmp_path: Path) -> None:
    """DuckDB reads the rewritten copy (LF records, the quoted CRLF kept) wrongly: it takes
    the first break it meets, the quoted CRLF, for the file's. Fuzz case 3:108."""
    rows = [HEADER, 'CA26,1,619.520.8328,12/01/2011 18:39:03,"\r\nO\u2019B",1']
    rows += ["CA26,2,619.520.8328,12/01/2011 18:39:03,5,x"] * 3
    [e] = _both(tmp_path, {"calls.csv": "\r\n".join(rows).encode("cp1252")})
    assert e["reader"] == "duckdb" and "line breaks" in e["reader_note"]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ('CA26,1,619.520.8328,12/01/2011 18:39:03,757,a,""\n', "quoted empty field"),
        ('CA26,1,619.520.8328,12/01/2011 18:39:03,757,"a"b\n', "quot"),
        ("CA26,1,619.520.8328,12/01/2011 18:39:03,757,a\r\n", "line breaks"),
    ],
)
def test_what_only_duckdb_reproduces_is_converted_and_said(
    tmp_path: Path, body: str, why: str
) -> None:
    good = "CA26,2,619.520.8328,12/01/2011 18:39:03,757,b\n"
    [e] = _both(tmp_path, {"calls.csv": (HEADER + "\n" + good + body + good).encode()})
    assert e["reader"] == "duckdb" and why in e["reader_note"]


def test_gzip_and_other_formats(tmp_path: Path) -> None:
    import gzip

    text = HEADER + "\nCA26,1,619.520.8328,12/01/2011 18:39:03,757,a\n"
    sqlite = _sqlite(tmp_path)
    entries = _both(tmp_path, {"a.csv.gz": gzip.compress(text.encode()), "b.sqlite": sqlite})
    readers = {e["format"]: (e["reader"], e.get("reader_note", "")) for e in entries}
    assert readers["csv"] == ("spark", "")
    assert readers["sqlite"][0] == "duckdb" and "no native reader" in readers["sqlite"][1]


def _sqlite(tmp_path: Path) -> bytes:
    import sqlite3

    db = tmp_path / "x.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE calls (dialed_number TEXT, start TEXT)")
    con.execute("INSERT INTO calls VALUES ('6195208328', '2011-12-01 10:00:00')")
    con.commit()
    con.close()
    return db.read_bytes()


JSON_OK = (
    '{"facility": "CA26", "dialed_number": "6195208328", "start": "2011-12-01 10:00:00", '
    '"SECONDS": 604, "nested": {"b": [true, null, "\\u001f é"]}, "big": -9223372036854775808}'
)


def test_json_lines_numbered_and_set_aside_as_on_duckdb(tmp_path: Path) -> None:
    lines = [
        JSON_OK,
        "",
        '{"facility": "CA26", "dialed_number": "6195208329", "start": "2011-12-02 10:00:00", '
        '"Seconds": 5, "extra": "\\ud83d\\ude00"}',  # a key differing in case only
        '["not", "an", "object"]',
        '{"facility": "CA26", "dialed_number": "61952',  # cut short
        '  {"facility": "CA27", "start": "2011-12-03 10:00:00", "dialed_number": null}  ',
        '{"a": 1} trailing',
    ]
    data = ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()
    [e] = _both(tmp_path, {"export/calls.jsonl": data})
    assert e["reader"] == "spark" and (e["rows_read"], e["rows_rejected"]) == (6, 3)
    assert e["columns"][-2:] == ["Seconds_2", "extra"]
    assert _rows(tmp_path, e, "src_row") == [1, 2, 5]
    reasons = [(r[2], r[3].split(",")[0]) for r in _rejects(tmp_path)]
    assert reasons == [("3", "not a JSON object"), ("4", "not valid JSON"), ("6", "not valid JSON")]


def test_json_lines_in_latin1_and_gzip(tmp_path: Path) -> None:
    import gzip

    data = (JSON_OK.replace("CA26", "PEÑA") + "\n").encode("latin-1") * 3
    entries = _both(tmp_path, {"a.jsonl": data, "b.ndjson.gz": gzip.compress(data)})
    assert [e["reader"] for e in entries] == ["spark", "spark"]


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ('{"amount": 1.50}', "fraction"),
        ('{"amount": 1e5}', "fraction"),
        ('{"n": 18446744073709551616}', "64 bits"),
        ('{"n": NaN}', "NaN"),
        ('{"n": 1,}', "refuses"),  # DuckDB accepts a trailing comma, Python does not
        ('{"n": 1, "n": 2}', "twice"),
        ('{"a.b\\"": 1}', "key"),
    ],
)
def test_json_only_duckdb_reads_alike_is_converted_and_said(
    tmp_path: Path, line: str, why: str
) -> None:
    data = f"{JSON_OK}\n{line}\n{JSON_OK}\n".encode()
    [e] = _both(tmp_path, {"calls.jsonl": data})
    assert e["reader"] == "duckdb" and why in e["reader_note"]


def test_duckdb_json_escapes() -> None:
    import duckdb

    text = "".join(chr(c) for c in range(0x300)) + "\u2028\U0001f600\ufeff"
    con = duckdb.connect()
    assert con.execute("SELECT CAST(to_json(?::VARCHAR) AS VARCHAR)", [text]).fetchone() == (
        to_json(text),
    )


def test_engine_reader_maps_files_by_position(tmp_path: Path) -> None:
    """An engine's ``map_files`` answers by position; a file it skipped is left for DuckDB."""

    class Engine:
        def map_files(self, paths: list[str], fn: Any) -> list[tuple[int, Any]]:
            return [(k, fn(k, Path(p).read_bytes())) for k, p in enumerate(paths) if k != 1]

    jobs = [
        NativeJob(k, str(tmp_path / f"{k}.csv"), False, "utf-8", ",", '"', True, ("a", "b"),
                  None, None, None, f"{k}.csv", str(k), "", "csv", "", str(tmp_path / f"{k}.r"))
        for k in range(3)
    ]  # fmt: skip
    for job in jobs:
        Path(job.path).write_text("a,b\n1,2\n3\n")
    reader = engine_reader(Engine())
    assert reader is not None and engine_reader(object()) is None
    got = reader(jobs)
    assert [o.index for o in got] == [0, 2]
    assert got[0] == NativeOutcome(0, 1, 1, "", str(tmp_path / "0.r"))


def test_json_scanned_but_given_back_is_staged_by_duckdb(tmp_path: Path) -> None:
    """A JSON-lines file scanned natively whose write falls back is read by DuckDB then."""

    def reader(jobs: list[NativeJob]) -> list[NativeOutcome]:
        give_back = [
            NativeOutcome(j.index, fallback="given back") for j in jobs if j.kind == "jsonl"
        ]
        return read_local([j for j in jobs if j.kind != "jsonl"]) + give_back

    data = f"{JSON_OK}\n[1]\n{JSON_OK}\n".encode()
    csv = (HEADER + "\nCA26,1,6,1,2,x\n").encode()
    entries = _both(tmp_path, {"a.jsonl": data, "b.csv": csv}, reader)
    assert [(e["reader"], e.get("reader_note")) for e in entries] == [
        ("duckdb", "given back"),
        ("spark", None),
    ]


def test_an_engine_failure_leaves_every_table_to_duckdb(tmp_path: Path) -> None:
    from privguard.errors import EngineError

    def reader(jobs: list[NativeJob]) -> list[NativeOutcome]:
        raise EngineError("the cluster went away", fix="none")

    data = f"{JSON_OK}\n".encode()
    entries = _both(
        tmp_path, {"a.jsonl": data, "b.csv": (HEADER + "\nCA26,1,6,1,2,x\n").encode()}, reader
    )
    assert {e["reader"] for e in entries} == {"duckdb"}
    assert all("the cluster went away" in e["reader_note"] for e in entries)

"""Column names and first records of each table from the head of its file, without a full read.

:func:`probe` lets ingest check every table's mapping before it reads any file in full, so
a user with an unmappable multi-gigabyte file learns it in seconds. A probe reads at most a
few megabytes of a file (the first records of each sheet, table or dump statement) and
returns :class:`~privguard.internals.audit.ingest.readers.Staged` tables with ``columns`` and
``sample`` only (``staging`` is None). Two formats are staged for good by their probe, whose
result the full read reuses: delimited text (its lines are scanned once, in full) and
workbooks (their reader loads each sheet whole). It gives the same column names as the full readers
(a JSON table's later records may add keys: those are seen only by the full read, which
maps again). Tables a dump defines after its first megabytes are not probed.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
from pathlib import Path
from typing import Any

from privguard.internals.audit.engines.base import Executor
from privguard.internals.audit.ingest import sql
from privguard.internals.audit.ingest.discover import SourceFile, stem
from privguard.internals.audit.ingest.readers import Staged, unique_names
from privguard.internals.audit.ingest.readers.delimited import read_csv_file
from privguard.internals.audit.ingest.readers.delimited.dialect import _HEAD, _open, detect_encoding
from privguard.internals.audit.ingest.readers.xlsx import read_xlsx

log = logging.getLogger(__name__)

SAMPLE = 200
_DUMP_HEAD = 4 << 20  # bytes of an SQL dump split for its first tables
_JSON_HEAD = 4 << 20


def probe(ex: Executor, src: SourceFile, scratch: Path, scan: str) -> list[Staged]:
    """The tables of ``src`` with columns and first records; [] when it cannot be probed.

    Damaged files are not reported here: the full read reports them as it does without a
    probe.
    """
    try:
        if src.format in ("csv", "tsv"):
            return [read_csv_file(ex, src, scratch, scan)]  # its head, and the one line scan
        if src.format in ("jsonl", "json"):
            return [_json(src)]
        if src.format == "parquet":
            return [_parquet(ex, src)]
        if src.format == "xlsx":
            return _xlsx(ex, src, scratch, scan)  # read in full, once (see _xlsx)
        if src.format == "sqlite":
            return _sqlite(src)
        return _dump(ex, src, scratch, scan)
    except Exception as exc:  # any damage: the full read reports it with its reason
        log.debug("%s: no probe (%s)", src.name, exc)
        return []


def _value(v: Any) -> str | None:
    """A JSON value as ``json_extract_string`` gives it."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"), ensure_ascii=False)
    return str(v)


def _json(src: SourceFile) -> Staged:
    with _open(src.path, src.gzip) as fh:
        head = fh.read(_JSON_HEAD)
    text = head.decode(detect_encoding(src.path, src.gzip, head[:_HEAD]), "replace")
    text = text.lstrip("\ufeff")
    records: list[Any] = []
    if src.format == "json":
        dec = json.JSONDecoder()
        pos = text.find("[") + 1
        while len(records) < SAMPLE:
            while pos < len(text) and text[pos] in " \t\r\n,":
                pos += 1
            try:
                value, pos = dec.raw_decode(text, pos)
            except ValueError:
                break
            records.append(value)
    else:
        for line in itertools.islice(io.StringIO(text), SAMPLE * 5):
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    objects = [r for r in records if isinstance(r, dict)][:SAMPLE]
    keys: list[str] = []
    for r in objects:
        keys.extend(k for k in r if k not in keys)
    sample = [tuple(_value(r.get(k)) for k in keys) for r in objects]
    return Staged(
        src.name, stem(src.name), src.format, "", unique_names(keys), None, 0, sample=sample
    )


def _parquet(ex: Executor, src: SourceFile) -> Staged:
    from privguard.internals.audit.ingest.readers.parquet import read_parquet

    s = read_parquet(ex, src, Path(), "")
    if s.staging is not None:
        s.sample = ex.fetchall(sql.sample(s.staging, len(s.columns), SAMPLE))
    return s


def _xlsx(ex: Executor, src: SourceFile, scratch: Path, scan: str) -> list[Staged]:
    """Every sheet staged for good, with its first records.

    The spreadsheet reader loads a sheet whole, so reading only its head saves nothing: a
    separate head reader (openpyxl) parsed each workbook a second time, in Python. A
    workbook is bounded in size (about a million rows a sheet), so this early full read
    keeps the early mapping check quick.
    """
    tables = read_xlsx(src, scratch, scan)
    for s in tables:
        if s.staging is not None:
            s.sample = ex.fetchall(sql.sample(s.staging, len(s.columns), SAMPLE))
    return tables


def _sqlite(src: SourceFile) -> list[Staged]:
    from privguard.internals.audit.ingest.readers.sqlite import _connect, _ident

    con = _connect(src.path)
    con.text_factory = lambda b: b.decode("utf-8", "replace")
    out: list[Staged] = []
    try:
        names = [
            str(r[0])
            for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
            )
        ]
        for name in names:
            cols = [str(r[1]) for r in con.execute(f"PRAGMA table_info({_ident(name)})")]
            select = ", ".join(f"CAST({_ident(c)} AS TEXT)" for c in cols)
            rows = con.execute(f"SELECT {select} FROM {_ident(name)} LIMIT {SAMPLE}").fetchall()
            out.append(
                Staged(src.name, name, "sqlite", "", unique_names(cols), None, 0, sample=rows)
            )
    finally:
        con.close()
    return out


def _dump(ex: Executor, src: SourceFile, scratch: Path, scan: str) -> list[Staged]:
    from privguard.internals.audit.ingest.readers.sqltables import read_sql_dump

    with _open(src.path, src.gzip) as fh:
        head = fh.read(_DUMP_HEAD)
    # Whole lines only; a statement or COPY block the cut leaves open is read as truncated.
    cut = head.rfind(b"\n") + 1 if len(head) == _DUMP_HEAD else len(head)
    part = scratch / f"{scan}.head.sql"
    part.write_bytes(head[:cut])
    tables, _ = read_sql_dump(ex, SourceFile(src.name, part, src.format, "", cut), scratch, scan)
    return [t for t in tables if t.columns]

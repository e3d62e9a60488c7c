"""JSON: one object per line (JSON lines) or one array of objects, read by DuckDB.

A record that is not a JSON object is rejected. A JSON array is read out of core by DuckDB
(``read_json(format='array')``, record = index in the array); when its syntax is broken
DuckDB cannot resume, so Python reads the elements before the break and everything from the
break on is one rejected record (as an unterminated string in an SQL dump is).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pyarrow as pa

from privguard.errors import EngineError
from privguard.internals.audit.engines.base import Executor
from privguard.internals.audit.ingest import sql
from privguard.internals.audit.ingest.discover import SourceFile, stem
from privguard.internals.audit.ingest.readers import Staged, unique_names
from privguard.internals.audit.ingest.readers.delimited import read_delimited
from privguard.internals.audit.ingest.readers.delimited.dialect import _HEAD, _open, detect_encoding
from privguard.internals.audit.ingest.readers.rejects import Rejects, steps

log = logging.getLogger(__name__)


def read_jsonl(ex: Executor, src: SourceFile, scratch: Path, scan: str) -> Staged:
    """Stage one JSON-lines file: keys in order of first appearance become the columns."""
    with _open(src.path, src.gzip) as fh:
        head = fh.read(_HEAD)
    encoding = detect_encoding(src.path, src.gzip, head)
    # \x01 never occurs raw in valid JSON (control characters are escaped): one column per line.
    dialect = sql.CsvDialect(
        delim="\x01",
        quote="",
        escape="",
        header=False,
        encoding=encoding,
        gzip=src.gzip,
        nullstr="\x02",
    )
    lines = f"{scan}_lines"
    _, rej1, line_rows = read_delimited(
        ex, src.path, 1, dialect, scratch / f"{scan}.rejects1.parquet", scan
    )
    # Lines are parsed as JSON several times below: keep them once, in order.
    ex.execute(sql.create_temp(lines, sql.select_all(line_rows)))
    for stmt in sql.drop_rejects(f"{scan}_again"):
        ex.execute(stmt)
    n = rej1.count
    warnings = [] if n == 0 else [f"{n} line(s) could not be decoded as {encoding}"]
    return _objects(ex, src, scratch, scan, rej1, warnings, "jsonl")


def _objects(
    ex: Executor,
    src: SourceFile,
    scratch: Path,
    scan: str,
    rej1: Rejects,
    warnings: list[str],
    fmt: str,
) -> Staged:
    """Stage the records in temp table ``{scan}_lines`` (``c0`` text, ``file_row_number``)."""
    lines = f"{scan}_lines"
    rec = sql.src_row_expr("file_row_number", steps(rej1.records()))
    source = sql.table_rows(lines)
    keys: list[str] = []
    for k, _ in ex.fetchall(sql.json_keys(source)):
        keys.extend(x for x in k if x not in keys)
    names = unique_names(keys)
    if keys:
        ex.execute(sql.create_temp(scan, sql.json_fields(source, keys, rec)))
    rows = ex.fetchall(sql.json_rejects(source, rec))
    rejects = Rejects.gather(scratch / f"{scan}.rejects.parquet", rows, rej1)
    accepted = ex.fetchall(sql.json_objects(source))[0][0]
    ex.execute(sql.drop_table(lines))
    return Staged(
        src.name,
        stem(src.name),
        fmt,
        src.sha256,
        names,
        sql.table_rows(scan) if keys else None,
        int(accepted),
        rejects,
        True,
        warnings,
        [sql.drop_table(scan)],
    )


def read_json_array(ex: Executor, src: SourceFile, scratch: Path, scan: str) -> Staged:
    """Stage one JSON file holding an array of objects: record = 1-based index in the array."""
    lines = f"{scan}_lines"
    try:
        ex.execute(sql.create_temp(lines, sql.json_array_rows(src.path, src.gzip)))
        return _objects(ex, src, scratch, scan, Rejects(), [], "json")
    except EngineError as exc:
        log.info("%s: DuckDB cannot read the array (%s); reading up to the break", src.name, exc)
    rej1, warning = _array_up_to_break(ex, src, scratch, scan)
    return _objects(ex, src, scratch, scan, rej1, [warning], "json")


def _array_up_to_break(
    ex: Executor, src: SourceFile, scratch: Path, scan: str
) -> tuple[Rejects, str]:
    """Elements before a syntax break as temp ``{scan}_lines``; the rest as one reject."""
    with _open(src.path, src.gzip) as fh:
        data = fh.read()  # only for a broken file, which DuckDB cannot stream past
    encoding = detect_encoding(src.path, src.gzip, data[:_HEAD])
    text = data.decode(encoding, "replace").lstrip("\ufeff")
    dec = json.JSONDecoder()
    pos = _skip(text, 0)
    items: list[str] = []
    if pos < len(text) and text[pos] == "[":
        pos = _skip(text, pos + 1)
        while pos < len(text) and text[pos] != "]":
            try:
                value, end = dec.raw_decode(text, pos)
            except ValueError:
                break
            items.append(json.dumps(value, ensure_ascii=False))
            pos = _skip(text, end)
            if pos < len(text) and text[pos] == ",":
                pos = _skip(text, pos + 1)
            elif pos < len(text) and text[pos] != "]":
                break
    numbers = pa.array(range(len(items)), pa.int64())
    ex.register_arrow(f"{scan}_items", pa.table({"c0": pa.array(items, pa.string()), "n": numbers}))
    ex.execute(sql.create_temp(f"{scan}_lines", sql.json_items(f"{scan}_items")))
    if pos < len(text) and text[pos] == "]":
        pos += 1  # a complete array: only text after its closing ] can be left
    rest = text[pos:]
    if not rest.strip():
        if text[pos - 1 : pos] == "]":
            return Rejects(), "the file was read in Python (DuckDB could not read it)"
        reason = "the JSON array ends without its closing ] (truncated?)"
    elif text[pos - 1 : pos] == "]":
        reason = "text after the JSON array's closing ]"
    else:
        reason = (
            f"malformed JSON at character {pos + 1}: the array cannot be split into records "
            "from here on, so the rest of the file is this one record"
            + ("" if rest.rstrip().endswith("]") else " (the file looks truncated)")
        )
    rej = Rejects.write(scratch / f"{scan}.rejects1.parquet", [(len(items) + 1, reason, rest)])
    return rej, f"read {len(items)} record(s), then: {reason}"


def _skip(text: str, pos: int) -> int:
    """The first position at or after ``pos`` that is not JSON white space."""
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos

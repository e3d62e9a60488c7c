"""JSON lines: one object per line, read by DuckDB; a line that is not a JSON object is rejected."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from privguard.internals.engines.base import Executor
from privguard.internals.ingest import sql
from privguard.internals.ingest.discover import SourceFile, stem
from privguard.internals.ingest.readers import REJECT_SCHEMA, Staged, unique_names
from privguard.internals.ingest.readers.delimited import (
    _HEAD,
    _open,
    detect_encoding,
    read_delimited,
)
from privguard.internals.sql import quote_ident, quote_literal


def _steps(ex: Executor, rejects: Path | None) -> list[tuple[int, int]]:
    if rejects is None:
        return []
    rows = ex.fetchall(f"SELECT rec FROM {sql.staging_source(rejects, False)} ORDER BY rec")
    return [(int(rec) - (j + 1), j + 1) for j, (rec,) in enumerate(rows)]


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
    _, rejected, rej1, line_rows = read_delimited(
        ex, src.path, 1, dialect, scratch / f"{scan}.rejects1.parquet", scan
    )
    # Lines are parsed as JSON several times below: keep them once, in order.
    ex.execute(sql.create_temp(lines, f"SELECT * FROM {line_rows}"))
    for stmt in sql.drop_rejects(f"{scan}_again"):
        ex.execute(stmt)
    rec = sql.src_row_expr("file_row_number", _steps(ex, rej1))
    source = f"(SELECT * FROM {quote_ident(lines)})"
    valid = "(CASE WHEN json_valid(c0) THEN json_type(c0) = 'OBJECT' ELSE false END)"
    key_rows = ex.fetchall(
        f"SELECT json_keys(c0) AS k, min(file_row_number) AS r FROM {source} "
        f"WHERE {valid} GROUP BY k ORDER BY r"
    )
    keys: list[str] = []
    for k, _ in key_rows:
        keys.extend(x for x in k if x not in keys)
    names = unique_names(keys)
    if keys:
        paths = ", ".join(quote_literal('$."' + k.replace('"', '\\"') + '"') for k in keys)
        cols = ", ".join(
            f"v[{i + 1}] AS {quote_ident(sql.staged_name(i))}" for i in range(len(keys))
        )
        inner = (
            f"SELECT json_extract_string(c0, [{paths}]) AS v, {rec} AS {sql.REC} "
            f"FROM {source} WHERE {valid}"
        )
        ex.execute(sql.create_temp(scan, f"SELECT {cols}, {sql.REC} FROM ({inner})"))
    rows = ex.fetchall(
        f"SELECT CAST({rec} AS BIGINT) AS rec, "
        "CASE WHEN json_valid(c0) THEN 'not a JSON object' ELSE 'not valid JSON' END AS reason, "
        f"c0 AS raw FROM {source} WHERE NOT {valid} ORDER BY rec"
    )
    bad = pa.table(
        [pa.array([r[i] for r in rows], f.type) for i, f in enumerate(REJECT_SCHEMA)],
        schema=REJECT_SCHEMA,
    )
    parts = [bad]
    if rej1 is not None:
        parts.append(pq.read_table(rej1).cast(REJECT_SCHEMA))
    allrej = pa.concat_tables(parts).sort_by("rec")
    rej_path = None
    if allrej.num_rows:
        rej_path = scratch / f"{scan}.rejects.parquet"
        pq.write_table(allrej, rej_path)
    accepted = ex.fetchall(f"SELECT count(*) FROM {source} WHERE {valid}")[0][0]
    ex.execute(sql.drop_table(lines))
    return Staged(
        src.name,
        stem(src.name),
        "jsonl",
        src.sha256,
        names,
        f"(SELECT * FROM {quote_ident(scan)})" if keys else None,
        int(accepted),
        rej_path,
        allrej.num_rows,
        True,
        [] if rejected == 0 else [f"{rejected} line(s) could not be decoded as {encoding}"],
        [sql.drop_table(scan)],
    )

"""Delimited text read by a distributed engine itself, numbered exactly as the DuckDB path does.

With ``--engine spark``, a CSV/TSV table needs no DuckDB conversion: Spark reads each
file's bytes and its Python workers parse them here, record by record in file order, so
``src_row`` (the record's 1-based index, header and blank lines not counted) and the
rejected records (with DuckDB's reasons and raw text) are those of the DuckDB path. Spark's
own CSV reader has no record numbers, and splitting a file between tasks cannot know where
a quoted value ends, hence one task a file.

The DuckDB path works around its reader's faults (records with a stray empty field, long
lines, notes before the table, broken quoting, line breaks of several kinds, gzip files
cut short, bytes that are not text). Where a file has such a feature, this reader does not
guess: it gives a :class:`Fallback` reason, and the file is converted by DuckDB as before
(the reason is logged and put in ``ingest_report.json``). Nothing here imports an engine:
the reader is a function of (job, bytes), run by Spark or, in tests, by :func:`read_local`.

Here: the jobs, their outcomes and the writing of a table's ingested Parquet; how bytes
become records is :mod:`.native_text` (delimited text) and :mod:`.native_json` (JSON lines).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from privguard.internals.audit.ingest.readers.rejects import Rejects
from privguard.internals.audit.schema import CANONICAL_FIELDS, INGESTED_COLUMNS

log = logging.getLogger(__name__)

BATCH_ROWS = 1 << 16  # rows per Parquet batch: bounds a worker's memory on large files
QUOTE = '"'

# How a table was read, in ingest_report.json (only when a native reader was offered).
NATIVE = "spark"
CONVERTED = "duckdb"


class Fallback(Exception):
    """This file has a feature only the DuckDB path reproduces: it is converted there."""


@dataclass(frozen=True)
class NativeJob:
    """Everything a worker needs to read one delimited table and write its ingested file."""

    index: int  # the table's id (its position in the ingest report)
    path: str  # the bytes to read: the dump's file or an archive member's extracted copy
    gzip: bool
    encoding: str  # "utf-8" or "latin-1" (Windows-1252, as the DuckDB path's rewrite)
    delim: str
    escape: str
    header: bool
    columns: tuple[str, ...]
    # canonical field -> source column indexes; None: the table is counted, not written
    mapping: dict[str, tuple[int, ...]] | None
    tz_hint: str | None
    duration_unit: str | None
    file: str
    table: str
    sha256: str
    fmt: str
    out: str  # the ingested Parquet file ("" when counted only)
    rejects: str  # where its rejected records go (a Parquet file of Rejects)
    # "delimited"; "jsonl" (keys: the JSON keys as written, in column order); "jsonl-scan"
    # (the first pass over JSON lines: its columns, first rows and counts; native_json.py)
    kind: str = "delimited"
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class NativeOutcome:
    """What reading one job gave: counts, or why it must be converted by DuckDB instead."""

    index: int
    accepted: int = 0
    rejected: int = 0
    fallback: str = ""
    rejects: str = ""  # the Rejects file, when any record was rejected
    scan: Any = None  # a "jsonl-scan" job's JsonScan
    warnings: tuple[str, ...] = ()  # for the table's report entry


NativeReader = Callable[[Sequence[NativeJob]], list[NativeOutcome]]


# --- reading, on a worker -----------------------------------------------------------------------
def run_job(job: NativeJob, data: bytes) -> NativeOutcome:
    """Parse ``data`` (the file's bytes) and write the ingested table and its rejects."""
    # Imported here: both read this module's types.
    from privguard.internals.audit.ingest import native_json, native_text

    out = Path(job.out) if job.out else None
    tmp = out.with_suffix(".native.tmp") if out else None
    found = None
    warnings: list[str] = []
    try:
        if job.kind == "jsonl-scan":
            found, accepted, rejected = native_json.scan(job, native_json.decode(job, data))
        elif job.kind == "jsonl":
            accepted, rejected = _write(native_json.rows(job, data), job, tmp)
        else:
            accepted, rejected = _write(native_text.delimited_rows(job, data, warnings), job, tmp)
    except Fallback as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        return NativeOutcome(job.index, fallback=str(exc))
    if out is not None and tmp is not None:
        tmp.replace(out)
    rej = Rejects.write(Path(job.rejects), rejected) if rejected else Rejects()
    return NativeOutcome(
        job.index, accepted, rej.count, "", str(rej.path or ""), found, tuple(warnings)
    )


_ESCAPED = re.compile(r"\\u([0-9a-f]{4})")


def to_json(value: str) -> str:
    """A text as DuckDB's ``to_json`` writes it (its \\u escapes are upper-case)."""
    out = json.dumps(value, ensure_ascii=False)
    if "\\u" in out:
        out = _ESCAPED.sub(lambda m: "\\u" + m.group(1).upper(), out)
    return out


@dataclass
class _Table:
    """The ingested columns of one table, gathered a batch at a time."""

    job: NativeJob
    cols: dict[str, list[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        m = self.job.mapping or {}
        self.fields = [(name, m.get(name, ())) for name in CANONICAL_FIELDS]
        used = {i for idx in m.values() for i in idx}
        self.extras = [
            (json.dumps(c, ensure_ascii=False) + ":", i)
            for i, c in enumerate(self.job.columns)
            if i not in used
        ]
        self.clear()

    def clear(self) -> None:
        self.cols = {name: [] for name in (*CANONICAL_FIELDS, "extras", "src_row")}

    def add(self, values: list[str | None], rec: int) -> None:
        cols = self.cols
        for name, idx in self.fields:
            if not idx:
                cols[name].append(None)
            elif len(idx) == 1:
                cols[name].append(values[idx[0]])
            else:  # NULLIF(concat_ws(' ', ...), ''): NULLs are skipped
                joined = " ".join(v for v in (values[i] for i in idx) if v is not None)
                cols[name].append(joined or None)
        if self.extras:
            parts = [
                key + ("null" if values[i] is None else to_json(values[i]))  # type: ignore[arg-type]
                for key, i in self.extras
            ]
            cols["extras"].append("{" + ",".join(parts) + "}")
        else:
            cols["extras"].append("{}")
        cols["src_row"].append(rec)

    def batch(self) -> pa.Table:
        n = len(self.cols["src_row"])
        job = self.job
        data: dict[str, pa.Array] = {}
        const = {
            "tz_hint": job.tz_hint,
            "duration_unit": job.duration_unit,
            "src_file": job.file,
            "src_table": job.table,
            "src_sha256": job.sha256,
            "src_format": job.fmt,
        }
        for name in INGESTED_COLUMNS:
            if name == "table_id":
                data[name] = pa.array([job.index] * n, pa.int32())
            elif name == "src_row":
                data[name] = pa.array(self.cols[name], pa.int64())
            elif name in const:
                data[name] = pa.array([const[name]] * n, pa.string())
            else:
                data[name] = pa.array(self.cols[name], pa.string())
        return pa.table(data)


Row = tuple[int, "list[str | None] | None", str, str]  # record, values or None, raw, why


def _write(
    rows: Iterator[Row], job: NativeJob, out: Path | None
) -> tuple[int, list[tuple[int, str, str]]]:
    """Write ``rows`` (when ``out``): (accepted, rejected records)."""
    table = _Table(job)
    writer: pq.ParquetWriter | None = None
    rejected: list[tuple[int, str, str]] = []
    accepted = 0
    try:
        for rec, values, raw, why in rows:
            if values is None:
                rejected.append((rec, why, raw))
                continue
            accepted += 1
            if out is not None:
                table.add(values, rec)
                if len(table.cols["src_row"]) >= BATCH_ROWS:
                    writer = _flush(table, writer, out)
        if out is not None:
            writer = _flush(table, writer, out, last=True)
    finally:
        if writer is not None:
            writer.close()
    return accepted, rejected


def _flush(table: _Table, writer: pq.ParquetWriter | None, out: Path, last: bool = False) -> Any:
    batch = table.batch()
    table.clear()
    if writer is None:
        writer = pq.ParquetWriter(out, batch.schema, compression="zstd")
    if batch.num_rows or last:
        writer.write_table(batch)
    return writer

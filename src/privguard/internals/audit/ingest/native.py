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
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import logging
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from privguard.internals.audit.ingest.readers.delimited.checks import _raw
from privguard.internals.audit.ingest.readers.delimited.long_lines import MAX_LINE
from privguard.internals.audit.ingest.readers.delimited.prepare import _CP1252, _outside_quotes
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
    from privguard.internals.audit.ingest import native_json

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
            accepted, rejected = _write(_delimited_rows(job, data, warnings), job, tmp)
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


def plain_bytes(job: NativeJob, data: bytes) -> bytes:
    """The file's bytes, gunzipped; Fallback for a damaged gzip file or a NUL byte."""
    if job.gzip:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise Fallback(f"the gzip file cannot be read whole ({exc})") from exc
    if b"\x00" in data:
        raise Fallback("a NUL byte in the text")
    return data


def utf8(data: bytes) -> str:
    """UTF-8 text as DuckDB reads it (byte-order mark skipped, one kind of line break)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Fallback("bytes that are not UTF-8 (the DuckDB path rejects them)") from exc
    return one_kind_of_break(text.removeprefix("\ufeff"))  # DuckDB skips a byte-order mark


def one_kind_of_break(text: str) -> str:
    """``text`` if its line breaks are all LF or all CRLF (counted inside values too)."""
    cr = text.count("\r")
    if cr and not cr == text.count("\r\n") == text.count("\n"):
        raise Fallback("line breaks of more than one kind (the DuckDB path rewrites them)")
    return text


def decode(job: NativeJob, data: bytes) -> str:
    """The file's text as the DuckDB path's reader sees it; Fallback where it would differ."""
    data = plain_bytes(job, data)
    if job.encoding == "utf-8":
        return utf8(data)
    if job.encoding == "latin-1":
        # As the DuckDB path's rewrite (prepare.py): Windows-1252, breaks outside quoted
        # values made LF.
        text = codecs.charmap_decode(data, "strict", _CP1252)[0].removeprefix("\ufeff")
        # A CR left inside a quoted value of LF records misleads DuckDB's break detection.
        return one_kind_of_break(_outside_quotes(text, QUOTE, False)[0])
    raise Fallback(f"{job.encoding} text (the DuckDB path rewrites it)")


def _lines(text: str) -> list[str]:
    """Physical lines with their LF kept (a last line without one as it is)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    for line in lines:
        if len(line) * 4 > MAX_LINE and len(line.encode("utf-8")) > MAX_LINE:
            raise Fallback("a line too long for the reader (the DuckDB path sets it aside)")
    return lines


def _body(raw: str) -> str:
    """A record's raw text without its final line break."""
    return raw.removesuffix("\n").removesuffix("\r")


def _well_quoted(delim: str) -> re.Pattern[str]:
    """A record whose every field is either quoted whole (quotes doubled) or has no quote."""
    d = re.escape(delim)
    f = f'(?:"(?:[^"]|"")*"|[^"{d}\\r\\n]*)'
    return re.compile(f"{f}(?:{d}{f})*")


def records(job: NativeJob, text: str) -> Iterator[tuple[list[str], str]]:
    """Each record's fields and raw text, in file order (blank lines are no records)."""
    lines = _lines(text)
    if job.header and lines and not _body(lines[0]):
        raise Fallback("a blank first line where the header should be")
    if QUOTE not in text:
        for line in lines:
            body = _body(line)
            if body:
                yield body.split(job.delim), body
        return
    if job.escape != QUOTE:
        raise Fallback("an escape character other than the quote")
    good = _well_quoted(job.delim)
    reader = csv.reader(iter(lines), delimiter=job.delim, quotechar=QUOTE, strict=True)
    seen = 0
    try:
        for fields in reader:
            raw = "".join(lines[seen : reader.line_num])
            seen = reader.line_num
            if not fields:
                continue
            body = _body(raw)
            if QUOTE in body and not good.fullmatch(body):
                raise Fallback("a quote inside an unquoted value (broken quoting)")
            yield fields, body
    except csv.Error as exc:
        raise Fallback(f"broken quoting ({exc})") from exc


def _reason(n: int, found: int) -> str:
    """DuckDB's reason for a record with the wrong number of fields (see sql.csv_rejects)."""
    if found > n:  # DuckDB lists one error per extra field; the shortest text is kept
        return f"TOO MANY COLUMNS: Expected Number of Columns: {n} Found: {n + 1}"
    return f"MISSING COLUMNS: Expected Number of Columns: {n} Found: {found}"


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


def _delimited_rows(job: NativeJob, data: bytes, warnings: list[str]) -> Iterator[Row]:
    """Each record of delimited text: its index, values (None: rejected), raw text, why."""
    text = decode(job, data)
    keep = _keep_stray(job, text, warnings)
    n = len(job.columns)
    first = job.header
    rec = 0
    for fields, body in records(job, text):
        if first:  # the header: not a record
            first = False
            continue
        rec += 1
        k = len(fields)
        if k == n:
            yield rec, [f if f != "" else None for f in fields], body, ""
        elif k == n + 1 and fields[-1] == "":
            if not body.endswith(job.delim):
                raise Fallback("a quoted empty field past the header's columns")
            if keep:
                yield rec, [f if f != "" else None for f in fields[:n]], body, ""
            else:
                yield (
                    rec,
                    None,
                    _raw(list[str | None](fields), job.delim),
                    STRAY.format(n=n, k=n + 1),
                )
        else:
            yield rec, None, body, _reason(n, k)


# As readers/delimited/checks.py: DuckDB accepts one empty field past the header's columns
# (shifting nothing: it drops it), so the DuckDB path rejects such records, unless every
# record has it (the file's own habit, kept with a warning), or the table is only counted.
STRAY = (
    "TOO MANY COLUMNS: Expected Number of Columns: {n} Found: {k} "
    "(the last one empty; its values would be shifted by one column)"
)
EVERY = (
    "every record ends in one empty field more than the {n} columns of the header; "
    "that field was dropped"
)


def _keep_stray(job: NativeJob, text: str, warnings: list[str]) -> bool:
    """Whether records with one stray empty field are kept (see STRAY)."""
    d = job.delim
    if not job.out or not (d + "\n" in text or d + "\r\n" in text or text.endswith(d)):
        return True  # counted only (as the DuckDB path counts them), or none can have one
    n = len(job.columns)
    stray = plain = 0
    first = job.header
    for fields, _ in records(job, text):
        if first:
            first = False
            continue
        plain += len(fields) == n
        stray += len(fields) == n + 1 and fields[-1] == ""
    if stray and not plain:
        warnings.append(EVERY.format(n=n))
        return True
    return False


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

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
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from privguard.errors import EngineError
from privguard.internals.audit.ingest.readers import Staged
from privguard.internals.audit.ingest.readers.delimited.long_lines import MAX_LINE
from privguard.internals.audit.ingest.readers.delimited.prepare import _CP1252, _outside_quotes
from privguard.internals.audit.ingest.readers.rejects import Rejects
from privguard.internals.audit.schema import CANONICAL_FIELDS, INGESTED_COLUMNS

log = logging.getLogger(__name__)

MAX_FILE = 1 << 30  # a file is read whole by one task (Spark's binaryFile stops at 2 GB)
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


@dataclass(frozen=True)
class NativeOutcome:
    """What reading one job gave: counts, or why it must be converted by DuckDB instead."""

    index: int
    accepted: int = 0
    rejected: int = 0
    fallback: str = ""
    rejects: str = ""  # the Rejects file, when any record was rejected


NativeReader = Callable[[Sequence[NativeJob]], list[NativeOutcome]]


# --- deciding, on the driver --------------------------------------------------------------------
def native_job(i: int, s: Staged, mapping: Any, out_dir: Path) -> NativeJob | str:
    """The job reading table ``i`` natively, or why it is converted by DuckDB."""
    d = s.deferred
    if s.format not in ("csv", "tsv") or d is None or d.unescape is not None or d.bad:
        return f"{s.format}: no native reader for this format yet; converted by DuckDB"
    why = d.origin_why or _why_not(d)
    if why or d.origin is None:
        return why or "the file was rewritten before DuckDB could read it"
    path, compressed, encoding = d.origin
    name = Path(path).name
    if name.startswith(("_", ".")) or any(ch in str(path) for ch in "*?[]{}\\"):
        # Spark skips such names (its own markers) or reads them as a glob pattern.
        return "its name is one Spark's file reader skips or expands (_x, .x, *?[]{})"
    if Path(path).stat().st_size > MAX_FILE:
        return f"larger than {MAX_FILE >> 20:,} MB, the most one worker reads whole"
    written = mapping is not None and bool(s.sample) and not mapping.skip
    return NativeJob(
        index=i,
        path=str(path),
        gzip=compressed,
        encoding=encoding,
        delim=d.dialect.delim,
        escape=d.dialect.escape,
        header=d.dialect.header,
        columns=tuple(s.columns),
        mapping=dict(mapping.fields) if written else None,
        tz_hint=mapping.tz_hint if written else None,
        duration_unit=mapping.duration_unit if written else None,
        file=s.file,
        table=s.table,
        sha256=s.sha256,
        fmt=s.format,
        out=str(out_dir / f"{i}.parquet") if written else "",
        rejects=str(d.rejects.with_suffix(".native.parquet")),
    )


def _why_not(d: Any) -> str:
    if d.notes:
        return "lines of free text before the table (set aside by the DuckDB path)"
    if d.tail:
        return "a truncated gzip file (its cut record is set aside by the DuckDB path)"
    if d.long:
        return "lines too long for the reader (set aside by the DuckDB path)"
    if len(d.dialect.delim) != 1 or d.dialect.quote != QUOTE:
        return "a delimiter or quote the native reader does not parse"
    return ""


def engine_reader(executor: Any) -> NativeReader | None:
    """The native reader of an engine that reads files itself (Spark's ``map_files``)."""
    map_files = getattr(executor, "map_files", None)
    if map_files is None:
        return None

    def read(jobs: Sequence[NativeJob]) -> list[NativeOutcome]:
        got = dict(map_files([job.path for job in jobs], partial(_run_at, tuple(jobs))))
        return [got[k] for k in range(len(jobs)) if k in got]

    return read


def _run_at(jobs: tuple[NativeJob, ...], k: int, data: bytes) -> NativeOutcome:
    return run_job(jobs[k], data)


def read_local(jobs: Sequence[NativeJob]) -> list[NativeOutcome]:
    """Every job read in this process (the reference the Spark reader must equal; tests)."""
    return [run_job(job, Path(job.path).read_bytes()) for job in jobs]


# --- reading, on a worker -----------------------------------------------------------------------
def run_job(job: NativeJob, data: bytes) -> NativeOutcome:
    """Parse ``data`` (the file's bytes) and write the ingested table and its rejects."""
    out = Path(job.out) if job.out else None
    tmp = out.with_suffix(".native.tmp") if out else None
    try:
        accepted, rejected = _write(job, data, tmp)
    except Fallback as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        return NativeOutcome(job.index, fallback=str(exc))
    if out is not None and tmp is not None:
        tmp.replace(out)
    rej = Rejects.write(Path(job.rejects), rejected) if rejected else Rejects()
    return NativeOutcome(job.index, accepted, rej.count, "", str(rej.path or ""))


def decode(job: NativeJob, data: bytes) -> str:
    """The file's text as the DuckDB path's reader sees it; Fallback where it would differ."""
    if job.gzip:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise Fallback(f"the gzip file cannot be read whole ({exc})") from exc
    if b"\x00" in data:
        raise Fallback("a NUL byte in the text")
    if job.encoding == "utf-8":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Fallback("bytes that are not UTF-8 (the DuckDB path rejects them)") from exc
        text = text.removeprefix("\ufeff")  # DuckDB skips a byte-order mark
        cr = text.count("\r")
        if cr and not cr == text.count("\r\n") == text.count("\n"):
            raise Fallback("line breaks of more than one kind (the DuckDB path rewrites them)")
        return text
    if job.encoding == "latin-1":
        # As the DuckDB path's rewrite (prepare.py): Windows-1252, breaks outside quoted
        # values made LF.
        text = codecs.charmap_decode(data, "strict", _CP1252)[0].removeprefix("\ufeff")
        return _outside_quotes(text, QUOTE, False)[0]
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


def _write(job: NativeJob, data: bytes, out: Path | None) -> tuple[int, list[tuple[int, str, str]]]:
    """Parse and (when ``out``) write the table: (accepted, rejected records)."""
    text = decode(job, data)
    n = len(job.columns)
    table = _Table(job)
    writer: pq.ParquetWriter | None = None
    rejected: list[tuple[int, str, str]] = []
    accepted = rec = 0
    first = job.header
    try:
        for fields, body in records(job, text):
            if first:  # the header: not a record
                first = False
                continue
            rec += 1
            k = len(fields)
            if k == n:
                accepted += 1
                if out is not None:
                    table.add([f if f != "" else None for f in fields], rec)
                    if len(table.cols["src_row"]) >= BATCH_ROWS:
                        writer = _flush(table, writer, out)
            elif k == n + 1 and fields[-1] == "":
                raise Fallback(
                    "a record with one empty field more than the header's columns "
                    "(the DuckDB path's stray-field rules apply)"
                )
            else:
                rejected.append((rec, _reason(n, k), body))
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


# --- on the driver, after mapping ---------------------------------------------------------------
def read_natively(
    reader: NativeReader, todo: Sequence[tuple[int, Staged, Any]], out_dir: Path
) -> tuple[dict[int, Any], dict[int, str]]:
    """Read every table ``reader`` can: (Written of each table read, why each other was not).

    A table whose job falls back (a feature only the DuckDB path reproduces) is left for
    the DuckDB conversion; nothing it half-wrote is kept.
    """
    from privguard.internals.audit.ingest.write import Written

    jobs: list[NativeJob] = []
    why: dict[int, str] = {}
    for i, s, m in todo:
        job = native_job(i, s, m, out_dir)
        if isinstance(job, str):
            why[i] = job
        else:
            jobs.append(job)
    done: dict[int, Any] = {}
    by_index = {job.index: job for job in jobs}
    try:
        outcomes = reader(jobs) if jobs else []
    except EngineError as exc:  # the engine failed, not a file: DuckDB converts them all
        log.warning("the native read failed; every table is converted by DuckDB: %s", exc)
        outcomes = [NativeOutcome(j.index, fallback=f"the native read failed: {exc}") for j in jobs]
    for o in outcomes:
        job = by_index.pop(o.index)
        if o.fallback:
            why[o.index] = o.fallback
            continue
        rejects = Rejects(Path(o.rejects), o.rejected) if o.rejected else Rejects()
        output = f"{out_dir.name}/{o.index}.parquet" if job.out else ""
        done[o.index] = Written(o.accepted, rejects, output=output)
    for index in by_index:  # a job the reader did not answer (Spark skipped its file)
        why[index] = "the native reader did not read this file"
    for i, s, _ in todo:
        if i in done:
            for path in s.files:  # the line scan kept for the DuckDB writer
                path.unlink(missing_ok=True)
        elif s.format in ("csv", "tsv"):
            log.info("%s: converted by DuckDB, not read natively: %s", s.file, why[i])
    log.info("ingest: %d of %d tables read natively", len(done), len(todo))
    return done, why

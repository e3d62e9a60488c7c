"""The driver's side of native reads (see :mod:`.native`): which tables, and what came back.

Delimited text is staged and mapped as on DuckDB (from its head and its line scan), then
written by the engine's workers. JSON lines are scanned by the workers before mapping (their
columns are every key of the file), so DuckDB never reads them, then written by them too.
Every table the native reader does not take, or gives back, is converted by DuckDB, with
the reason logged and kept for the report.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from privguard.errors import EngineError
from privguard.internals.audit.ingest.discover import SourceFile, stem
from privguard.internals.audit.ingest.native import (
    CONVERTED,
    NATIVE,
    QUOTE,
    NativeJob,
    NativeOutcome,
    NativeReader,
    run_job,
)
from privguard.internals.audit.ingest.readers import Staged, unique_names
from privguard.internals.audit.ingest.readers.delimited.dialect import _HEAD, _open, detect_encoding
from privguard.internals.audit.ingest.readers.rejects import Rejects

log = logging.getLogger(__name__)

# A file is read whole by one task, held about four times over (bytes, text, lines, rows):
# larger files stay with DuckDB, so that two workers fit beside the JVM on a laptop.
MAX_FILE = 256 << 20


@dataclass(frozen=True)
class ScannedJson:
    """A JSON-lines table the workers scanned: what they need to write it, or DuckDB to stage it."""

    src: SourceFile
    encoding: str
    keys: tuple[str, ...]
    scratch: Path  # ingest's scratch folder and the DuckDB path's scan name, should DuckDB
    scan: str  # have to stage the file after all


# --- JSON lines, before mapping -------------------------------------------------------------------
def stage_json(
    reader: NativeReader, files: Sequence[SourceFile], scratch: Path
) -> tuple[dict[int, Staged], dict[int, str]]:
    """Scan every JSON-lines file natively: ({file's position: its Staged} for each one
    scanned, {position: why not} for the others, which DuckDB stages as before)."""
    jobs: list[NativeJob] = []
    encoding_of: dict[int, str] = {}
    not_scanned: dict[int, str] = {}
    for k, src in enumerate(files):
        if src.format != "jsonl":
            continue
        with _open(src.path, src.gzip) as fh:
            head = fh.read(_HEAD)
        encoding = detect_encoding(src.path, src.gzip, head)
        why = _unreadable(src.path) or (
            "" if encoding in ("utf-8", "latin-1") else f"{encoding} text"
        )
        if why:
            not_scanned[k] = why
            continue
        encoding_of[k] = encoding
        jobs.append(
            NativeJob(k, str(src.path), src.gzip, encoding, "", "", False, (), None, None,
                      None, src.name, stem(src.name), "", "jsonl", "",
                      str((scratch / f"s{k:05d}.native-rejects.parquet").resolve()),
                      kind="jsonl-scan")
        )  # fmt: skip
    out: dict[int, Staged] = {}
    for o in _read(reader, jobs):
        src = files[o.index]
        if o.fallback or o.scan is None:
            not_scanned[o.index] = o.fallback or "the native reader did not read this file"
            continue
        rejects = Rejects(Path(o.rejects), o.rejected) if o.rejected else Rejects()
        keys = tuple(o.scan.keys)
        staged = Staged(
            src.name, stem(src.name), "jsonl", src.sha256, unique_names(list(keys)), None,
            o.accepted, rejects, True, sample=[tuple(r) for r in o.scan.sample],
            native=ScannedJson(src, encoding_of[o.index], keys, scratch, f"s{o.index:05d}"),
        )  # fmt: skip
        out[o.index] = staged
    for k in set(encoding_of) - set(out) - set(not_scanned):  # Spark skipped its file
        not_scanned[k] = "the native reader did not read this file"
    for k, why in sorted(not_scanned.items()):
        log.info("%s: staged by DuckDB, not scanned natively: %s", files[k].name, why)
    return out, not_scanned


def _read(reader: NativeReader, jobs: list[NativeJob]) -> list[NativeOutcome]:
    """The reader's outcomes; when the engine itself fails, every job falls back."""
    try:
        return reader(jobs) if jobs else []
    except EngineError as exc:  # the engine failed, not a file: DuckDB converts them all
        log.warning("the native read failed; DuckDB converts these tables: %s", exc)
        return [NativeOutcome(j.index, fallback=f"the native read failed: {exc}") for j in jobs]


def _unreadable(path: Path) -> str:
    """Why Spark's file reader cannot be given this file, if it cannot."""
    if path.name.startswith(("_", ".")) or any(ch in str(path) for ch in "*?[]{}\\"):
        # Spark skips such names (its own markers) or reads them as a glob pattern.
        return "its name is one Spark's file reader skips or expands (_x, .x, *?[]{})"
    if path.stat().st_size > MAX_FILE:
        return f"larger than {MAX_FILE >> 20:,} MB, the most one worker reads whole"
    return ""


# --- every table, after mapping -----------------------------------------------------------------
def native_job(i: int, s: Staged, mapping: Any, out_dir: Path) -> NativeJob | str:
    """The job reading table ``i`` natively, or why it is converted by DuckDB."""
    written = mapping is not None and bool(s.sample) and not mapping.skip
    plan: dict[str, Any] = {
        "index": i,
        "columns": tuple(s.columns),
        "mapping": dict(mapping.fields) if written else None,
        "tz_hint": mapping.tz_hint if written else None,
        "duration_unit": mapping.duration_unit if written else None,
        "file": s.file,
        "table": s.table,
        "sha256": s.sha256,
        "fmt": s.format,
        # Absolute: the workers may run in another folder.
        "out": str((out_dir / f"{i}.parquet").resolve()) if written else "",
    }
    if isinstance(s.native, ScannedJson):
        n = s.native
        rejects = str((n.scratch / f"{n.scan}.native-rejects-w.parquet").resolve())
        return NativeJob(path=str(n.src.path), gzip=n.src.gzip, encoding=n.encoding, delim="",
                         escape="", header=False, rejects=rejects, kind="jsonl", keys=n.keys,
                         **plan)  # fmt: skip
    if isinstance(s.native, str):  # JSON lines the native reader could not scan
        return s.native
    d = s.deferred
    if s.format not in ("csv", "tsv") or d is None or d.unescape is not None or d.bad:
        return f"{s.format}: no native reader for this format yet; converted by DuckDB"
    why = d.origin_why or _why_not(d)
    if why or d.origin is None:
        return why or "the file was rewritten before DuckDB could read it"
    path, compressed, encoding = d.origin
    why = _unreadable(Path(path))
    if why:
        return why
    return NativeJob(
        path=str(path),
        gzip=compressed,
        encoding=encoding,
        delim=d.dialect.delim,
        escape=d.dialect.escape,
        header=d.dialect.header,
        rejects=str(d.rejects.with_suffix(".native.parquet").resolve()),
        **plan,
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
    for o in _read(reader, jobs):
        job = by_index.pop(o.index)
        if o.fallback:
            why[o.index] = o.fallback
            continue
        rejects = Rejects(Path(o.rejects), o.rejected) if o.rejected else Rejects()
        output = f"{out_dir.name}/{o.index}.parquet" if job.out else ""
        done[o.index] = Written(o.accepted, rejects, tuple(o.warnings), output)
    for index in by_index:  # a job the reader did not answer (Spark skipped its file)
        why[index] = "the native reader did not read this file"
    for i, s, _ in todo:
        if i in done:
            for path in s.files:  # the line scan kept for the DuckDB writer
                path.unlink(missing_ok=True)
        elif s.format in ("csv", "tsv", "jsonl"):
            log.info("%s: converted by DuckDB, not read natively: %s", s.file, why[i])
    log.info("ingest: %d of %d tables read natively", len(done), len(todo))
    return done, why


def mark_readers(entries: list[dict[str, Any]], done: Any, why: dict[int, str]) -> None:
    """Say in each report entry which way its table was read, and why not natively."""
    for i, entry in enumerate(entries):
        entry["reader"] = NATIVE if i in done else CONVERTED
        if i in why:
            entry["reader_note"] = why[i]

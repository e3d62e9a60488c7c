"""Ingest's reading half: every file probed, mapped from its head, then staged whole.

:func:`probe_all` reads each file's head and decides every table's mapping before any full
parse (a table that cannot be mapped stops the run here); :func:`stage_all` then stages
every file on the workers (its tables, their first rows, its warnings, or why it cannot be
read). Writing the mapped tables and the report is :mod:`.api`'s.
"""

from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from privguard.errors import EngineError, InputError
from privguard.internals.audit.engines import Executor
from privguard.internals.audit.ingest import sql
from privguard.internals.audit.ingest.decide import Decisions, map_all, mapping_error, unmappable
from privguard.internals.audit.ingest.discover import SourceFile
from privguard.internals.audit.ingest.native import NativeReader
from privguard.internals.audit.ingest.native_driver import stage_json
from privguard.internals.audit.ingest.parallel import Workers
from privguard.internals.audit.ingest.readers import Staged
from privguard.internals.audit.ingest.readers.delimited import read_csv_file
from privguard.internals.audit.ingest.readers.jsonl import read_json_array, read_jsonl
from privguard.internals.audit.ingest.readers.parquet import read_parquet
from privguard.internals.audit.ingest.readers.probe import probe
from privguard.internals.audit.ingest.readers.sqlite import read_sqlite
from privguard.internals.audit.ingest.readers.sqltables import read_sql_dump
from privguard.internals.audit.ingest.readers.xlsx import read_xlsx
from privguard.internals.audit.ingest.report import skipped_entry
from privguard.internals.audit.ingest.settings import Settings
from privguard.internals.common.custody import sha256_file
from privguard.internals.common.progress import Progress

log = logging.getLogger(__name__)

SAMPLE_ROWS = 200  # first rows of a staged table, for mapping and the report
STAGED_BY_PROBE = ("csv", "tsv", "xlsx")  # formats whose probe is their one full read


def _stage(
    ex: Executor, src: SourceFile, scratch: Path, scan: str
) -> tuple[list[Staged], list[str]]:
    """One file read in full by its format's reader: its tables, and notes for the report."""
    if src.format in ("csv", "tsv"):
        return [read_csv_file(ex, src, scratch, scan)], []
    if src.format == "jsonl":
        return [read_jsonl(ex, src, scratch, scan)], []
    if src.format == "json":
        return [read_json_array(ex, src, scratch, scan)], []
    if src.format == "parquet":
        return [read_parquet(ex, src, scratch, scan)], []
    if src.format == "xlsx":
        return read_xlsx(src, scratch, scan), []
    if src.format == "sqlite":
        return read_sqlite(src, scratch, scan), []
    return read_sql_dump(ex, src, scratch, scan)


def _sample(ex: Executor, s: Staged) -> list[tuple[Any, ...]]:
    if s.staging is None:
        return []
    return ex.fetchall(sql.sample(s.staging, len(s.columns), SAMPLE_ROWS))


def probe_all(
    workers: Workers, dump: Path, files: list[SourceFile], scratch: Path, settings: Settings
) -> tuple[list[list[Staged]], Decisions]:
    """Map every table from the head of its file; raise MappingError before any full parse.

    Delimited text is staged for good by its probe (its head, and the one line scan that
    the writer reuses), and so is a workbook (its reader loads each sheet whole anyway, so a
    probe of its head would parse it twice): these are returned per file, with every mapping
    decision made.
    """
    probes = scratch / "probe"
    probes.mkdir(parents=True, exist_ok=True)

    def look(wex: Executor, job: tuple[int, SourceFile]) -> list[Staged]:
        k, src = job
        if src.format in STAGED_BY_PROBE:
            return probe(wex, src, scratch, f"s{k:05d}")  # its scan names and rejects for good
        return probe(wex, src, probes, f"p{k:05d}")

    # A probe reads a file's head (10-400 ms whatever its size), except delimited text, whose
    # lines it scans in full: that is taken largest first.
    heads, _ = workers.spread(list(enumerate(files)), lambda job: _probe_cost(job[1]), look)
    probed: list[Staged] = [s for tables in heads for s in tables]
    maps, decided = map_all(probed, settings, {})
    shutil.rmtree(probes, ignore_errors=True)
    bad = unmappable(probed, maps)
    if bad:
        raise mapping_error(dump, bad)
    staged = [
        h if src.format in STAGED_BY_PROBE else [] for src, h in zip(files, heads, strict=True)
    ]
    return staged, decided


def _probe_cost(src: SourceFile) -> int:
    return src.size if src.format in ("csv", "tsv") else 0


def stage_all(
    workers: Workers,
    files: list[SourceFile],
    heads: list[list[Staged]],
    scratch: Path,
    progress: Progress,
    native: NativeReader | None = None,
) -> tuple[list[Staged], list[int], list[dict[str, str]], list[dict[str, Any]]]:
    """Stage every file: its tables, the worker holding each, warnings and unreadable files.

    JSON lines a ``native`` reader scanned are not read by DuckDB (native_driver.py)."""
    scanned, not_scanned = stage_json(native, files, scratch) if native else ({}, {})
    heads = [[scanned[k]] if k in scanned else h for k, h in enumerate(heads)]
    progress.start("reading tables", total=sum(f.size for f in files))
    results, owners = workers.spread(
        list(enumerate(files)),
        lambda job: job[1].size,
        lambda wex, job: _stage_file(
            wex, job[1], heads[job[0]], scratch, f"s{job[0]:05d}", progress
        ),
    )
    progress.finish("reading tables")
    staged: list[Staged] = []
    owner: list[int] = []
    warnings: list[dict[str, str]] = []
    unreadable: list[dict[str, Any]] = []
    for j, (src, k, (tables, notes, failure)) in enumerate(
        zip(files, owners, results, strict=True)
    ):
        if j in not_scanned:  # why DuckDB staged it, for the report
            tables = [replace(s, native=not_scanned[j]) for s in tables]
        staged += tables
        owner += [k] * len(tables)
        warnings += [{"file": src.name, "warning": w} for w in notes]
        if failure is not None:
            # The file's name in the dump, not where it was read from (a scratch copy).
            failure = failure.replace(str(src.path), src.name)
            unreadable.append(skipped_entry(src.name, failure, src.size))
    return staged, owner, warnings, unreadable


def _stage_file(
    ex: Executor,
    src: SourceFile,
    probed: list[Staged] | None,
    scratch: Path,
    scan: str,
    progress: Progress,
) -> tuple[list[Staged], list[str], str | None]:
    """Stage one file (a probe that staged it for good is reused) and sample its tables.

    A damaged file gives a reason instead of tables.
    """
    digest: list[str] = []
    hasher = None
    if src.hash_path is not None:
        # hashlib releases the GIL: the file is hashed while the engine parses it.
        path = src.hash_path
        hasher = threading.Thread(target=lambda: digest.append(sha256_file(path)))
        hasher.start()
    try:
        tables, notes = (probed, []) if probed else _stage(ex, src, scratch, scan)
        # Delimited text brings its first rows; a table with none is counted by the writer.
        tables = [
            s
            if s.deferred is not None or s.native is not None
            else replace(s, sample=_sample(ex, s))
            for s in tables
        ]
    except (InputError, EngineError) as exc:
        # A damaged file (truncated gzip, broken workbook) is listed, never dropped silently.
        log.warning("%s: %s", src.name, exc.message)
        # The fix goes with the reason: it is all the person sees of this error.
        return [], [], f"cannot be read: {exc.message}" + (f". Fix: {exc.fix}" if exc.fix else "")
    finally:
        if hasher is not None:
            hasher.join()
            src.sha256 = digest[0] if digest else ""
        progress.advance("reading tables", src.size)
    return [replace(s, sha256=src.sha256) for s in tables], notes, None

"""``ingest``: any dump folder -> canonical call rows with provenance, rejects and reconciliation."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from privguard.errors import InputError
from privguard.internals.audit.engines import Executor, connect
from privguard.internals.audit.ingest.decide import map_all, mapping_error, unmappable
from privguard.internals.audit.ingest.discover import discover
from privguard.internals.audit.ingest.explain import describe
from privguard.internals.audit.ingest.limits import Limits
from privguard.internals.audit.ingest.mapping import Mapping
from privguard.internals.audit.ingest.native import NativeReader
from privguard.internals.audit.ingest.native_driver import mark_readers, read_natively
from privguard.internals.audit.ingest.parallel import Workers
from privguard.internals.audit.ingest.readers import Staged
from privguard.internals.audit.ingest.report import (
    IngestResult,
    dump_size,
    skipped_entry,
    table_entry,
    totals,
    write_rejects_csv,
    write_report,
)
from privguard.internals.audit.ingest.settings import Settings, load
from privguard.internals.audit.ingest.staging import probe_all, stage_all
from privguard.internals.audit.ingest.write import Written, write_table
from privguard.internals.common.progress import NullProgress, Progress

log = logging.getLogger(__name__)

WORKERS = 2  # engine connections reading and writing tables side by side (two cores)


def ingest(
    dump: Path,
    work: Path,
    *,
    mapping: Settings | None = None,
    mapping_file: Path | None = None,
    executor: Executor | None = None,
    progress: Progress | None = None,
    limits: Limits | None = None,
    native: NativeReader | None = None,
) -> IngestResult:
    """Read every table under ``dump`` into ``work``, mapped onto the canonical call schema.

    Finds every table recursively (inside zip and gz archives too): CSV/TSV, JSON lines, JSON
    arrays of objects,
    Parquet, XLSX (every sheet), SQLite (every table), MySQL/MariaDB and PostgreSQL dumps
    (parsed, never executed). Writes ``work/ingested/<table_id>.parquet`` (canonical VARCHAR
    fields, ``tz_hint``/``duration_unit`` hints, unmapped columns as ``extras`` JSON, and
    provenance ``src_file``, ``src_table``, ``src_row``, ``src_sha256``), ``work/rejects.csv``
    (every unreadable record with its raw text) and ``work/ingest_report.json`` (per table
    ``rows_read = rows_accepted + rows_rejected``).

    ``mapping`` holds ``[[mapping]]`` entries from a case file; ``mapping_file`` is a TOML
    file of the same entries, validated up front, whose entries take precedence.
    ``executor`` writes ``rejects.csv``; its options (memory limit, temp directory) configure
    the two worker connections that read and write the tables in parallel. ``progress``
    receives ``reading tables`` (bytes) and ``writing tables`` (tables). ``limits`` (the
    ``[ingest]`` section: :class:`~.limits.Limits`) bounds what archives may extract.
    ``native`` (the Spark engine's reader, :mod:`.native`) reads the delimited tables it
    can itself, numbered as here; the rest are converted as usual, and each table's
    ``reader`` in the report says which way it went (and why not natively). Files that hold no
    readable table (damaged archives, workbooks, databases, other file types) are listed in
    ``IngestResult.skipped_files`` and the report, never dropped silently.

    Raises :class:`~privguard.errors.InputError` when the dump folder does not exist,
    :class:`~privguard.errors.SettingsError` for an invalid mapping file, and
    :class:`~privguard.errors.MappingError` listing every table whose columns cannot be
    mapped, with the mapping-file lines that would fix each, and an ``InputError`` for an
    archive past a limit (size, ratio, nesting) or a symbolic link that leads out of ``dump``.

    Example::

        result = ingest(Path("leak/dump"), Path("out/work"))
        print(result.totals["rows_read"], result.totals["rows_rejected"])
    """
    settings = mapping if mapping is not None else Settings()
    if mapping_file is not None:
        settings = Settings(load(mapping_file).rules + settings.rules)
    dump, work = Path(dump), Path(work)
    if not dump.exists():
        raise InputError(
            "the dump folder does not exist",
            where=str(dump),
            fix="give the folder that holds the leaked or produced tables",
        )
    progress = progress or NullProgress()
    scratch, out_dir = work / "tmp" / "ingest", work / "ingested"
    for folder in (scratch, out_dir):
        shutil.rmtree(folder, ignore_errors=True)
        try:
            folder.mkdir(parents=True)
        except OSError as exc:
            raise InputError(
                f"the work folder cannot be made: {exc.strerror or exc}",
                where=str(folder),
                fix="give an output folder you may write, whose parents are folders",
            ) from exc
    ex = executor
    if ex is None:
        ex = connect()
    try:
        return _run(
            ex, dump, work, scratch, out_dir, settings, progress, limits or Limits(), native
        )
    finally:
        if executor is None:
            ex.close()
        shutil.rmtree(scratch, ignore_errors=True)


def _describe(entry: dict[str, Any], s: Staged, m: Mapping) -> None:
    """Fill a table's report entry with its mapping."""
    entry["mapping"] = m.named(s.columns)
    entry["how"] = m.how
    entry.update(describe(s.columns, s.sample, m))
    entry["hints"] = {"tz_hint": m.tz_hint, "duration_unit": m.duration_unit}
    used = {j for idx in m.fields.values() for j in idx}
    entry["unmapped"] = [c for j, c in enumerate(s.columns) if j not in used]
    if m.skip:
        entry["status"] = "skipped"
    elif not s.sample and not m.ok:
        entry["status"] = "empty"


def _write_all(
    workers: Workers,
    todo: list[tuple[int, Staged, Mapping | None]],
    owner: list[int],
    out_dir: Path,
    progress: Progress,
) -> list[Written]:
    """Write every table on the worker that staged it (a table without a mapping is counted)."""
    progress.start("writing tables", total=len(todo))

    def write(wex: Executor, job: tuple[int, Staged, Mapping | None]) -> Written:
        out = write_table(wex, job, out_dir)
        progress.advance("writing tables")
        return out

    # A table staged as a temporary table (JSON) is written where it lives; the rest (text
    # parsed as it is written, Parquet files) by whichever worker is free, largest first.
    free = [None if not s.drop else k for (_, s, _), k in zip(todo, owner, strict=True)]
    outputs = workers.pinned(todo, free, write, size=lambda job: _write_cost(job[1]))
    progress.finish("writing tables")
    return outputs


def _write_cost(s: Staged) -> int:
    """About how much writing a table costs, in bytes of delimited text."""
    if s.deferred is not None:
        try:
            return s.deferred.path.stat().st_size
        except OSError:
            return 0
    return s.accepted * 100  # a staged record: about a line of text


def _entry(i: int, s: Staged, m: Mapping, w: Written) -> dict[str, Any]:
    """A table's report entry, from what staging, mapping and writing found."""
    entry = table_entry(i, s)
    _describe(entry, s, m)
    # Delimited text is counted as it is written: the counts are final only now.
    entry.update(rows_read=w.rows_read, rows_accepted=w.accepted, rows_rejected=w.rejects.count)
    entry["warnings"] = [*s.warnings, *w.warnings]  # writing may add some (stray fields)
    if w.failure:
        entry["status"] = "unread"  # listed with the unread files, with its reason
    if entry["status"] == "ingested" and w.accepted == 0:
        entry["status"] = "empty"  # no readable record (its rejects are in rejects.csv)
    if w.output:
        entry["output"] = w.output
    return entry


def _run(
    ex: Executor,
    dump: Path,
    work: Path,
    scratch: Path,
    out_dir: Path,
    settings: Settings,
    progress: Progress,
    limits: Limits,
    native: NativeReader | None = None,
) -> IngestResult:
    """discover -> probe -> stage -> map -> write -> report entries."""
    try:
        files, skipped, found_notes = discover(dump, scratch / "extract", limits)
    except RecursionError as exc:
        # The [ingest] depth limit refuses deep nesting first; this is the last net.
        raise InputError(
            "archives are nested too deeply to open (an archive inside an archive, "
            "hundreds of times)",
            where=str(dump),
            fix="unpack the outer archives by hand and give privguard the inner files",
        ) from exc
    skipped_files = [
        skipped_entry(s.name, s.reason, dump_size(dump, s.name), (dump,)) for s in skipped
    ]
    warnings = [{"file": name, "warning": w} for name, w in found_notes]
    workers = Workers(ex.options, scratch, WORKERS)
    try:
        heads, decided = probe_all(workers, dump, files, scratch, settings)
        staged, owner, notes, unreadable = stage_all(
            workers, files, heads, scratch, progress, native
        )
        warnings += notes
        skipped_files += unreadable
        maps, _ = map_all(staged, settings, decided)
        bad = unmappable(staged, maps)
        if bad:
            raise mapping_error(dump, bad)
        # Skipped tables and tables without a record are counted, not written.
        todo = [
            (i, s, m if s.sample and not m.skip else None)
            for i, (s, m) in enumerate(zip(staged, maps, strict=True))
        ]
        done, not_native = read_natively(native, todo, out_dir) if native else ({}, {})
        rest = [k for k in range(len(todo)) if k not in done]
        converted = _write_all(
            workers, [todo[k] for k in rest], [owner[k] for k in rest], out_dir, progress
        )
        by_table = dict(zip(rest, converted, strict=True)) | done
        outputs = [by_table[k] for k in range(len(todo))]
    finally:
        workers.close()
    entries = [
        _entry(i, s, m, w) for i, (s, m, w) in enumerate(zip(staged, maps, outputs, strict=True))
    ]
    if native is not None:
        mark_readers(entries, done, not_native)
    sizes = {f.name: f.size for f in files}
    for s, w in zip(staged, outputs, strict=True):
        if w.failure:
            why = f"table {s.table!r} cannot be read: {w.failure}"
            skipped_files.append(skipped_entry(s.file, why, sizes.get(s.file), (dump, scratch)))
    rejects = [
        (s, w.rejects.path)
        for s, w in zip(staged, outputs, strict=True)
        if w.rejects.path is not None
    ]
    write_rejects_csv(ex, rejects, work / "rejects.csv")
    result = IngestResult(
        str(dump),
        work,
        entries,
        totals(entries, len(files), skipped_files),
        skipped_files,
        warnings,
    )
    write_report(result)
    log.info("ingest: %s", result.totals)
    return result

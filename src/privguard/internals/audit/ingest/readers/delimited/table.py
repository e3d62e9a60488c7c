"""A CSV/TSV file as a staged table (any delimiter, utf-8 / utf-8-BOM / utf-16 / latin-1),
parsed by DuckDB ``read_csv``.

DuckDB parses every record strictly and stores the malformed ones as rejects with their
line number and raw text. A file is parsed in full only once, when its ingested table is
written (:func:`defer_delimited`, :func:`finish_delimited`); record indexes come from the
position of accepted rows and the line numbers (or byte positions) of rejected ones (blank
lines, which DuckDB numbers but which are not records, are discounted).
"""

from __future__ import annotations

import csv
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from privguard.errors import EngineError, InputError
from privguard.internals.audit.engines.base import Executor
from privguard.internals.audit.ingest import sql
from privguard.internals.audit.ingest.discover import SourceFile, gunzip, stem
from privguard.internals.audit.ingest.readers import Deferred, Staged, unique_names
from privguard.internals.audit.ingest.readers.delimited.checks import (
    Lines,
    lines_before,
    one_line_records,
    scan_text,
)
from privguard.internals.audit.ingest.readers.delimited.dialect import (
    _HEAD,
    _decode,
    _open,
    detect_encoding,
    looks_like_header,
    notes_before_table,
    sniff,
)
from privguard.internals.audit.ingest.readers.delimited.placing import quoted_blanks_before
from privguard.internals.audit.ingest.readers.delimited.prepare import drop_lines, rewrite
from privguard.internals.audit.ingest.readers.rejects import Rejects

log = logging.getLogger(__name__)


def defer_delimited(ex: Executor, d: Deferred) -> tuple[str, list[tuple[Any, ...]]]:
    """The staged rows of a delimited file (parsed when written) and its first rows.

    The final write stores the malformed records (``<scan>_w``) as it goes; see
    :func:`finish_delimited`. The sample is parsed in the same strict mode.
    """
    staged = sql.staged_rows(
        sql.read_csv(d.path, d.n_columns, d.dialect, f"{d.scan}_w"), d.n_columns, d.unescape
    )
    peek = sql.staged_rows(
        sql.read_csv(d.path, d.n_columns, d.dialect, f"{d.scan}_s"), d.n_columns, d.unescape
    )
    sample = ex.fetchall(sql.sample(peek, d.n_columns, 200))
    for stmt in sql.drop_rejects(f"{d.scan}_s"):
        ex.execute(stmt)
    return staged, sample


READ_BUFFER: int | None = None  # None: DuckDB's own; tests move the boundaries
RETRY_BUFFER = 8 << 20


def reread(d: Deferred) -> Deferred:
    """The same file read again with other buffer boundaries and its own reject tables.

    For when the parse that stores rejects disagrees with a plain count: DuckDB 2.0 can drop
    the end of a file after a rejected record across a read-buffer boundary.
    """
    return replace(d, dialect=replace(d.dialect, buffer_size=RETRY_BUFFER), scan=f"{d.scan}r")


def count_delimited(ex: Executor, d: Deferred, lines: Lines | None = None) -> tuple[int, Rejects]:
    """Count a delimited file's records without writing it: (accepted, rejects)."""
    counted = sql.count_records(d.path, d.n_columns, d.dialect, f"{d.scan}_w")
    accepted = int(ex.fetchall(counted)[0][0])
    return accepted, finish_delimited(ex, d, accepted, lines)


def finish_delimited(
    ex: Executor, d: Deferred, accepted: int, lines: Lines | None = None
) -> Rejects:
    """Collect the rejected records the last parse stored.

    ``lines`` is what the line scan found (where the breaks are, whether every record is
    one line); without it (compressed text, no scan) the file is read to know.
    """
    scan = f"{d.scan}_w"
    rej = _once(ex.fetchall(sql.csv_rejects(scan)))
    for stmt in sql.drop_rejects(scan):
        ex.execute(stmt)
    out = Rejects()
    if rej:
        positions = [int(r[1] or 0) for r in rej]
        # DuckDB's raw line may start with the line break before it: not part of the record.
        raws = ["" if r[3] is None else str(r[3]).lstrip("\r\n") for r in rej]
        one_line = one_line_records(d) if lines is None else lines.one_line_records
        if one_line:
            # DuckDB's line numbers drift past the pieces it reads in parallel (86 of 208 in
            # one synth file), its byte positions do not: count the lines up to them.
            if lines is None:
                blanks, breaks = lines_before(d.path, d.dialect.gzip, d.dialect.encoding, positions)
            else:
                blanks, breaks = lines.before(positions)
            numbers = np.asarray(breaks, dtype=np.int64) + 1
        else:
            # Records may span lines: DuckDB's line counts each once, and the blank lines
            # before it are counted outside quoted values only (see placing.py).
            numbers = np.asarray([r[0] for r in rej], dtype=np.int64)
            blanks = quoted_blanks_before(
                d.path,
                d.dialect.gzip,
                d.dialect.encoding,
                (d.dialect.delim, d.dialect.quote, d.dialect.escape),
                [
                    (p, "" if r[3] is None else str(r[3]))
                    for p, r in zip(positions, rej, strict=True)
                ],
                d.rejects.with_suffix(".placing.txt"),
                None if lines is None else lines.blank_ends,
            )
        recs = numbers - (1 if d.dialect.header else 0) - np.asarray(blanks, dtype=np.int64)
        recs, d.approximate = _in_order(recs, accepted + len(rej))
        rows = [(int(n), str(r[2]), raw) for n, r, raw in zip(recs, rej, raws, strict=True)]
        out = Rejects.write(d.rejects, rows)
    out = out.after_bad(d.bad, d.rejects.with_suffix(".bad.parquet"))
    if d.long:
        # Lines too long for the reader, taken out before it parsed (long_lines.py).
        why = "record too long for the reader (its raw text ends with its size)"
        out = out.after_bad(d.long, d.rejects.with_suffix(".long.parquet"), why)
    if d.notes:
        # Free text before the table (the scratch copy parsed starts after it): records
        # 1..n, set aside, and every parsed record after them.
        notes = [(0, note) for note in d.notes]
        out = out.after_bad(notes, d.rejects.with_suffix(".notes.parquet"), NOTE)
    if d.tail:
        # The record a truncated gzip file cut off: after every other record.
        cut = (accepted + out.count + 1, "cut off by the end of a truncated gzip file", d.tail)
        out = out.plus([cut], d.rejects.with_suffix(".cut.parquet"))
    return out


NOTE = "a line of free text before the table (a title or a note), not a record of it"


APPROXIMATE = (
    "its quoting is broken, and the engine placed some rejected records inconsistently: "
    "their row numbers (and the rows' after them) may be off by a few; every record is "
    "still counted once"
)


def _in_order(recs: np.ndarray, total: int) -> tuple[np.ndarray, bool]:
    """Rejected records' indexes made strictly increasing within 1..total; whether any moved.

    DuckDB numbers the rejects of broken quoting inconsistently (an unterminated quote
    that swallows lines): two records could take one index, or one past the table's end.
    They keep their order and take the nearest free index; the table says so.
    """
    m = len(recs)
    fixed = np.asarray(recs, dtype=np.int64).copy()
    for j in range(m):
        low = fixed[j - 1] + 1 if j else 1
        fixed[j] = max(fixed[j], low)
    for j in range(m - 1, -1, -1):
        high = fixed[j + 1] - 1 if j < m - 1 else total
        fixed[j] = min(fixed[j], high)
    return fixed, bool((fixed != recs).any())


def _once(rej: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """DuckDB's rejects (line, pos, reason, raw), each record once.

    A record with two faults (too many columns, then an unterminated quote) was listed
    twice under two line numbers, at one byte position and with one raw text: it counted
    as two records, and every later line number was one too high.
    """
    out: list[tuple[Any, ...]] = []
    twice = 0
    for line, pos, reason, raw in rej:
        if out and (pos, raw) == (out[-1][1], out[-1][3]):
            twice += 1
            continue
        out.append((line - twice, pos, reason, raw))
    return out


def read_delimited(
    ex: Executor,
    path: Path,
    n_columns: int,
    dialect: sql.CsvDialect,
    rejects: Path,
    scan: str,
) -> tuple[int, Rejects, str]:
    """Count one delimited file now: (accepted, rejects, staged rows)."""
    d = Deferred(path, n_columns, dialect, scan, rejects)
    accepted, rej = count_delimited(ex, d)
    return (
        accepted,
        rej,
        sql.staged_rows(sql.read_csv(path, n_columns, dialect, f"{scan}_again"), n_columns),
    )


def read_csv_file(ex: Executor, src: SourceFile, scratch: Path, scan: str) -> Staged:
    """Stage one CSV/TSV file (one table named after the file stem)."""
    try:
        return _read_csv_file(ex, src, scratch, scan)
    except EngineError as exc:
        if _BROKEN_BREAKS in exc.message:
            return _read_broken_breaks(ex, src, scratch, scan)
        if not src.gzip:
            raise
    except (OSError, EOFError):
        if not src.gzip:
            raise
    # A truncated or damaged gzip file: read what it holds, the cut record is rejected.
    plain = scratch / f"{scan}.gunzip.csv"
    gunzip(src.path, plain)
    fragment = _cut_last_line(plain)
    staged = _read_csv_file(ex, replace(src, path=plain, gzip=False), scratch, scan)
    staged.warnings.append("the gzip file is truncated or damaged; read as far as it goes")
    if staged.deferred is not None:
        staged.deferred.tail = fragment
    return staged


def _read_broken_breaks(ex: Executor, src: SourceFile, scratch: Path, scan: str) -> Staged:
    """A file whose line breaks DuckDB refused: rewritten with one kind of break between
    records; if DuckDB still refuses (a quote inside an unquoted value fooled the rewrite
    about what is quoted), with every break made LF, and said."""
    try:
        return _read_csv_file(ex, src, scratch, f"{scan}q", breaks="between")
    except EngineError as exc:
        if _BROKEN_BREAKS not in exc.message:
            raise
    return _read_csv_file(ex, src, scratch, f"{scan}b", breaks="every")


def _cut_last_line(path: Path) -> str:
    """Remove and return an unterminated last line (the part of a record a cut left)."""
    with open(path, "rb+") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - (1 << 20)))
        tail = fh.read()
        if not tail or tail.endswith(b"\n"):
            return ""
        keep = size - len(tail) + tail.rfind(b"\n") + 1
        fh.seek(keep)
        fragment = fh.read()
        fh.truncate(keep)
    return fragment.decode("utf-8", "replace")


_BROKEN_BREAKS = "state machine reached an invalid state"
# Plain UTF-8 text is checked for breaks of several kinds before DuckDB reads it (by the one
# line scan, :func:`.checks.scan_text`, made here and kept for the writer): DuckDB may read
# a CRLF among LF lines without a word and number the lines after it wrong, or refuse the
# file only when the whole table is written. Whatever it still refuses is rewritten then
# (_read_broken_breaks). Tests turn the check off (the writer then scans the file itself).
CHECK_BREAKS = True


def _plain_text(
    src: SourceFile, scratch: Path, scan: str, breaks: str = ""
) -> tuple[SourceFile, str, bytes, list[str]]:
    """``src`` as DuckDB can read it: (file, encoding, head, warnings).

    Text DuckDB cannot read as it is (Windows-1252 or latin-1, UTF-16, breaks of more than
    one kind) is rewritten once to a UTF-8 scratch copy (see :mod:`.prepare`). ``breaks``:
    "between" (breaks between records made LF) or "every" (inside quoted values too).
    """
    with _open(src.path, src.gzip) as fh:
        head = fh.read(_HEAD)
    encoding = detect_encoding(src.path, src.gzip, head)
    if not breaks and encoding == "utf-8" and b"\r" in head and b"\n" not in head:
        # Bare CR (old Mac exports): DuckDB reads it, but the line scan that places rejected
        # records counts LF only, so every reject would be put on the first line.
        breaks = "between"
    mixed = bool(breaks)
    every_break = breaks == "every"
    if encoding == "utf-8" and not mixed:
        return src, encoding, head, []
    dest = scratch / f"{scan}.utf8.csv"
    dest.parent.mkdir(parents=True, exist_ok=True)
    quote = "" if every_break else '"'
    c1, changed = rewrite(src.path, src.gzip, encoding, dest, breaks=True, quote=quote)
    with open(dest, "rb") as fh:
        head = fh.read(_HEAD)
    warnings = (
        ["line breaks of more than one kind (CRLF, LF, CR): read as one"]
        if mixed and changed
        else []
    )
    if every_break:
        warnings.append("its quoting is broken: breaks inside quoted values were made LF too")
    if encoding != "utf-8":
        shown = "windows-1252" if c1 else encoding.removesuffix("-le").removesuffix("-be")
        warnings.append(f"read as {shown}")
    return replace(src, path=dest, gzip=False), "utf-8", head, warnings


def _read_csv_file(
    ex: Executor, src: SourceFile, scratch: Path, scan: str, breaks: str = ""
) -> Staged:
    original = src
    src, encoding, head, warnings = _plain_text(src, scratch, scan, breaks)
    head_encoding = encoding if src is original else _detected(original)
    text = _decode(head, encoding)
    try:
        delim, escape, rows = sniff(text, "\t" if src.format == "tsv" else ",")
    except csv.Error as exc:  # e.g. one value over the csv module's 131,072 characters
        raise InputError(
            f"it cannot be read as a table ({exc}, in its first lines)",
            where=src.name,
            fix=f"if it is not a table of calls (a document, a log), move it out of the dump "
            f"folder; if it is, export it again as CSV or TSV in place of {Path(src.name).name}",
        ) from None
    fmt = "tsv" if delim == "\t" else "csv"
    table = stem(src.name)
    if not rows:
        return Staged(src.name, table, fmt, src.sha256, [], None, 0, warnings=["empty file"])
    lines = None
    if CHECK_BREAKS and src is original and not src.gzip and encoding == "utf-8":
        # The one scan of the file's bytes: its kinds of line break decide now whether it is
        # rewritten; its lines are kept for the writer (which then need not read it again).
        lines = scan_text(src.path, delim, sql.CsvDialect.quote, encoding)
        if lines.mixed_breaks and not breaks:
            return _read_csv_file(ex, original, scratch, scan, breaks="between")
    notes = notes_before_table(text, delim, rows)
    if notes:
        # Parsed from a copy without them; they are rejected as notes (records 1..n).
        dest = scratch / f"{scan}.table.csv"
        drop_lines(src.path, src.gzip, len(notes), dest)
        src = replace(src, path=dest, gzip=False)
        notes = [n for n in notes if n]
        rows = rows[len(notes) :]
        warnings.append(f"{len(notes)} line(s) of free text before the table set aside")
    header = looks_like_header(rows[0])
    names = unique_names(rows[0] if header else [f"column{i + 1}" for i in range(len(rows[0]))])
    dialect = sql.CsvDialect(
        delim=delim,
        escape=escape,
        header=header,
        encoding=encoding,
        gzip=src.gzip,
        buffer_size=READ_BUFFER,
    )
    d = Deferred(src.path, len(names), dialect, scan, scratch / f"{scan}.rejects.parquet")
    d.notes = notes
    d.origin, d.origin_why = _origin(original, src, breaks, head_encoding)
    kept: list[Path] = []
    if lines is not None and not notes:  # with notes, a copy without them is parsed
        d.lines, kept = _kept(lines, scratch, scan)
    staged, sample = defer_delimited(ex, d)
    return Staged(
        src.name,
        table,
        fmt,
        src.sha256,
        names,
        staged,
        0,
        warnings=warnings,
        sample=sample,
        deferred=d,
        files=kept,
    )


def _detected(src: SourceFile) -> str:
    """The encoding a rewritten file was read in (looked at again: a few chunks)."""
    with _open(src.path, src.gzip) as fh:
        head = fh.read(_HEAD)
    return detect_encoding(src.path, src.gzip, head)


def _origin(
    original: SourceFile, src: SourceFile, breaks: str, encoding: str
) -> tuple[tuple[Path, bool, str] | None, str]:
    """The bytes a native reader may parse for this file (see ingest/native.py), or why not."""
    if breaks or (src is not original and encoding == "utf-8"):
        return None, "its line breaks were rewritten before DuckDB could read it"
    if encoding not in ("utf-8", "latin-1"):
        return None, f"{encoding} text, rewritten before DuckDB could read it"
    return (original.path, original.gzip, encoding), ""


SPILL_LINES = 1 << 20  # a scan's line positions past this many wait on disk to be written


def _kept(lines: Lines, scratch: Path, scan: str) -> tuple[Lines, list[Path]]:
    """``lines`` as kept until its file is written: large position arrays are saved to
    scratch files and read back lazily, so that the scans of every staged file are not all
    held in memory at once. Returns the files to delete once it is written."""
    if len(lines.newlines) < SPILL_LINES:
        return lines, []
    paths = [scratch / f"{scan}.newlines.npy", scratch / f"{scan}.blanks.npy"]
    np.save(paths[0], lines.newlines)
    np.save(paths[1], lines.blank_ends)
    return replace(
        lines,
        newlines=np.load(paths[0], mmap_mode="r"),
        blank_ends=np.load(paths[1], mmap_mode="r"),
    ), paths

"""CSV/TSV (any delimiter, utf-8 / utf-8-BOM / utf-16 / latin-1), read by DuckDB ``read_csv``.

Python looks only at the first bytes (and a few spread-out chunks for the encoding) to
choose the dialect and read the header; DuckDB parses every record strictly and stores the
malformed ones as rejects with their line number and raw text. A file is parsed in full only
once, when its ingested table is written (:func:`defer_delimited`, :func:`finish_delimited`);
record indexes come from the position of accepted rows and the line numbers of rejected ones
(blank lines, which DuckDB numbers but which are not records, are discounted).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from privguard.errors import EngineError
from privguard.internals.audit.engines.base import Executor
from privguard.internals.audit.ingest import sql
from privguard.internals.audit.ingest.discover import SourceFile, gunzip, stem
from privguard.internals.audit.ingest.readers import Deferred, Staged, unique_names
from privguard.internals.audit.ingest.readers.rejects import Rejects
from privguard.internals.audit.ingest.readers.stray import Lines

log = logging.getLogger(__name__)

_HEAD = 256 * 1024
_DELIMS = (",", "\t", "|", ";")
_BLANK = re.compile(rb"\n(?=\r?\n)")


def _open(path: Path, compressed: bool) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def _utf8_votes(chunk: bytes, at_start: bool) -> tuple[int, int]:
    """(well-formed non-ASCII characters, malformed bytes) when decoding as UTF-8."""
    if not at_start:
        # Skip continuation bytes of a character cut by the chunk boundary.
        i = 0
        while i < min(4, len(chunk)) and (chunk[i] & 0xC0) == 0x80:
            i += 1
        chunk = chunk[i:]
    if chunk.isascii():
        return 0, 0
    text = codecs.getincrementaldecoder("utf-8")("replace").decode(chunk, final=False)
    bad = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    return non_ascii - bad, bad


def detect_encoding(path: Path, compressed: bool, head: bytes) -> str:
    """UTF-8, or latin-1 when bytes that are not UTF-8 outnumber well-formed UTF-8 characters.

    Looks at the head and 8 chunks spread through the file. A UTF-8 file with a few bad
    lines stays UTF-8: DuckDB rejects those lines, with their raw text, instead of the whole
    file being misread.
    """
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    good, bad = _utf8_votes(head, True)
    if not compressed:
        size = path.stat().st_size
        if size > 2 * _HEAD:
            with open(path, "rb") as fh:
                for k in range(1, 9):
                    fh.seek(size * k // 9)
                    g, b = _utf8_votes(fh.read(65536), False)
                    good, bad = good + g, bad + b
    return "latin-1" if bad > good else "utf-8"


def _decode(head: bytes, encoding: str) -> str:
    if encoding == "utf-16":
        return head.decode("utf-16", "replace")
    if encoding == "latin-1":
        return head.decode("latin-1")
    return codecs.getincrementaldecoder("utf-8-sig")("replace").decode(head, final=False)


def _complete_lines(text: str, limit: int = 200) -> str:
    lines = text.splitlines(keepends=True)
    if len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut by the head boundary
    return "".join(lines[:limit])


def sniff(text: str, fallback: str = ",") -> tuple[str, str, list[list[str]]]:
    """Choose delimiter and escape from the first lines; return them and the parsed rows."""
    text = _complete_lines(text)
    escape = "\\" if text.count('\\"') > text.count('""') else '"'
    best: tuple[tuple[int, int, float, int], str, list[list[str]]] | None = None
    for delim in _DELIMS:
        rows = [
            r
            for r in csv.reader(
                io.StringIO(text),
                delimiter=delim,
                quotechar='"',
                escapechar="\\" if escape == "\\" else None,
                doublequote=escape == '"',
            )
            if r
        ]
        counts = [len(r) for r in rows[:50]]
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        # The first row (header or data) must split like the rest: a comma inside names
        # ("ST. JOHN, JACOB") gives a steady 2 fields per row, but not in the header.
        score = (int(mode > 1), int(counts[0] == mode), counts.count(mode) / len(counts), mode)
        if best is None or score > best[0]:
            best = (score, delim, rows)
    if best is None:
        return fallback, escape, []
    return best[1], escape, best[2]


def looks_like_header(row: list[str]) -> bool:
    """A first row with any letter in it is a header; all-numeric first rows are data."""
    return any(ch.isalpha() for cell in row for ch in cell)


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
    cols = ", ".join(sql.staged_name(i) for i in range(d.n_columns))
    sample = ex.fetchall(f"SELECT {cols} FROM {peek} LIMIT 200")
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
    rej = ex.fetchall(sql.csv_rejects(scan))
    for stmt in sql.drop_rejects(scan):
        ex.execute(stmt)
    out = Rejects()
    if rej:
        positions = [int(r[1] or 0) for r in rej]
        if lines is None:
            blanks, breaks = _lines_before(d.path, d.dialect.gzip, d.dialect.encoding, positions)
            one_line = _one_line_records(d)
        else:
            blanks, breaks = lines.before(positions)
            one_line = lines.one_line_records
        if one_line:
            # DuckDB's line numbers drift past the pieces it reads in parallel (86 of 208 in
            # one synth file), its byte positions do not: count the lines up to them.
            numbers = np.asarray(breaks, dtype=np.int64) + 1
        else:
            numbers = np.asarray([r[0] for r in rej], dtype=np.int64)
        recs = numbers - (1 if d.dialect.header else 0) - np.asarray(blanks, dtype=np.int64)
        # DuckDB's raw line may start with the line break before it: not part of the record.
        raws = ["" if r[3] is None else str(r[3]).lstrip("\r\n") for r in rej]
        rows = [(int(n), str(r[2]), raw) for n, r, raw in zip(recs, rej, raws, strict=True)]
        out = Rejects.write(d.rejects, rows)
    out = out.after_bad(d.bad, d.rejects.with_suffix(".bad.parquet"))
    if d.tail:
        # The record a truncated gzip file cut off: after every other record.
        cut = (accepted + out.count + 1, "cut off by the end of a truncated gzip file", d.tail)
        out = out.plus([cut], d.rejects.with_suffix(".cut.parquet"))
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


def _one_line_records(d: Deferred) -> bool:
    """Whether rejects can be placed by byte position: no quote character anywhere, so every
    record is one line (UTF-8 or latin-1 without a byte-order mark, which DuckDB skips).

    For compressed text only: the line scan (``stray.scan_lines``) finds it for plain files.
    """
    if d.dialect.encoding not in ("utf-8", "latin-1") or not d.dialect.quote:
        return False
    quote = d.dialect.quote.encode(d.dialect.encoding)
    with _open(d.path, d.dialect.gzip) as fh:
        chunk = fh.read(1 << 22)
        if chunk.startswith(codecs.BOM_UTF8):
            return False
        while chunk:
            if quote in chunk:
                return False
            chunk = fh.read(1 << 22)
    return True


def _utf8_chunks(path: Path, compressed: bool, encoding: str) -> Iterator[bytes]:
    """The file as DuckDB counts its bytes: re-encoded as UTF-8 when it is not."""
    decoder = None if encoding == "utf-8" else codecs.getincrementaldecoder(encoding)()
    with _open(path, compressed) as fh:
        while chunk := fh.read(1 << 22):
            out = chunk if decoder is None else decoder.decode(chunk).encode("utf-8")
            if out:  # a decoder may hold back a cut character
                yield out


def _lines_before(
    path: Path, compressed: bool, encoding: str, positions: list[int]
) -> tuple[list[int], list[int]]:
    """Blank lines, and line breaks, before each of DuckDB's byte positions.

    For compressed text only: the line scan finds them for plain files (``Lines.before``).

    DuckDB numbers blank lines but they are not records. Its positions count the bytes of
    the text re-encoded as UTF-8 (a latin-1 file's accents take two), so the file is too.
    """
    targets = sorted(set(positions))
    found: dict[int, tuple[int, int]] = {}
    seen = breaks = offset = ti = 0
    carry = b""

    def blanks(data: bytes) -> int:
        # Runs of blank lines overlap ("\n\n\n" is two), so count with a lookahead.
        return len(_BLANK.findall(data)) - len(_BLANK.findall(carry))

    chunks = _utf8_chunks(path, compressed, encoding)
    while ti < len(targets):
        chunk = next(chunks, b"")
        if not chunk:
            break
        data = carry + chunk
        while ti < len(targets) and targets[ti] <= offset + len(chunk):
            upto = targets[ti] - offset
            found[targets[ti]] = (
                seen + blanks(data[: len(carry) + upto]),
                breaks + chunk.count(b"\n", 0, max(upto, 0)),
            )
            ti += 1
        seen += blanks(data)
        breaks += chunk.count(b"\n")
        offset += len(chunk)
        carry = data[-2:]
    ends = [found.get(p, (seen, breaks)) for p in positions]
    return [e[0] for e in ends], [e[1] for e in ends]


def read_csv_file(ex: Executor, src: SourceFile, scratch: Path, scan: str) -> Staged:
    """Stage one CSV/TSV file (one table named after the file stem)."""
    try:
        return _read_csv_file(ex, src, scratch, scan)
    except (OSError, EOFError, EngineError):
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


def _read_csv_file(ex: Executor, src: SourceFile, scratch: Path, scan: str) -> Staged:
    with _open(src.path, src.gzip) as fh:
        head = fh.read(_HEAD)
    encoding = detect_encoding(src.path, src.gzip, head)
    text = _decode(head, encoding)
    delim, escape, rows = sniff(text, "\t" if src.format == "tsv" else ",")
    fmt = "tsv" if delim == "\t" else "csv"
    table = stem(src.name)
    if not rows:
        return Staged(src.name, table, fmt, src.sha256, [], None, 0, warnings=["empty file"])
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
    staged, sample = defer_delimited(ex, d)
    warnings = [] if encoding == "utf-8" else [f"read as {encoding}"]
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
    )

"""CSV/TSV (any delimiter, utf-8 / utf-8-BOM / utf-16 / latin-1), read by DuckDB ``read_csv``.

Python looks only at the first bytes (and a few spread-out chunks for the encoding) to
choose the dialect and read the header; DuckDB parses every record strictly and stores the
malformed ones as rejects with their line number and raw text.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import logging
import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from privguard.errors import EngineError
from privguard.internals.engines.base import Executor
from privguard.internals.ingest import sql
from privguard.internals.ingest.discover import SourceFile, gunzip, stem
from privguard.internals.ingest.readers import Staged, append_rejects, unique_names, write_rejects

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
    best: tuple[tuple[int, float, int], str, list[list[str]]] | None = None
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
        score = (int(mode > 1), counts.count(mode) / len(counts), mode)
        if best is None or score > best[0]:
            best = (score, delim, rows)
    if best is None:
        return fallback, escape, []
    return best[1], escape, best[2]


def looks_like_header(row: list[str]) -> bool:
    """A first row with any letter in it is a header; all-numeric first rows are data."""
    return any(ch.isalpha() for cell in row for ch in cell)


def read_delimited(
    ex: Executor,
    path: Path,
    n_columns: int,
    dialect: sql.CsvDialect,
    rejects: Path,
    scan: str,
    unescape: str | None = None,
) -> tuple[int, int, Path | None, str]:
    """Scan one delimited file for malformed records (stored with their line numbers).

    Returns (accepted, rejected, rejects file or None, staged rows): the staged rows are a
    table expression that parses the file again when the ingested table is written, in one
    streaming pass, rather than a copy kept in between.
    """
    counted = sql.read_csv(path, n_columns, dialect, scan)
    # Every column is referenced: DuckDB checks the encoding only of the columns it reads.
    touch = ", ".join(f"count({sql.staged_name(i)})" for i in range(n_columns))
    accepted = ex.fetchall(f"SELECT count(*), {touch} FROM {counted}")[0][0]
    # The second parse stores its rejects too (and drops them): DuckDB skips malformed records
    # exactly alike only in the same mode.
    again = sql.read_csv(path, n_columns, dialect, f"{scan}_again")
    staged = sql.staged_rows(again, n_columns, unescape)
    rej = ex.fetchall(sql.csv_rejects(scan))
    for stmt in sql.drop_rejects(scan):
        ex.execute(stmt)
    if not rej:
        return int(accepted), 0, None, staged
    lines = np.asarray([r[0] for r in rej], dtype=np.int64)
    blanks = _blank_lines_before(path, dialect.gzip, [int(r[1] or 0) for r in rej])
    recs = lines - (1 if dialect.header else 0) - np.asarray(blanks, dtype=np.int64)
    out = write_rejects(
        rejects,
        [int(r) for r in recs],
        [str(r[2]) for r in rej],
        ["" if r[3] is None else str(r[3]) for r in rej],
    )
    return int(accepted), len(rej), out, staged


def _blank_lines_before(path: Path, compressed: bool, positions: list[int]) -> list[int]:
    """Blank lines before each byte position: DuckDB numbers them but they are not records."""
    targets = sorted(set(positions))
    found: dict[int, int] = {}
    seen = offset = ti = 0
    carry = b""

    def blanks(data: bytes) -> int:
        # Runs of blank lines overlap ("\n\n\n" is two), so count with a lookahead.
        return len(_BLANK.findall(data)) - len(_BLANK.findall(carry))

    with _open(path, compressed) as fh:
        while ti < len(targets):
            chunk = fh.read(1 << 22)
            if not chunk:
                break
            data = carry + chunk
            while ti < len(targets) and targets[ti] <= offset + len(chunk):
                found[targets[ti]] = seen + blanks(data[: len(carry) + targets[ti] - offset])
                ti += 1
            seen += blanks(data)
            offset += len(chunk)
            carry = data[-2:]
    return [found.get(p, seen) for p in positions]


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
    if fragment:
        # The record cut off by the damage is rejected, never read as if it were whole.
        extra = (staged.rows_read + 1, "cut off by the end of a truncated gzip file", fragment)
        staged.rejects = append_rejects(
            staged.rejects, [extra], scratch / f"{scan}.rejects_cut.parquet"
        )
        staged.rejected += 1
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
        delim=delim, escape=escape, header=header, encoding=encoding, gzip=src.gzip
    )
    accepted, rejected, rej, staged = read_delimited(
        ex, src.path, len(names), dialect, scratch / f"{scan}.rejects.parquet", scan
    )
    warnings = [] if encoding == "utf-8" else [f"read as {encoding}"]
    log.debug("%s: %d accepted, %d rejected", src.name, accepted, rejected)
    staged_table = Staged(
        src.name,
        table,
        fmt,
        src.sha256,
        names,
        staged,
        accepted,
        rej,
        rejected,
        False,
        warnings,
    )
    staged_table.drop = sql.drop_rejects(f"{scan}_again")
    return staged_table

"""Lines too long for DuckDB's reader: taken out before it parses, and rejected here.

DuckDB rejects a line longer than its ``max_line_size`` (2 MiB) with its raw text, but a line
longer than its read buffer (32 MB by default, 8 MiB on a re-read) vanishes without a trace:
11 records gave "read 10, accepted 10, rejected 0" and the next record took the lost one's
row number. When the line scan finds such a line, the file is copied without it and the
line becomes a rejected record at its own index, whatever DuckDB would have done.
"""

from __future__ import annotations

from dataclasses import replace
from typing import BinaryIO

import numpy as np

from privguard.internals.audit.ingest.readers import Deferred
from privguard.internals.audit.ingest.readers.delimited.checks import Lines
from privguard.internals.audit.ingest.readers.delimited.placing import quoted_breaks

MAX_LINE = 2 << 20  # DuckDB's own max_line_size: shorter lines it parses or rejects itself
RAW_KEPT = 10_000  # characters of a long line kept as its raw text (DuckDB keeps as many)
_COPY = 8 << 20


def reason(size: int) -> str:
    """Why a long line was rejected."""
    return f"record too long for the reader: {size:,} bytes (the limit is {MAX_LINE:,})"


def _copy(src: BinaryIO, out: BinaryIO, start: int, end: int) -> None:
    src.seek(start)
    while start < end:
        data = src.read(min(_COPY, end - start))
        if not data:
            return
        out.write(data)
        start += len(data)


def _breaks_around(lines: Lines, line: int) -> list[int]:
    """The break before line ``line`` and its own (where there are)."""
    out = [int(lines.newlines[line - 1])] if line else []
    return out + ([int(lines.newlines[line])] if line < len(lines.newlines) else [])


def without_long_lines(d: Deferred, lines: Lines, limit: int = MAX_LINE) -> Deferred | None:
    """``d`` as a copy without its lines longer than ``limit``, which it carries as rejects.

    None when there are none, or for text that is not plain UTF-8 (compressed text is
    decompressed by ``discover`` first). With quotes, only a long line that is a whole
    record (no break around it inside a quoted value) is taken out.
    """
    if d.dialect.gzip or d.dialect.encoding != "utf-8":
        return None
    long = lines.longer_than(limit)
    header = 1 if d.dialect.header else 0
    long = long[long >= header]
    if not len(long):
        return None
    inside = np.zeros(0, np.int64)  # breaks inside quoted values: they end no record
    if not lines.one_line_records:
        # Quotes: a long line is taken out only when it is a whole record (neither break
        # around it is inside a quoted value); one that is part of a longer record stays.
        last = lines.span(int(long[-1]))[1]
        dialect = (d.dialect.delim, d.dialect.quote, d.dialect.escape)
        inside = np.asarray(quoted_breaks(d.path, dialect, last), dtype=np.int64)
        whole = [
            line
            for line in (int(i) for i in long)
            if not np.isin(_breaks_around(lines, line), inside).any()
        ]
        long = np.asarray(whole, dtype=np.int64)
        if not len(long):
            return None
    dest = d.rejects.with_suffix(".short.csv")
    found: list[tuple[int, str]] = []
    with open(d.path, "rb") as src, open(dest, "wb") as out:
        pos = 0
        for k, line in enumerate(int(i) for i in long):
            start, end = lines.span(line)
            _copy(src, out, pos, start)
            src.seek(start)
            raw = src.read(min(RAW_KEPT, end - start)).decode("utf-8", "replace").rstrip("\r\n")
            ends = lines.blank_ends[: int(np.searchsorted(lines.blank_ends, start, side="left"))]
            blanks = len(ends) - int(np.isin(ends, inside).sum())  # outside quotes only
            joined = int(np.searchsorted(inside, start, side="left"))  # lines that end no record
            # Records before it in the copy: lines before it, less the header, the blank
            # lines, the breaks inside quoted values and the long lines already taken out.
            length = end - start - (1 if line < len(lines.newlines) else 0)  # its break not
            rec = line - header - blanks - joined - k
            found.append((rec, f"{raw} ... [{reason(length)}]"))
            pos = end
        _copy(src, out, pos, lines.size)
    return replace(d, path=dest, long=found, scan=f"{d.scan}l", lines=None)

"""Records with one stray empty field, which DuckDB's ``read_csv`` accepts shifted by a column.

DuckDB tolerates one trailing empty field beyond the declared columns (for exports whose
every line ends in a delimiter), and no option refuses it. So in a three-column file the
record ``ERR,5551230002,2013-01-02 11:00:00,`` is accepted with every value one column off.
A second look finds them: the file is parsed again with one more column, short records
padded and empty fields read as ``''`` rather than NULL, so such a record is the only kind
whose extra column holds an empty string. When every record has it, it is the file's own
habit and the records stand (with a warning); otherwise they are rejected.

The second parse runs only for files in which some line ends in the delimiter (gzip and
UTF-16 files are not scanned, so always checked).
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, replace

import numpy as np

from privguard.errors import EngineError
from privguard.internals.engines.base import Executor
from privguard.internals.ingest import sql
from privguard.internals.ingest.readers import Deferred

log = logging.getLogger(__name__)

_NEVER = "\x01"  # a null string no field holds: empty fields read as '', padding as NULL
_CHUNK = 8 << 20
_BATCH_ROWS = 1 << 17


@dataclass(frozen=True)
class Stray:
    """Accepted records that carried one stray empty field."""

    positions: list[int]  # 0-based, among the accepted records
    raws: list[str]
    reason: str


def _ends_in_delimiter(d: Deferred) -> bool:
    """Whether any line of the file (or the file itself) ends in the delimiter."""
    if d.dialect.gzip or d.dialect.encoding not in ("utf-8", "latin-1"):
        return True
    delim = d.dialect.delim.encode(d.dialect.encoding)
    marks = (delim + b"\n", delim + b"\r\n")
    tail = b""
    with open(d.path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            data = tail + chunk
            if any(m in data for m in marks):
                return True
            tail = data[-2:]
    return tail.endswith(delim)


def _check_reader(d: Deferred, parallel: bool = True) -> str:
    dialect = replace(
        d.dialect, nullstr=_NEVER, allow_quoted_nulls=False, null_padding=True, parallel=parallel
    )
    return sql.read_csv(d.path, d.n_columns + 1, dialect, None)


def _columns(n: int) -> tuple[str, str]:
    return sql.staged_name(n - 1), sql.staged_name(n)


def count_sql(d: Deferred, parallel: bool = True) -> str:
    """Records with the stray field, and records without (which DuckDB also accepts)."""
    last, extra = _columns(d.n_columns)
    # Every column is referenced: DuckDB checks the encoding only of the columns it reads.
    touch = ", ".join(f"count({sql.staged_name(i)})" for i in range(d.n_columns - 1))
    return (
        f"SELECT count(*) FILTER (WHERE {extra} = ''), "
        f"count(*) FILTER (WHERE {extra} IS NULL AND {last} IS NOT NULL){', ' if touch else ''}"
        f"{touch} FROM {_check_reader(d, parallel)}"
    )


def rows_sql(d: Deferred, parallel: bool = True) -> str:
    """In record order: whether the record has the stray field, and its fields when it has."""
    last, extra = _columns(d.n_columns)
    fields = ", ".join(sql.staged_name(i) for i in range(d.n_columns + 1))
    stray = f"coalesce({extra} = '', false)"
    return (
        f"SELECT {stray} AS stray, ({extra} IS NULL AND {last} IS NOT NULL) OR {stray} AS kept, "
        f"CASE WHEN {stray} THEN [{fields}] END AS fields FROM {_check_reader(d, parallel)}"
    )


def find_stray(ex: Executor, d: Deferred, accepted: int) -> tuple[Stray | None, str | None]:
    """The accepted records of ``d`` with a stray empty field, and a warning for the table."""
    if accepted == 0 or not _ends_in_delimiter(d):
        return None, None
    parallel = True
    try:
        counts = ex.fetchall(count_sql(d))
    except EngineError as exc:
        if "parallel" not in str(exc):
            raise
        parallel = False
        counts = ex.fetchall(count_sql(d, parallel=False))
    stray, plain = int(counts[0][0]), int(counts[0][1])
    if stray == 0:
        return None, None
    if stray + plain != accepted:
        # The two parses disagree on which records are whole: leave the records as read.
        log.warning("%s: stray-field check skipped (%d + %d != %d)", d.path, stray, plain, accepted)
        return None, "could not check for records with a stray empty field"
    n = d.n_columns
    if plain == 0:
        return None, (
            f"every record ends in one empty field more than the {n} columns of the header; "
            "that field was dropped"
        )
    positions: list[int] = []
    raws: list[str] = []
    seen = 0
    for batch in ex.stream_arrow(rows_sql(d, parallel), _BATCH_ROWS):
        kept = batch.column("kept").to_numpy(zero_copy_only=False)
        marked = batch.column("stray").to_numpy(zero_copy_only=False)
        before = seen + np.cumsum(kept) - 1
        positions += [int(p) for p in before[marked]]
        raws += [_raw(f, d.dialect.delim) for f in batch.column("fields").to_pylist() if f]
        seen += int(kept.sum())
    reason = (
        f"TOO MANY COLUMNS: Expected Number of Columns: {n} Found: {n + 1} "
        "(the last one empty; its values would be shifted by one column)"
    )
    return Stray(positions, raws, reason), None


def _raw(fields: list[str | None], delim: str) -> str:
    """The record as text again (quoted where needed), for rejects.csv."""
    out = io.StringIO()
    csv.writer(out, delimiter=delim, lineterminator="").writerow(
        ["" if f is None else f for f in fields]
    )
    return out.getvalue()

"""Readers: each turns one source table into staged rows plus its rejected records.

Staged rows are a SQL table expression giving the source columns as VARCHAR named ``c0, c1,
...`` in record order: a streaming re-parse of delimited text (CSV/TSV, SQL dump tables,
:class:`Deferred`), a temporary table of the reading connection (JSON lines), the source
Parquet file itself, or a scratch Parquet file (XLSX, SQLite). Either they carry a ``__rec``
column (the 1-based record index, when the reader knows it), or record indexes follow from
the row position (``file_row_number``) and the rejected records' indexes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from privguard.internals.audit.ingest.readers.rejects import Rejects
from privguard.internals.audit.ingest.sql import CsvDialect

if TYPE_CHECKING:
    from privguard.internals.audit.ingest.readers.delimited.checks import Lines


@dataclass
class Deferred:
    """A delimited table whose records are counted while its ingested table is written."""

    path: Path
    n_columns: int
    dialect: CsvDialect
    scan: str  # names of the engine's reject tables
    rejects: Path  # where its rejected records go
    unescape: str | None = None
    # Unparseable INSERT statements of a dump: (records written before it, raw text).
    bad: list[tuple[int, str]] = field(default_factory=list)
    tail: str = ""  # a record cut off by a truncated gzip file (rejected after the rest)
    # Lines too long for the reader, taken out before it parsed: (records before, raw text).
    long: list[tuple[int, str]] = field(default_factory=list)
    # Lines of free text before the table (title, notes), taken out before it parsed.
    notes: list[str] = field(default_factory=list)
    approximate: bool = False  # rejected records' indexes were put in order (table.py)
    # The line scan of ``path`` made when it was staged (its breaks were checked then), so
    # that the writer does not read the file again; None: scanned when written.
    lines: Lines | None = None
    # The bytes a native reader (ingest/native.py) may parse instead: (path, gzip, encoding)
    # of the file before any rewrite but an encoding's; None (with why) when it may not.
    origin: tuple[Path, bool, str] | None = None
    origin_why: str = ""


@dataclass
class Staged:
    """One source table after reading, before mapping."""

    file: str
    table: str
    format: str
    sha256: str
    columns: list[str]  # source column names, in order
    staging: str | None  # SQL table expression; None when there are no columns
    accepted: int
    rejects: Rejects = Rejects()
    has_rec: bool = False
    warnings: list[str] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)  # SQL that frees the staged rows
    files: list[Path] = field(default_factory=list)  # scratch files the staged rows read
    deferred: Deferred | None = None  # counted when written (delimited text)
    sample: list[tuple[Any, ...]] = field(default_factory=list)  # first rows, for mapping
    # JSON lines scanned by a native reader (ingest/native_driver.py), not staged by DuckDB;
    # a text: why the native reader could not scan them.
    native: Any = None

    @property
    def rejected(self) -> int:
        return self.rejects.count

    @property
    def rows_read(self) -> int:
        return self.accepted + self.rejected


def unique_names(raw: list[str]) -> list[str]:
    """Column names made non-empty and unique, in order (``name``, ``name_2``, ...)."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for i, name in enumerate(raw):
        base = (name or "").strip().lstrip("\ufeff") or f"column{i + 1}"
        n = seen.get(base.lower(), 0) + 1
        seen[base.lower()] = n
        out.append(base if n == 1 else f"{base}_{n}")
    return out

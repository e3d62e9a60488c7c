"""The executor protocol every engine implements."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa


@dataclass(frozen=True)
class EngineOptions:
    """Resource limits for the engine; ``None`` leaves the engine's default."""

    memory_limit: str | None = None  # e.g. "4GB"
    threads: int | None = None
    temp_directory: Path | None = None


class Executor(Protocol):
    """Runs SQL built elsewhere. The only object that talks to an engine.

    Stages never ask which engine runs their SQL; what differs between engines and matters
    to a stage is a capability the executor declares here.
    """

    options: EngineOptions
    # A sorted result can be written as parts, each sorted alone, streamed in order into
    # one file with the very bytes of the one sort (normalize/ordered.py): the engine writes
    # a sorted COPY in row groups of a fixed row count, reads a UNION ALL of files in order,
    # and reads a Parquet file's schema (OPTIONAL or REQUIRED) with parquet_schema().
    sorted_parts: bool
    # A big ordered result can be written through Python (dedupe's calls.parquet by
    # dedupe/writer.py, whose bytes depend on the rows alone) without holding it in memory.
    streams_in_order: bool
    """``stream_arrow`` yields the result in its order as it is made, never holding it whole."""
    # Many files in one statement: dedupe's key buckets, report's per-recipient letter CSVs
    # (run with ``SET threads = 1``, read back with ``current_setting('threads')``).
    partitioned_copy: bool
    """``COPY (q) TO d (PARTITION_BY (c))`` writes ``d/c=v/`` files, each in order on one thread."""

    def execute(self, sql: str, params: list[Any] | None = None) -> None: ...

    def fetchall(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]: ...

    def fetch_arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Small results only (reports, distinct values): never a whole call table."""
        ...

    def stream_arrow(self, sql: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
        """Stream a result in its order; the caller must consume or close it before the next call."""
        ...

    def register_arrow(self, name: str, table: pa.Table) -> None: ...

    def copy_to_parquet(self, sql: str, path: Path) -> int:
        """Write the result of ``sql`` to one Parquet file, streaming, out of core; rows written."""
        ...

    def columns(self, sql: str) -> list[tuple[str, str]]:
        """(name, type) of the result of ``sql``; text columns are ``VARCHAR``."""
        ...

    def copy_to_csv(self, sql: str, path: Path) -> None:
        """Write the result of ``sql`` as CSV: header row, comma, minimal quoting, LF endings."""
        ...

    def close(self) -> None: ...

"""DuckDB, the embedded default engine."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from privguard.errors import EngineError
from privguard.internals.audit.engines.base import EngineOptions
from privguard.internals.audit.sql import (
    copy_csv_sql,
    copy_parquet_sql,
    describe_sql,
    quote_literal,
)

log = logging.getLogger(__name__)


class DuckDBExecutor:
    """Executes SQL on an embedded DuckDB connection, logging each statement's time."""

    # A sorted COPY writes row groups of exactly 122,880 rows (the last shorter), and a
    # row group's bytes depend only on its rows: parts concatenate to the one sort's bytes.
    sorted_parts = True
    # to_arrow_reader hands over batches while the query runs.
    streams_in_order = True
    # COPY's PARTITION_BY; on one thread a partition's chunks are written in the query's order.
    partitioned_copy = True

    def __init__(self, options: EngineOptions, database: str = ":memory:") -> None:
        self.options = options
        self.con = duckdb.connect(database)
        if options.memory_limit:
            self.con.execute(f"SET memory_limit = {quote_literal(options.memory_limit)}")
        if options.threads:
            self.con.execute(f"SET threads = {int(options.threads)}")
        if options.temp_directory:
            Path(options.temp_directory).mkdir(parents=True, exist_ok=True)
            self.con.execute(f"SET temp_directory = {quote_literal(str(options.temp_directory))}")
        # Outputs must be byte-identical across runs; ordered writes need this.
        self.con.execute("SET preserve_insertion_order = true")
        # The CLI draws its own progress bars; the engine's would garble them.
        self.con.execute("SET enable_progress_bar = false")

    @contextmanager
    def _timed(self, sql: str) -> Iterator[None]:
        """Log the statement's time; turn engine failures into :class:`EngineError`."""
        started = time.perf_counter()
        try:
            yield
        except duckdb.Error as exc:
            log.debug("failed SQL:\n%s", sql)
            raise _engine_error(exc, self.options) from exc
        log.debug("%.3fs %s", time.perf_counter() - started, " ".join(sql.split())[:200])

    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        with self._timed(sql):
            self.con.execute(sql, params or [])

    def fetchall(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        # The rows are produced while fetched: a parse error can surface here, not in
        # execute(), and must be translated like any other.
        with self._timed(sql):
            return self.con.execute(sql, params or []).fetchall()

    def fetch_arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        # A relation, not a DB-API cursor: the cursor path copies the rows once more.
        with self._timed(sql):
            return self.con.sql(sql, params=params or None).to_arrow_table()

    def stream_arrow(self, sql: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
        """Yield the result in order, batch by batch; the engine keeps working between batches."""
        with self._timed(sql):
            try:
                yield from self.con.sql(sql).to_arrow_reader(batch_rows)
            except (pa.ArrowException, OSError) as exc:
                # Failures while streaming arrive through Arrow; they are the engine's.
                raise duckdb.Error(str(exc)) from exc

    def register_arrow(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)

    def copy_to_parquet(self, sql: str, path: Path) -> int:
        path.parent.mkdir(parents=True, exist_ok=True)
        copy = copy_parquet_sql(sql, path)
        with self._timed(copy):
            row = self.con.execute(copy).fetchone()
        return int(row[0]) if row else 0

    def columns(self, sql: str) -> list[tuple[str, str]]:
        return [(str(n), str(t)) for n, t in self.fetchall(describe_sql(sql))]

    def copy_to_csv(self, sql: str, path: Path) -> None:
        self.execute(copy_csv_sql(sql, path))

    def close(self) -> None:
        self.con.close()


def _engine_error(exc: duckdb.Error, options: EngineOptions) -> EngineError:
    """The engine's failure, with a fix the user can apply when the machine is the cause."""
    text = str(exc)
    if "No space left on device" in text:
        return EngineError(
            f"the disk is full where the SQL engine spills data: {text}",
            where=str(options.temp_directory or "the engine's temporary folder"),
            fix="free disk space there (big dumps spill tens of GB), or set [engine] "
            "temp_directory in the case file to a folder on a bigger disk, then run again",
        )
    if "Out of Memory Error" in text:
        return EngineError(
            f"the SQL engine ran out of memory: {text}",
            where=f"memory_limit {options.memory_limit or 'default'}",
            fix="close other programs or raise [engine] memory_limit in the case file, "
            "then run again",
        )
    return EngineError(f"the SQL engine failed: {text}", fix="report this as a bug with the log")

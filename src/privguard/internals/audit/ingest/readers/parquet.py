"""Parquet files: every column cast to VARCHAR by DuckDB, row order kept."""

from __future__ import annotations

from pathlib import Path

from privguard.internals.audit.engines.base import Executor
from privguard.internals.audit.ingest import sql
from privguard.internals.audit.ingest.discover import SourceFile, stem
from privguard.internals.audit.ingest.readers import Staged, unique_names
from privguard.internals.audit.sql import count_sql, parquet_source


def read_parquet(ex: Executor, src: SourceFile, scratch: Path, scan: str) -> Staged:
    """Stage one Parquet file (one table named after the file stem)."""
    source = parquet_source(src.path)
    raw = [str(r[0]) for r in ex.fetchall(sql.column_names(source))]
    names = unique_names(raw)
    if not raw:
        return Staged(src.name, stem(src.name), "parquet", src.sha256, [], None, 0)
    staging = sql.parquet_staging(src.path, raw)
    accepted = ex.fetchall(count_sql(source))[0][0]
    return Staged(src.name, stem(src.name), "parquet", src.sha256, names, staging, int(accepted))

"""Parquet files: every column cast to VARCHAR by DuckDB, row order kept."""

from __future__ import annotations

from pathlib import Path

from privguard.internals.audit.engines.base import Executor
from privguard.internals.audit.ingest import sql
from privguard.internals.audit.ingest.discover import SourceFile, stem
from privguard.internals.audit.ingest.readers import Staged, unique_names
from privguard.internals.audit.sql import quote_ident, quote_literal


def read_parquet(ex: Executor, src: SourceFile, scratch: Path, scan: str) -> Staged:
    """Stage one Parquet file (one table named after the file stem)."""
    source = f"read_parquet({quote_literal(str(src.path))})"
    described = ex.fetchall(f"DESCRIBE SELECT * FROM {source}")
    raw = [str(r[0]) for r in described]
    names = unique_names(raw)
    cols = ", ".join(
        f"CAST({quote_ident(c)} AS VARCHAR) AS {quote_ident(sql.staged_name(i))}"
        for i, c in enumerate(raw)
    )
    if not cols:
        return Staged(src.name, stem(src.name), "parquet", src.sha256, [], None, 0)
    # No copy: the source file is read once, when the ingested table is written.
    staging = (
        f"(SELECT {cols}, file_row_number FROM "
        f"read_parquet({quote_literal(str(src.path))}, file_row_number=true))"
    )
    accepted = ex.fetchall(f"SELECT count(*) FROM {source}")[0][0]
    return Staged(src.name, stem(src.name), "parquet", src.sha256, names, staging, int(accepted))

"""The numbered Parquet writer: rows numbered in stream order, failures raised, never hung."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from privguard.errors import EngineError
from privguard.internals.audit.engines import Executor
from privguard.internals.audit.ingest import numbered, sql
from privguard.internals.audit.ingest.numbered import write_numbered


def test_rows_are_numbered_in_order_across_batches(
    engine: Executor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(numbered, "BATCH_ROWS", 1000)
    out = tmp_path / "t.parquet"
    select = (
        f"SELECT CAST(i AS VARCHAR) AS v, {sql.constant_text('calls.csv')} AS src_file, "
        "CAST(NULL AS BIGINT) AS src_row FROM range(25000) t(i)"
    )
    assert write_numbered(engine, select, "src_row", out) == 25000
    rows = duckdb.connect().execute(
        f"SELECT count(*), count(*) FILTER (WHERE src_row = CAST(v AS BIGINT) + 1), "
        f"min(src_file), max(src_file) FROM read_parquet('{out}')"
    )
    assert rows.fetchall() == [(25000, 25000, "calls.csv", "calls.csv")]
    assert pq.ParquetFile(out).num_row_groups > 1


def test_constants_read_back_as_plain_strings(engine: Executor, tmp_path: Path) -> None:
    out = tmp_path / "t.parquet"
    name = "it's"
    select = f"SELECT {sql.constant_text(name)} AS src_file, NULL::BIGINT AS src_row FROM range(3)"
    write_numbered(engine, select, "src_row", out)
    table = pq.read_table(out)
    assert table.schema.field("src_file").type == pa.string()
    assert table.column("src_file").to_pylist() == ["it's"] * 3
    assert table.column("src_row").to_pylist() == [1, 2, 3]


def test_an_empty_result_still_writes_the_columns(engine: Executor, tmp_path: Path) -> None:
    out = tmp_path / "t.parquet"
    select = "SELECT 'x' AS v, CAST(NULL AS BIGINT) AS src_row FROM range(0)"
    assert write_numbered(engine, select, "src_row", out) == 0
    assert pq.read_schema(out).names == ["v", "src_row"]
    assert pq.read_table(out).num_rows == 0


def test_an_engine_failure_mid_stream_is_raised(engine: Executor, tmp_path: Path) -> None:
    # The cast fails far into the stream, after batches were written.
    select = (
        "SELECT CAST(CASE WHEN i = 300000 THEN 'not a number' ELSE CAST(i AS VARCHAR) END "
        "AS INTEGER) AS v, CAST(NULL AS BIGINT) AS src_row FROM range(400000) t(i)"
    )
    with pytest.raises(EngineError, match="not a number"):
        write_numbered(engine, select, "src_row", tmp_path / "t.parquet")
    # The connection is usable afterwards.
    assert engine.fetchall("SELECT 42") == [(42,)]

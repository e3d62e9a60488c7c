"""Stages ask the executor what it can do, never which class it is.

Each case runs on in-memory DuckDB, either through an object that is not DuckDB's class but
declares a capability (a class check would deny it the path), or through DuckDB's own class
declaring the capability false (a class check would give it the path anyway). So these
tests fail if a stage goes back to ``isinstance(ex, DuckDBExecutor)`` or an engine's
declaration flips. The bucketed calls of dedupe are pinned in tests/test_dedupe_buckets.py.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from privguard.internals.audit.dedupe import api as dedupe_api
from privguard.internals.audit.dedupe import writer
from privguard.internals.audit.engines import EngineOptions, connect
from privguard.internals.audit.engines.duckdb import DuckDBExecutor
from privguard.internals.audit.paths import AuditPaths
from privguard.internals.audit.report import parallel
from privguard.internals.audit.report import sql as rsql
from privguard.internals.audit.sql import copy_csv_sql, copy_parquet_sql

CAPABILITIES = ("sorted_parts", "streams_in_order", "partitioned_copy")


class Declaring:
    """DuckDB behind an object that is not DuckDB's class, declaring what it is given."""

    def __init__(self, inner: Any, **declared: bool) -> None:
        self._inner = inner
        for name, value in declared.items():
            setattr(self, name, value)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def declaring(declared: dict[str, bool]) -> tuple[Any, Any]:
    """(executor, the DuckDB executor to close): a capability declared true is declared by
    a stranger class, one declared false by DuckDB's own class."""
    if all(declared.values()):
        inner = connect(EngineOptions(threads=2))
        return Declaring(inner, **declared), inner
    own = DuckDBExecutor(EngineOptions(threads=2))
    for name, value in declared.items():
        setattr(own, name, value)
    return own, own


def test_each_engine_declares_its_capabilities() -> None:
    from privguard.internals.audit.engines.spark import SparkExecutor

    assert {c: getattr(DuckDBExecutor, c) for c in CAPABILITIES} == dict.fromkeys(
        CAPABILITIES, True
    )
    # Spark: row groups by bytes; stream_arrow collects to the driver; no COPY statement.
    assert {c: getattr(SparkExecutor, c) for c in CAPABILITIES} == dict.fromkeys(
        CAPABILITIES, False
    )


@pytest.mark.parametrize("streams", [True, False])
def test_calls_stream_only_from_an_executor_that_streams(
    tmp_path: Path, streams: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[int] = []
    original = writer.write_ordered

    def write_ordered(*args: Any, **kwargs: Any) -> int:
        used.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(dedupe_api.writer, "write_ordered", write_ordered)
    ex, owner = declaring({"streams_in_order": streams})
    query = "SELECT i AS call_id, 'c' || i::VARCHAR AS s FROM range(5000) t(i) ORDER BY i DESC"
    try:
        rows = dedupe_api.write_calls(ex, query, tmp_path / "calls.parquet")
    finally:
        owner.close()
    assert bool(used) is streams  # else the engine's own COPY
    got = pq.read_table(tmp_path / "calls.parquet")
    assert rows == got.num_rows == 5000
    assert got["call_id"].to_pylist() == list(range(4999, -1, -1))


@pytest.mark.parametrize("partitioned", [True, False])
def test_letter_csvs_in_one_copy_only_on_an_executor_that_partitions(
    tmp_path: Path, partitioned: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    statements: list[str] = []

    def spy(query: str, path: Path, **kwargs: Any) -> str:
        text = copy_csv_sql(query, path, **kwargs)
        statements.append(text)
        return text

    monkeypatch.setattr(parallel, "copy_csv_sql", spy)
    ex, owner = declaring({"partitioned_copy": partitioned})
    calls = tmp_path / "calls.parquet"
    names = ["a", "b, c", "nobody"]
    try:
        ex.execute(
            copy_parquet_sql(
                "SELECT CASE WHEN i % 3 = 0 THEN 'a' ELSE 'b, c' END AS recipient, i AS call_id, "
                "'2014-01-01' AS start_local, 'UTC' AS local_zone, "
                "'2014-01-01 00:00:' || (i % 60)::VARCHAR AS start_utc, 'TX25' AS facility, "
                "'+12115550100' AS number, 'Roe' AS inmate_name, NULL AS inmate_account, "
                "i AS duration_s, 1 AS completed, NULL AS registered_then, "
                "NULL AS recording_ref, NULL AS recorded_from, 'f:t:' || i::VARCHAR AS sources "
                "FROM range(300) r(i) ORDER BY recipient, start_utc, call_id",
                calls,
            )
        )
        files = [(n, tmp_path / f"{i}.csv") for i, n in enumerate(names)]
        parallel.write_csvs(ex, calls, files, tmp_path / "scratch")
        for i, name in enumerate(names):
            ex.execute(copy_csv_sql(rsql.letter_csv_sql(calls, name), tmp_path / f"own{i}.csv"))
    finally:
        owner.close()
    in_one = sum("PARTITION_BY" in s for s in statements)
    assert in_one == (1 if partitioned else 0)
    # One COPY each without the capability; with it, only "nobody" (no rows) gets its own.
    assert len(statements) - in_one == (1 if partitioned else len(names))
    for i in range(len(names)):
        assert (tmp_path / f"{i}.csv").read_bytes() == (tmp_path / f"own{i}.csv").read_bytes()


@pytest.mark.parametrize(
    "declared",
    [
        {"partitioned_copy": True, "streams_in_order": True},
        {"partitioned_copy": False, "streams_in_order": True},
        {"partitioned_copy": True, "streams_in_order": False},
    ],
)
def test_bucketed_calls_only_on_an_executor_that_partitions_and_streams(
    normalized_work: Path,
    tmp_path: Path,
    declared: dict[str, bool],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    one = dedupe_api.dedupe(normalized_work, tmp_path / "one")  # one bucket, on DuckDB
    monkeypatch.setattr(dedupe_api, "BUCKET_ROWS", 1000)
    ex, owner = declaring(declared)
    try:
        with caplog.at_level(logging.INFO, logger=dedupe_api.__name__):
            many = dedupe_api.dedupe(normalized_work, tmp_path / "many", executor=ex)
    finally:
        owner.close()
    said = [r.getMessage() for r in caplog.records]
    assert sum("clustering bucket" in m for m in said) > 1  # on any executor
    assert any("calls of bucket" in m for m in said) is all(declared.values())
    assert many.calls_out == one.calls_out
    a, b = AuditPaths(tmp_path / "one").calls, AuditPaths(tmp_path / "many").calls
    if declared["streams_in_order"]:  # written by dedupe/writer.py: the same bytes
        assert a.read_bytes() == b.read_bytes()
    else:  # the engine's own COPY: the same rows
        assert pq.read_table(a).to_pylist() == pq.read_table(b).to_pylist()

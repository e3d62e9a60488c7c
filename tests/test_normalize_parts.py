"""normalized.parquet written in sorted parts: the very same bytes as the one sort (issue #20)."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import pytest

from privguard.internals.audit.engines import EngineOptions, connect
from privguard.internals.audit.normalize import ordered
from privguard.internals.audit.normalize.stage import kept_sql

G = ordered.ROW_GROUP_ROWS
COLUMNS = (
    "row_key, table_id, src_file, src_row, facility, inmate_account, dialed_number, "
    "number_key, start_utc, duration_s, recorded"
)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 300 k staged rows of 17 tables in shuffled order, 1 in 23 of them junk."""
    path = tmp_path_factory.mktemp("parts") / "stage.parquet"
    ex = connect()
    try:
        ex.execute(f"""COPY (
            SELECT (CAST(t AS BIGINT) << 40) + r AS row_key, CAST(t AS INTEGER) AS table_id,
                   'file_' || t AS src_file, CAST(r AS BIGINT) AS src_row,
                   'FAC' || (hash(r) % 7) AS facility, 'A' || (hash(r * 3) % 50000) AS inmate_account,
                   '+1555' || lpad(CAST(hash(r * 7) % 10000000 AS VARCHAR), 7, '0') AS dialed_number,
                   CASE WHEN r % 23 <> 0 THEN '+1555' || (hash(r * 7) % 10000000) END AS number_key,
                   CASE WHEN r % 23 <> 0 THEN TIMESTAMP '2020-01-01'
                        + to_seconds(CAST(hash(r * 11) % 100000000 AS BIGINT)) END AS local_ts,
                   CAST(NULL AS TIMESTAMP) AS utc_fixed,
                   TIMESTAMP '2020-01-01' + to_seconds(CAST(hash(r * 13) % 1000 AS BIGINT)) AS start_utc,
                   CAST(hash(r) % 3600 AS INTEGER) AS duration_s, r % 3 = 0 AS recorded
            FROM (SELECT i % 17 AS t, i AS r FROM range(300000) x(i)) ORDER BY hash(r)
        ) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 20000)""")
    finally:
        ex.close()
    return path


@pytest.mark.parametrize("groups", [1, 2])
def test_parts_write_the_same_bytes_as_one_sort(
    stage: Path, tmp_path: Path, groups: int, caplog: pytest.LogCaptureFixture
) -> None:
    # A small memory limit: the one sort spills, as at the leak's scale.
    ex = connect(EngineOptions(memory_limit="96MB", threads=2, temp_directory=tmp_path / "t"))
    try:
        ex.execute(f"CREATE VIEW _final AS SELECT * FROM read_parquet('{stage}')")
        one, many = tmp_path / "one.parquet", tmp_path / "many.parquet"
        ex.copy_to_parquet(kept_sql("_final", COLUMNS), one)
        scratch = tmp_path / "parts"
        with caplog.at_level(logging.INFO, logger=ordered.__name__):
            ordered.write_kept(
                ex, "_final", COLUMNS, many, scratch, rows_hint=300_000, part_rows=groups * G
            )
        kept = ex.fetchall(f"SELECT count(*) FROM read_parquet('{one}')")[0][0]
        groups_in = ex.fetchall(
            f"SELECT count(DISTINCT row_group_id) FROM parquet_metadata('{one}')"
        )[0][0]
    finally:
        ex.close()
    parts = -(-kept // (groups * G))
    # The parts path really ran (a cut inside a table, junk rows skipped), and left nothing.
    assert any(f"in {parts} sorted parts" in r.getMessage() for r in caplog.records)
    assert parts > 1 and groups_in > 2 and kept < 300_000
    assert not scratch.exists()
    assert _sha(many) == _sha(one)


def test_small_inputs_keep_the_one_sort(stage: Path, tmp_path: Path) -> None:
    ex = connect()
    try:
        ex.execute(f"CREATE VIEW _final AS SELECT * FROM read_parquet('{stage}')")
        out = tmp_path / "out.parquet"
        ordered.write_kept(ex, "_final", COLUMNS, out, tmp_path / "parts", rows_hint=G, part_rows=G)
        one = tmp_path / "one.parquet"
        ex.copy_to_parquet(kept_sql("_final", COLUMNS), one)
    finally:
        ex.close()
    assert not (tmp_path / "parts").exists()
    assert _sha(out) == _sha(one)


def test_part_rows_must_be_whole_row_groups(tmp_path: Path) -> None:
    ex = connect()
    try:
        with pytest.raises(ValueError, match="multiple of 122880"):
            ordered.write_kept(
                ex,
                "_final",
                COLUMNS,
                tmp_path / "o.parquet",
                tmp_path,
                rows_hint=1,
                part_rows=G + 1,
            )
    finally:
        ex.close()


class _Declaring:
    """An executor that runs DuckDB but is not DuckDB's class, declaring ``sorted_parts``."""

    def __init__(self, inner: Any, sorted_parts: bool) -> None:
        self._inner = inner
        self.sorted_parts = sorted_parts

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.mark.parametrize("declared", [True, False])
def test_the_executor_declares_whether_parts_are_written(
    stage: Path, tmp_path: Path, declared: bool, caplog: pytest.LogCaptureFixture
) -> None:
    # The stage asks the executor, never its class: an executor declaring the capability
    # gets the parts (the old isinstance check gave it the one sort), one without it the
    # one sort. Both give the one sort's bytes.
    inner = connect(EngineOptions(threads=2))
    ex = _Declaring(inner, declared)
    try:
        ex.execute(f"CREATE VIEW _final AS SELECT * FROM read_parquet('{stage}')")
        out, one = tmp_path / "out.parquet", tmp_path / "one.parquet"
        with caplog.at_level(logging.INFO, logger=ordered.__name__):
            ordered.write_kept(
                ex, "_final", COLUMNS, out, tmp_path / "p", rows_hint=300_000, part_rows=G
            )
        ex.copy_to_parquet(kept_sql("_final", COLUMNS), one)
    finally:
        inner.close()
    in_parts = any("sorted parts" in r.getMessage() for r in caplog.records)
    assert in_parts is declared
    assert _sha(out) == _sha(one)


def test_each_engine_declares_sorted_parts() -> None:
    from privguard.internals.audit.engines.duckdb import DuckDBExecutor
    from privguard.internals.audit.engines.spark import SparkExecutor

    assert DuckDBExecutor.sorted_parts is True
    assert SparkExecutor.sorted_parts is False  # row groups by bytes; no parquet_schema()

"""dedupe in hash buckets of the key: any bucket count writes the very same bytes as one."""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from privguard.internals.audit.dedupe import api, writer
from privguard.internals.audit.paths import AuditPaths


def test_bucket_count_keeps_one_bucket_up_to_the_limit() -> None:
    assert api.bucket_count(0) == 1
    assert api.bucket_count(api.BUCKET_ROWS) == 1
    assert api.bucket_count(api.BUCKET_ROWS + 1) == 2
    assert api.bucket_count(10 * api.BUCKET_ROWS) == 10


# (rows per bucket, rows per row group of calls.parquet): small row groups make groups
# that span two call ranges of the bucketed writer.
@pytest.mark.parametrize(("rows_per_bucket", "group_rows"), [(1000, None), (2500, 333)])
def test_buckets_write_the_same_bytes_as_one(
    normalized_work: Path,
    tmp_path: Path,
    rows_per_bucket: int,
    group_rows: int | None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if group_rows:
        monkeypatch.setattr(writer, "ROW_GROUP_ROWS", group_rows)
    one = api.dedupe(normalized_work, tmp_path / "one")
    assert one.rows_in > 2 * rows_per_bucket
    monkeypatch.setattr(api, "BUCKET_ROWS", rows_per_bucket)
    with caplog.at_level(logging.INFO, logger=api.__name__):
        many = api.dedupe(normalized_work, tmp_path / "many")
    assert many.calls_out == one.calls_out
    buckets = api.bucket_count(one.rows_in)
    # The bucketed path really ran, once per bucket, the calls step too.
    assert sum("clustering bucket" in r.getMessage() for r in caplog.records) == buckets > 1
    assert sum("calls of bucket" in r.getMessage() for r in caplog.records) == buckets
    assert sum("writing call range" in r.getMessage() for r in caplog.records) > 1
    if group_rows:  # the small groups were used
        assert pq.ParquetFile(AuditPaths(tmp_path / "many").calls).num_row_groups > 1
    for name in ("calls", "dedupe_report"):
        one_file = getattr(AuditPaths(tmp_path / "one"), name)
        assert one_file.read_bytes() == getattr(AuditPaths(tmp_path / "many"), name).read_bytes()

"""calls.parquet's writer: the file's bytes depend on its rows alone, never on the plan.

DuckDB's ``COPY`` takes text dictionaries from dictionary-encoded input and ends pages
where its input chunks end, and both follow the plan that produced the rows: the same
rows in the same order, grouped in one statement or in buckets, gave different files.
Here the rows are streamed out of the engine in order and written by pyarrow with fixed
settings, in row groups of exactly :data:`ROW_GROUP_ROWS` rows, each column one
contiguous array (pyarrow also ends pages at chunk edges), with one fixed Arrow schema
(plain ``string`` and ``list``, timestamps without a session time zone). So any plan
that yields the same rows in the same order writes the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# DuckDB's own default row group; readers prune by each group's call_id range.
ROW_GROUP_ROWS = 122_880
_CODEC = "zstd"
_CODEC_LEVEL = 3


def _plain(t: pa.DataType) -> pa.DataType:
    """The one Arrow type written for ``t``, whatever the engine's export chose."""
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return pa.list_(pa.field("element", _plain(t.value_type)))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _plain(f.type)) for f in t])
    if pa.types.is_timestamp(t) and t.tz is not None:
        return pa.timestamp(t.unit, tz="UTC")
    return t


def plain_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with every column's type made :func:`_plain`, and no metadata."""
    return pa.schema([pa.field(f.name, _plain(f.type)) for f in schema])


def write_ordered(batches: Iterable[pa.RecordBatch], schema: pa.Schema, path: Path) -> int:
    """Write ``batches`` (rows in final order) to ``path``; returns the rows written.

    ``schema`` is the engine's schema of the batches (made plain here)."""
    target = plain_schema(schema)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    pending: list[pa.RecordBatch] = []
    held = 0
    with pq.ParquetWriter(
        path,
        target,
        compression=_CODEC,
        compression_level=_CODEC_LEVEL,
        use_dictionary=True,
        write_statistics=True,
        store_schema=False,
    ) as writer:

        def flush(n: int) -> None:
            nonlocal pending, held, rows
            table = pa.Table.from_batches(pending, schema=target)
            group, rest = table.slice(0, n), table.slice(n)
            writer.write_table(group.combine_chunks(), row_group_size=n)
            rows += n
            pending, held = rest.to_batches(), rest.num_rows

        for batch in batches:
            if batch.num_rows == 0:
                continue
            pending.append(batch.cast(target) if batch.schema != target else batch)
            held += batch.num_rows
            while held >= ROW_GROUP_ROWS:
                flush(ROW_GROUP_ROWS)
        if held:
            flush(held)
    return rows

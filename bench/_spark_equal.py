"""The one rule by which DuckDB's and Spark's Parquet outputs are compared (tests and benches).

The same column names, types and values in the same row order; the only thing set aside is
the NOT NULL flag, which DuckDB writes on some columns and Spark never does. Time zones and
string kinds are NOT merged (``dedupe/writer.py``'s ``plain_schema`` does that, and would
loosen the test). Used by tests/test_spark.py, bench/spark.py and bench/spark_stages.py.
"""

from __future__ import annotations

import pyarrow as pa


def plain_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with every field (nested ones too) nullable, nothing else changed."""

    def f(t: pa.DataType) -> pa.DataType:
        if pa.types.is_list(t):
            return pa.list_(f(t.value_type))
        if pa.types.is_struct(t):
            return pa.struct([pa.field(x.name, f(x.type)) for x in t])
        return t

    return pa.schema([pa.field(x.name, f(x.type)) for x in schema])


def plain_table(t: pa.Table) -> pa.Table:
    """``t`` cast to :func:`plain_schema`: two tables then compare with ``equals``."""
    return t.cast(plain_schema(t.schema))

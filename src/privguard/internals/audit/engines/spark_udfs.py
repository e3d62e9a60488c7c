"""DuckDB's own scalar functions, run inside Spark's Python workers (Arrow batches).

Some functions have no Spark equivalent that gives the same value on every input:

* ``hash(...)``: DuckDB's 64-bit hash picks hashed samples (normalize's start-time and
  zone samples, dedupe's skew sample, dedupe's buckets). A sample must be the same rows
  on both engines, and Spark has no function computing DuckDB's hash.
* ``try_strptime(text, formats)``: C-style formats; Java's parser differs on two-digit
  years, one-digit fields and case.
* ``timezone('UTC', timezone(zone, local))``: ICU's and Java's rules for a wall-clock
  time that occurs twice (autumn) or never (spring) differ.

So the dialect layer renders each as a call of a vectorized UDF below, which evaluates
the very DuckDB expression over one Arrow batch: the values are DuckDB's by construction.
Each Python worker keeps one single-threaded in-memory DuckDB connection.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

HASH_UDF = "PG_HASH"
STRPTIME_UDF = "PG_STRPTIME"
TO_UTC_UDF = "PG_TO_UTC"

_con: Any = None


def _duck() -> Any:
    global _con
    if _con is None:
        import duckdb

        _con = duckdb.connect()
        _con.execute("SET threads = 1")
    return _con


def _eval(expr: str, cols: tuple[pa.Array, ...]) -> pa.Array:
    """``expr`` (naming the arguments c0, c1 ...) over one batch, in the batch's order."""
    con = _duck()
    con.register("pg_batch", pa.table({f"c{i}": c for i, c in enumerate(cols)}))
    try:
        out = con.sql(f"SELECT {expr} AS r FROM pg_batch").to_arrow_table()
    finally:
        con.unregister("pg_batch")
    return out["r"].combine_chunks()


def _constant(col: pa.Array, what: str) -> str:
    values = col.unique().to_pylist()
    if len(values) != 1 or not isinstance(values[0], str):
        raise ValueError(f"{what} must be one text literal, got {values[:3]}")
    return values[0]


def duck_hash(*cols: pa.Array) -> pa.Array:
    """DuckDB's ``hash(c0, c1 ...)``, an unsigned 64-bit value as DECIMAL(20, 0)."""
    names = ", ".join(f"c{i}" for i in range(len(cols)))
    return _eval(f"CAST(hash({names}) AS DECIMAL(20, 0))", cols)


def duck_strptime(text: pa.Array, *formats: pa.Array) -> pa.Array:
    """DuckDB's ``try_strptime(c0, [formats])`` (formats: text literals, one per argument)."""
    fmts = [_constant(f, "a time format") for f in formats]
    quoted = ", ".join("'" + f.replace("'", "''") + "'" for f in fmts)
    arg = quoted if len(fmts) == 1 else f"[{quoted}]"
    if len(text) == 0:
        return pa.array([], pa.timestamp("us"))
    # Parsed once per distinct text: a batch repeats the same times (copies of calls) and
    # is mostly NULL where the rendered CASE routes its rows to another table's formats.
    distinct = pc.unique(text.drop_null() if isinstance(text, pa.Array) else text)
    parsed = _eval(f"try_strptime(c0, {arg})", (distinct,))
    return pc.take(parsed, pc.index_in(text, value_set=distinct))


def duck_to_utc(local: pa.Array, zone: pa.Array) -> pa.Array:
    """DuckDB's ``timezone('UTC', timezone(zone, local))``: a wall-clock time to naive UTC."""
    if len(local) == 0:
        return pa.array([], pa.timestamp("us"))
    return _eval("timezone('UTC', timezone(c1, c0))", (local, zone))


def register(session: Any) -> None:
    """Register the UDFs on a Spark session under the names the dialect layer renders."""
    from pyspark.sql.functions import arrow_udf  # type: ignore[attr-defined]
    from pyspark.sql.types import DecimalType, TimestampNTZType

    session.udf.register(HASH_UDF, arrow_udf(duck_hash, DecimalType(20, 0)))
    session.udf.register(STRPTIME_UDF, arrow_udf(duck_strptime, TimestampNTZType()))
    session.udf.register(TO_UTC_UDF, arrow_udf(duck_to_utc, TimestampNTZType()))

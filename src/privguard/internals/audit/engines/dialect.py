"""Where DuckDB's SQL and Spark's differ: the stages' SQL rendered for Spark (pure).

Stages build their SQL once, in DuckDB's dialect. :func:`to_spark` parses it with
sqlglot and rewrites the constructs sqlglot does not translate, or translates wrongly,
before it prints Spark SQL. Each rewrite below was checked on a real Spark (see
tests/test_spark.py), because a translator fails silently:

* ``isodow(x)``: sqlglot prints ``dayofweek(x) % 7 + 1``, which makes Sunday 2 and
  Monday 3; ISO's Monday 1 .. Sunday 7 is Spark's ``weekday(x) + 1``.
* ``timezone(zone, ts AT TIME ZONE 'UTC')`` (naive UTC to the zone's wall clock) is
  ``from_utc_timestamp(ts, zone)`` with the session in UTC.
* ``to_hours(n)`` is ``make_dt_interval(0, CAST(n AS INT))``.
* ``printf('%.Nf', x)``: Java's formatter (Spark's ``printf``) rounds half up from the
  shortest decimal (``0.345`` -> ``0.35``, ``483 / 60`` -> ``8.0``), DuckDB from the
  exact binary value (``0.34``, ``8.1``), and Spark's cast of a double to a decimal is
  not exact either: ``PG_PRINTF``, Python's ``%`` (exact, as DuckDB's), registered by
  the executor, formats it.
* A decimal literal (``1.0``) is a DOUBLE: Spark keeps ``avg(CASE .. THEN 1.0 ..)`` a
  DECIMAL(6, 5), where DuckDB's average of a decimal is a DOUBLE.
* ``hash(...)`` (DuckDB's 64-bit hash) becomes ``xxhash64(...)``: used only to count
  distinct tuples and to pick hashed samples, so the numbers differ but not the counts;
  a hashed *sample* (dedupe's skew pass past 1 M rows) picks other keys on Spark.
* ``last(x ORDER BY a, b)`` is ``max_by(x, struct(a, b))``.
* ``epoch(ts)`` keeps its fraction of a second (sqlglot's ``unix_timestamp`` drops it):
  ``unix_micros(ts) / 1e6``, as DuckDB computes it.
* ``read_parquet(...)`` is lifted out: the executor reads those files as DataFrames and
  the statement names them (:class:`Rendered`).

Regex back-references (DuckDB ``\\1``, Spark ``$1``) are rewritten by
:func:`_backrefs` in every ``regexp_replace`` replacement. DuckDB's ``regexp_replace``
without the ``'g'`` option replaces the first match only; sqlglot renders it as Spark's,
which replaces every match: unless the pattern is anchored at the start (one match at
most), such a statement is refused rather than silently changed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from privguard.errors import EngineError


@dataclass
class Rendered:
    """One statement for Spark and the Parquet sources it reads (view name -> paths)."""

    sql: str
    kind: str  # "query", "create_view", "create_table", "drop"
    name: str | None = None  # the relation a CREATE or DROP names
    parquet: dict[str, list[str]] = field(default_factory=dict)


# C's printf, registered by the executor as a Python function (see the module's notes).
PRINTF_UDF = "PG_PRINTF"


def _double() -> exp.DataType:
    return exp.DataType.build("DOUBLE")


def _lit(value: str) -> exp.Literal:
    return exp.Literal.string(value)


def _backrefs(text: str) -> str:
    """A DuckDB replacement string (``\\1``) as Java's (``$1``; a literal ``$`` escaped)."""
    out = text.replace("$", "\\$")
    return re.sub(r"\\(\d)", r"$\1", out)


def _parquet_paths(node: exp.Expression) -> list[str]:
    paths: list[str] = []
    for arg in node.expressions:
        if isinstance(arg, exp.Literal) and arg.is_string:
            paths.append(arg.this)
        elif isinstance(arg, exp.Array):
            paths += [a.this for a in arg.expressions if isinstance(a, exp.Literal)]
    return paths


def _rewrite(node: exp.Expression) -> exp.Expression:
    """One node rewritten for Spark (see the module's list); others are left alone."""
    if isinstance(node, exp.DayOfWeekIso):
        return exp.Add(
            this=exp.Anonymous(this="WEEKDAY", expressions=[node.this]),
            expression=exp.Literal.number(1),
        )
    if isinstance(node, exp.Last) and isinstance(node.this, exp.Order):
        keys = [o.this for o in node.this.expressions]
        return exp.Anonymous(
            this="MAX_BY",
            expressions=[node.this.this, exp.Anonymous(this="STRUCT", expressions=keys)],
        )
    if isinstance(node, exp.TimeToUnix):
        micros = exp.Anonymous(
            this="UNIX_MICROS",
            expressions=[exp.Cast(this=node.this, to=exp.DataType.build("TIMESTAMP"))],
        )
        return exp.Div(
            this=micros, expression=exp.Cast(this=exp.Literal.number(1000000), to=_double())
        )
    if isinstance(node, exp.Literal) and not node.is_string and "." in node.this:
        return exp.Cast(this=node, to=_double())
    if isinstance(node, exp.RegexpReplace):
        mods, pattern = node.args.get("modifiers"), node.expression
        first_only = not (isinstance(mods, exp.Literal) and "g" in mods.this)
        anchored = isinstance(pattern, exp.Literal) and pattern.this.startswith("^")
        if first_only and not anchored:
            raise EngineError(
                f"regexp_replace without 'g' replaces only the first match on DuckDB, every "
                f"match on Spark; no Spark rendering for pattern {pattern.sql('duckdb')}",
                fix="report this as a bug with the log",
            )
        repl = node.args.get("replacement")
        if isinstance(repl, exp.Literal) and repl.is_string:
            node.set("replacement", _lit(_backrefs(repl.this)))
        return node
    if not isinstance(node, exp.Anonymous):
        return node
    name = str(node.this).lower()
    args = node.expressions
    if name == "timezone" and len(args) == 2 and isinstance(args[1], exp.AtTimeZone):
        zone = args[1].args.get("zone")
        if isinstance(zone, exp.Literal) and zone.this.upper() == "UTC":
            return exp.Anonymous(this="FROM_UTC_TIMESTAMP", expressions=[args[1].this, args[0]])
    if name == "to_hours" and len(args) == 1:
        hours = exp.Cast(this=args[0], to=exp.DataType.build("INT"))
        return exp.Anonymous(this="MAKE_DT_INTERVAL", expressions=[exp.Literal.number(0), hours])
    if name == "hash":
        return exp.Anonymous(this="XXHASH64", expressions=args)
    if name == "printf":
        return exp.Anonymous(
            this=PRINTF_UDF,
            expressions=[args[0], *(exp.Cast(this=a, to=_double()) for a in args[1:])],
        )
    return node


def to_spark(sql: str) -> Rendered:
    """``sql`` (DuckDB's dialect, one statement) rendered for Spark SQL.

    Raises :class:`EngineError` when the statement uses something with no Spark rendering.
    """
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise EngineError(
            f"this statement cannot be rendered for Spark: {exc}",
            fix="report this as a bug with the log",
        ) from exc
    parquet: dict[str, list[str]] = {}

    def lift(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.ReadParquet) or (
            isinstance(node, exp.Anonymous) and str(node.this).lower() == "read_parquet"
        ):
            paths = _parquet_paths(node)
            key = tuple(paths)
            for name, known in parquet.items():
                if tuple(known) == key:
                    return exp.to_identifier(name)
            name = "_pq_" + hashlib.sha1("\0".join(paths).encode()).hexdigest()[:16]
            parquet[name] = paths
            return exp.to_identifier(name)
        return node

    tree = tree.transform(lift)
    tree = tree.transform(_rewrite)
    kind, name = "query", None
    if isinstance(tree, exp.Create):
        kind = "create_table" if str(tree.args.get("kind")).upper() == "TABLE" else "create_view"
        name = tree.this.name
        body = tree.expression
        return Rendered(body.sql("spark"), kind, name, parquet)
    if isinstance(tree, exp.Drop):
        tables = tree.args.get("tables") or [tree.this]
        return Rendered("", "drop", tables[0].name, parquet)
    return Rendered(tree.sql("spark"), kind, name, parquet)

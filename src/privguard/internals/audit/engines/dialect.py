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
* ``hash(...)`` becomes ``PG_HASH(...)``, DuckDB's own hash run as an Arrow UDF
  (:mod:`.spark_udfs`): hashed samples (normalize's, dedupe's skew pass past 1 M rows)
  pick the same rows on both engines. Inside ``count(DISTINCT ..)`` it is Spark's
  ``xxhash64``: only the count matters there.
* ``try_strptime(x, formats)`` and ``timezone('UTC', timezone(zone, local))`` run as
  DuckDB's own (``PG_STRPTIME``, ``PG_TO_UTC``): Java's parser and zone rules differ.
* ``list(x ORDER BY k)`` sorts ``struct(k, x)`` (sqlglot drops the order silently);
  ``list_distinct`` drops NULLs, as DuckDB's; ``regexp_full_match`` ends at ``\\z``
  (Java's ``$`` also matches before a final line break); ``quantile_cont`` is
  ``percentile``; ``make_timestamp``, ``to_minutes``, ``to_microseconds`` spelled out.
* ``UPDATE t SET .. FROM f WHERE ..`` is ``t`` rebuilt (a temp table) from ``t LEFT
  JOIN f``, and ``t.* REPLACE (..)`` lists t's columns: both look the columns up
  through the executor (``columns``).
* ``last(x ORDER BY a, b)`` is ``max_by(x, struct(a, b))``.
* ``epoch(ts)`` keeps its fraction of a second (sqlglot's ``unix_timestamp`` drops it):
  ``unix_micros(ts) / 1e6``, as DuckDB computes it.
* ``read_parquet(...)`` is lifted out: the executor reads those files as DataFrames and
  the statement names them (:class:`Rendered`).

Regex back-references (DuckDB ``\\1``, Spark ``$1``) are rewritten by
:func:`_backrefs` in every ``regexp_replace`` replacement. DuckDB's ``regexp_replace``
without the ``'g'`` option replaces the first match only; sqlglot renders it as Spark's,
which replaces every match: unless the pattern is anchored at the start (one match at
most), it becomes ``^(.*?)(?:P)`` replaced by ``$1`` and the replacement, its groups
shifted by one (:func:`_regexp_replace`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from privguard.errors import EngineError
from privguard.internals.audit.engines.spark_udfs import HASH_UDF, STRPTIME_UDF, TO_UTC_UDF


@dataclass
class Rendered:
    """One statement for Spark and the Parquet sources it reads (view name -> paths)."""

    sql: str
    kind: str  # "query", "create_view", "create_table", "drop"
    name: str | None = None  # the relation a CREATE or DROP names
    parquet: dict[str, list[str]] = field(default_factory=dict)
    # Computed first, each as a temp table (name, Spark SQL): see :func:`_lift_ctes`.
    before: list[tuple[str, str]] = field(default_factory=list)


# C's printf, registered by the executor as a Python function (see the module's notes).
PRINTF_UDF = "PG_PRINTF"


def _double() -> exp.DataType:
    return exp.DataType.build("DOUBLE")


def _lit(value: str) -> exp.Literal:
    return exp.Literal.string(value)


def _backrefs(text: str, shift: int = 0) -> str:
    """A DuckDB replacement string (``\\1``) as Java's (``$1``; a literal ``$`` escaped);
    ``shift``: the groups' numbers move up by this many."""
    out = text.replace("$", "\\$")
    return re.sub(r"\\(\d)", lambda m: f"${int(m.group(1)) + shift}", out)


def _parquet_paths(node: exp.Expression) -> list[str]:
    paths: list[str] = []
    for arg in node.expressions:
        if isinstance(arg, exp.Literal) and arg.is_string:
            paths.append(arg.this)
        elif isinstance(arg, exp.Array):
            paths += [a.this for a in arg.expressions if isinstance(a, exp.Literal)]
    return paths


def _sub(node: exp.Expression) -> exp.Expression:
    """A sub-expression rewritten too (a replaced node's children are not visited again)."""
    return node.copy().transform(_rewrite)


def _spark(text: str) -> exp.Expression:
    tree = sqlglot.parse_one(text, read="spark")
    assert isinstance(tree, exp.Expression)
    return tree


def _is_utc(node: exp.Expression) -> bool:
    return isinstance(node, exp.Literal) and node.is_string and node.this.upper() == "UTC"


def _regexp_replace(node: exp.RegexpReplace) -> exp.Expression:
    """DuckDB's replace: every match with 'g', else the FIRST match only (Spark: every).

    The first match only is ``^(.*?)(?:P)`` replaced by ``$1`` and the replacement: the
    lazy prefix stops at the leftmost match, which both engines pick the same way
    (leftmost, then the first alternative); the pattern's groups move up by one.

    Returns a copy, never ``node`` changed in place: ``transform`` descends into a node
    returned as it was, so a regexp_replace nested in this one (already rewritten by
    :func:`_sub`) was rewritten a second time without its ``'g'``: every match became the
    first only (and ``'9'`` after ``$1`` read as group 19)."""
    node = node.copy()
    mods, pattern = node.args.get("modifiers"), node.expression
    first_only = not (isinstance(mods, exp.Literal) and "g" in mods.this)
    repl = node.args.get("replacement")
    if not (isinstance(repl, exp.Literal) and repl.is_string):
        raise EngineError(
            "regexp_replace with a computed replacement has no Spark rendering",
            fix="report this as a bug with the log",
        )
    node.set("this", _sub(node.this))
    node.set("modifiers", None)
    anchored = isinstance(pattern, exp.Literal) and pattern.this.startswith("^")
    if not first_only or anchored:
        node.set("replacement", _lit(_backrefs(repl.this)))
        return node
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        raise EngineError(
            "regexp_replace of the first match with a computed pattern has no Spark rendering",
            fix="report this as a bug with the log",
        )
    node.set("expression", _lit(f"(?s)^(.*?)(?:{pattern.this})"))
    node.set("replacement", _lit("$1" + _backrefs(repl.this, shift=1)))
    return node


def _rewrite_more(node: exp.Expression) -> exp.Expression | None:
    """Normalize's constructs (lists, full matches, quantiles, epoch times); None: not one."""
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        # list(x ORDER BY k): Spark's collect_list has no order; sort (k.., x) structs.
        keys = []
        for i, o in enumerate(node.this.expressions):
            if o.args.get("desc"):
                raise EngineError("list(... ORDER BY ... DESC) has no Spark rendering yet",
                                  fix="report this as a bug with the log")  # fmt: skip
            keys.append(f"{_sub(o.this).sql('spark')} AS k{i}")
        value = _sub(node.this.this).sql("spark")
        return _spark(
            f"TRANSFORM(ARRAY_SORT(COLLECT_LIST(STRUCT({', '.join(keys)}, {value} AS v))), "
            "e -> e.v)"
        )
    if isinstance(node, exp.RegexpFullMatch) and isinstance(node.expression, exp.Literal):
        # Java's $ also matches before a final line break; \z is the end only, as RE2's.
        return exp.RegexpLike(
            this=_sub(node.this), expression=_lit(f"^(?:{node.expression.this})\\z")
        )
    if isinstance(node, exp.PercentileCont) and not isinstance(node.parent, exp.WithinGroup):
        # quantile_cont interpolates linearly between closest ranks, as Spark's percentile.
        return exp.Anonymous(this="PERCENTILE", expressions=[_sub(node.this), node.expression])
    if isinstance(node, exp.ArrayDistinct):
        # DuckDB's list_distinct drops NULLs; Spark's array_distinct keeps one.
        inner = _sub(node.this).sql("spark")
        return _spark(f"ARRAY_DISTINCT(FILTER({inner}, e -> e IS NOT NULL))")
    if isinstance(node, exp.UnixToTime):
        scale = node.args.get("scale")
        if scale is None or scale.name not in ("6", "micros"):
            return None
        # make_timestamp(micros): a naive timestamp (Spark's TIMESTAMP_MICROS is zoned).
        return exp.Cast(
            this=exp.Anonymous(this="TIMESTAMP_MICROS", expressions=[_sub(node.this)]),
            to=exp.DataType.build("TIMESTAMP_NTZ", dialect="spark"),
        )
    if isinstance(node, exp.Length) and isinstance(node.this, exp.Split):
        return exp.Anonymous(this="SIZE", expressions=[_sub(node.this)])
    return None


def _only_when(node: exp.Expression, value: exp.Expression) -> exp.Expression:
    """``value`` as NULL on rows where no enclosing ``CASE WHEN`` branch holding ``node``
    is taken: Spark evaluates a Python UDF on every row before the CASE picks a branch,
    and the UDF skips NULLs (so each table's formats parse only that table's texts)."""
    conds = []
    child: exp.Expression = node
    parent = node.parent
    # Only conditions of the same row: not past a query, an aggregate or a window.
    stop = (exp.Select, exp.Subquery, exp.AggFunc, exp.Window)
    while parent is not None and not isinstance(parent, stop):
        if isinstance(parent, exp.If) and parent.args.get("true") is child:
            conds.append(_sub(parent.this))
        child, parent = parent, parent.parent  # type: ignore[assignment]
    if not conds:
        return value
    return exp.Case(ifs=[exp.If(this=exp.and_(*conds), true=value)])


def _rewrite(node: exp.Expression) -> exp.Expression:
    """One node rewritten for Spark (see the module's list); others are left alone."""
    if isinstance(node, exp.DayOfWeekIso):
        return exp.Add(
            this=exp.Anonymous(this="WEEKDAY", expressions=[_sub(node.this)]),
            expression=exp.Literal.number(1),
        )
    if isinstance(node, exp.Last) and isinstance(node.this, exp.Order):
        keys = [_sub(o.this) for o in node.this.expressions]
        return exp.Anonymous(
            this="MAX_BY",
            expressions=[_sub(node.this.this), exp.Anonymous(this="STRUCT", expressions=keys)],
        )
    if isinstance(node, exp.TimeToUnix):
        micros = exp.Anonymous(
            this="UNIX_MICROS",
            expressions=[exp.Cast(this=_sub(node.this), to=exp.DataType.build("TIMESTAMP"))],
        )
        return exp.Div(
            this=micros, expression=exp.Cast(this=exp.Literal.number(1000000), to=_double())
        )
    if isinstance(node, exp.Literal) and not node.is_string and "." in node.this:
        return exp.Cast(this=node, to=_double())
    if isinstance(node, exp.RegexpReplace):
        return _regexp_replace(node)
    other = _rewrite_more(node)
    if other is not None:
        return other
    if not isinstance(node, exp.Anonymous):
        return node
    name = str(node.this).lower()
    args = node.expressions
    if name == "timezone" and len(args) == 2 and isinstance(args[1], exp.AtTimeZone):
        zone = args[1].args.get("zone")
        if isinstance(zone, exp.Literal) and zone.this.upper() == "UTC":
            return exp.Anonymous(
                this="FROM_UTC_TIMESTAMP", expressions=[_sub(args[1].this), _sub(args[0])]
            )
    if name == "to_hours" and len(args) == 1:
        hours = exp.Cast(this=_sub(args[0]), to=exp.DataType.build("INT"))
        return exp.Anonymous(this="MAKE_DT_INTERVAL", expressions=[exp.Literal.number(0), hours])
    if name == "hash":
        # Counting distinct tuples needs no particular hash; a sample needs DuckDB's.
        if isinstance(node.parent, exp.Distinct):
            return exp.Anonymous(this="XXHASH64", expressions=args)
        return exp.Anonymous(this=HASH_UDF, expressions=[_sub(a) for a in args])
    if name == "try_strptime" and len(args) == 2:
        fmts = args[1].expressions if isinstance(args[1], exp.Array) else [args[1]]
        text = _only_when(node, _sub(args[0]))
        return exp.Anonymous(this=STRPTIME_UDF, expressions=[text, *fmts])
    if name == "timezone" and len(args) == 2 and _is_utc(args[0]):
        inner = args[1]
        if isinstance(inner, exp.Anonymous) and str(inner.this).lower() == "timezone":
            zone, local = inner.expressions
            return exp.Anonymous(this=TO_UTC_UDF, expressions=[_sub(local), _sub(zone)])
    if name == "to_minutes" and len(args) == 1:
        minutes = exp.Cast(this=_sub(args[0]), to=exp.DataType.build("INT"))
        zero = exp.Literal.number(0)
        return exp.Anonymous(this="MAKE_DT_INTERVAL", expressions=[zero, zero, minutes])
    if name == "to_microseconds" and len(args) == 1:
        return _spark(
            f"MAKE_DT_INTERVAL(0, 0, 0, CAST(CAST({_sub(args[0]).sql('spark')} AS DECIMAL(38, 0))"
            " / 1000000 AS DECIMAL(18, 6)))"
        )
    if name == "printf":
        return exp.Anonymous(
            this=PRINTF_UDF,
            expressions=[args[0], *(exp.Cast(this=_sub(a), to=_double()) for a in args[1:])],
        )
    return node


# (relation name, its Parquet files when read_parquet was lifted) -> its column names.
Columns = Callable[[str, list[str] | None], list[str]]


def _relations(select: exp.Select) -> dict[str, exp.Table]:
    """Alias (or name) -> table of every relation a SELECT reads from directly."""
    out: dict[str, exp.Table] = {}
    from_ = select.args.get("from") or select.args.get("from_")
    for rel in [from_.this if from_ else None, *(j.this for j in select.args.get("joins") or [])]:
        if isinstance(rel, exp.Table):
            out[rel.alias_or_name] = rel
    return out


def _expand_replace(tree: exp.Expression, parquet: dict[str, list[str]], columns: Columns) -> None:
    """``t.* REPLACE (e AS c)`` (Spark has none) as t's columns listed, c replaced in place."""
    for col in list(tree.find_all(exp.Column)):
        star = col.this
        if not (isinstance(star, exp.Star) and star.args.get("replace")):
            continue
        select = col.find_ancestor(exp.Select)
        rel = _relations(select).get(col.table) if select else None
        if select is None or rel is None:
            raise EngineError(f"no Spark rendering for {col.sql('duckdb')}: its relation is "
                              "not a named table", fix="report this as a bug with the log")  # fmt: skip
        replaced = {a.alias: a for a in star.args["replace"]}
        items = [
            replaced[name].copy() if name in replaced else exp.column(name, table=col.table)
            for name in columns(rel.name, parquet.get(rel.name))
        ]
        exprs = select.expressions
        at = next(i for i, e in enumerate(exprs) if e is col)
        select.set("expressions", [*exprs[:at], *items, *exprs[at + 1 :]])


def _update_as_select(tree: exp.Update, parquet: dict[str, list[str]], columns: Columns) -> str:
    """``UPDATE t SET c = e FROM f WHERE w`` as the SELECT of t's new rows (DuckDB SQL):
    t LEFT JOIN f ON w, each set column taking e where a row of f matched."""
    target = tree.this.name
    from_ = tree.args.get("from") or tree.args.get("from_")
    src = from_.this if from_ else None
    if not isinstance(src, exp.Table) or tree.args.get("where") is None:
        raise EngineError("this UPDATE has no Spark rendering (one FROM table and a WHERE)",
                          fix="report this as a bug with the log")  # fmt: skip
    alias = src.alias_or_name
    sets = {eq.this.name: eq.expression.sql("duckdb") for eq in tree.expressions}
    items = [
        f"CASE WHEN {alias}.__pg_hit THEN {sets[c]} ELSE {target}.{c} END AS {c}"
        if c in sets
        else f"{target}.{c}"
        for c in columns(target, parquet.get(target))
    ]
    where = tree.args["where"].this.sql("duckdb")
    return (
        f"SELECT {', '.join(items)} FROM {target} LEFT JOIN "
        f"(SELECT *, true AS __pg_hit FROM {src.name}) {alias} ON {where}"
    )


_UDFS = {HASH_UDF, STRPTIME_UDF, TO_UTC_UDF}


def _calls_udf(node: exp.Expression) -> bool:
    return any(str(a.this).upper() in _UDFS for a in node.find_all(exp.Anonymous))


def _lift_ctes(tree: exp.Expression) -> list[tuple[str, str]]:
    """CTEs that call a Python UDF and are read more than once, lifted out of ``tree``.

    DuckDB computes such a CTE once; Spark inlines every deterministic CTE where it is
    read, so zone scoring, whose sample feeds one branch per candidate zone, converted
    every sampled row once per branch. Each lifted CTE becomes a temp table named
    ``_pg_cte_<n>`` (the executor computes it first) and its readers name that table,
    aliased as the CTE was."""
    with_ = tree.args.get("with") or tree.args.get("with_")
    if with_ is None and isinstance(tree, exp.Create) and tree.expression is not None:
        with_ = tree.expression.args.get("with") or tree.expression.args.get("with_")
    if with_ is None:
        return []
    lifted: list[tuple[str, str]] = []
    for cte in list(with_.expressions):
        name = cte.alias
        readers = [t for t in tree.find_all(exp.Table) if t.name == name and not t.args.get("db")]
        if len(readers) < 2 or not _calls_udf(cte.this):
            continue
        table = f"_pg_cte_{hashlib.sha1(cte.this.sql('spark').encode()).hexdigest()[:12]}"
        # Its body reads only the CTEs before it, which it keeps as its own WITH.
        earlier = with_.expressions[: with_.expressions.index(cte)]
        body = cte.this.copy()
        if earlier:
            key = "with_" if "with_" in body.arg_types else "with"
            body.set(key, exp.With(expressions=[c.copy() for c in earlier]))
        lifted.append((table, body.sql("spark")))
        for t in readers:
            alias = t.alias or name
            t.set("this", exp.to_identifier(table))
            t.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
        cte.pop()
    if not with_.expressions:
        with_.pop()
    return lifted


def to_spark(sql: str, columns: Columns | None = None) -> Rendered:
    """``sql`` (DuckDB's dialect, one statement) rendered for Spark SQL.

    ``columns`` looks up a relation's columns, for what Spark must have spelled out
    (``* REPLACE``, ``UPDATE``, rendered as the temp table rebuilt). Raises
    :class:`EngineError` when the statement uses something with no Spark rendering.
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
    if isinstance(tree, exp.Update) or any(
        isinstance(c.this, exp.Star) and c.this.args.get("replace")
        for c in tree.find_all(exp.Column)
    ):
        if columns is None:
            raise EngineError("this statement needs its relations' columns to be rendered for "
                              "Spark", fix="report this as a bug with the log")  # fmt: skip
        if isinstance(tree, exp.Update):
            name = tree.this.name
            select = sqlglot.parse_one(_update_as_select(tree, parquet, columns), read="duckdb")
            return Rendered(select.transform(_rewrite).sql("spark"), "create_table", name, parquet)
        _expand_replace(tree, parquet, columns)
    tree = tree.transform(_rewrite)
    before = _lift_ctes(tree)
    kind, name = "query", None
    if isinstance(tree, exp.Create):
        kind = "create_table" if str(tree.args.get("kind")).upper() == "TABLE" else "create_view"
        name = tree.this.name
        body = tree.expression
        return Rendered(body.sql("spark"), kind, name, parquet, before)
    if isinstance(tree, exp.Drop):
        tables = tree.args.get("tables") or [tree.this]
        return Rendered("", "drop", tables[0].name, parquet)
    return Rendered(tree.sql("spark"), kind, name, parquet, before)

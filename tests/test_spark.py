"""The audit on Apache Spark gives DuckDB's results, row for row, on a real local Spark.

The fast tests check the dialect layer's text and the settings; the ``spark`` tests run
a real pyspark session (local[2], the machine's Java 17), never a mock: a translator
fails silently (a regex back-reference, a weekday number), so only a real engine proves it.
"""

from __future__ import annotations

import filecmp
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import privguard
from privguard.errors import EngineError, SettingsError
from privguard.internals.audit.engines import connect
from privguard.internals.audit.engines.dialect import to_spark
from privguard.internals.audit.engines.spark_options import (
    SparkOptions,
    parse_conf_args,
    submit_command,
)
from privguard.internals.audit.settings import parse_settings

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
sys.path.insert(0, str(ROOT / "bench"))
from _spark_equal import plain_schema, plain_table  # noqa: E402

# Small shuffles: a few thousand calls do not need Spark's default 200 partitions.
CONF = {"spark.sql.shuffle.partitions": "2"}
OUTPUT_TABLES = (
    "calls.parquet",
    "numbers.parquet",
    "registry.parquet",
    "facility_clocks.parquet",
    "work/privileged_flags.parquet",
)


# --- the dialect layer's text (no Spark needed) ---------------------------------------------
def test_backreference_becomes_java_syntax() -> None:
    sql = to_spark(r"SELECT regexp_replace(x, '^([0-9]+)\.0+$', '\1') FROM t").sql
    assert "'$1'" in sql and "\\1" not in sql


def test_first_match_only_replace_keeps_one_match() -> None:
    # sqlglot renders DuckDB's first-match replace as Spark's replace-all, silently: the
    # layer anchors it behind a lazy prefix, and the groups move up by one.
    sql = to_spark(r"SELECT regexp_replace(x, '(A)\.M\.?', '\1M') FROM t").sql
    assert r"(?s)^(.*?)(?:(A)\\.M\\.?)" in sql and "'$1$2M'" in sql
    assert "(?s)" not in to_spark("SELECT regexp_replace(x, '^0+', '') FROM t").sql
    assert "(?s)" not in to_spark("SELECT regexp_replace(x, '[^0-9]', '', 'g') FROM t").sql


def test_nested_replace_is_rewritten_once() -> None:
    # A regexp_replace inside another was rewritten twice: the second time without its 'g',
    # so normalize's start shapes replaced the first digit only ('$19': group 1, then 9).
    sql = to_spark(
        "SELECT regexp_replace(regexp_replace(x, '[0-9]', '9', 'g'), '[A-Z]', 'A', 'g') FROM t"
    ).sql
    assert sql == "SELECT REGEXP_REPLACE(REGEXP_REPLACE(x, '[0-9]', '9'), '[A-Z]', 'A') FROM t"
    sql = to_spark(
        r"SELECT regexp_replace(regexp_replace(x, 'A\.M\.?', 'AM'), 'P\.M\.?', 'PM') FROM t"
    ).sql
    assert sql.count("(?s)") == 2 and "'$1AM'" in sql and "'$1PM'" in sql


def test_hash_is_duckdbs_where_a_sample_depends_on_it() -> None:
    # A hashed sample must pick the same rows on both engines: DuckDB's own hash (a UDF).
    sql = to_spark("SELECT * FROM t WHERE hash(coalesce(f, ''), k) % 4 = 0").sql
    assert "PG_HASH(COALESCE(f, ''), k) % 4" in sql
    # Counting distinct tuples needs no particular hash: Spark's own, in the JVM.
    assert (
        "COUNT(DISTINCT XXHASH64(a, b))" in to_spark("SELECT count(DISTINCT hash(a, b)) FROM t").sql
    )


def test_update_and_star_replace_are_spelled_out() -> None:
    cols = {"n": ["raw", "e164", "ext"], "s": ["a", "b", "c"]}

    def columns(name: str, paths: list[str] | None) -> list[str]:
        return cols[name]

    r = to_spark("UPDATE n SET e164 = f.e164, ext = coalesce(n.ext, f.ext) FROM f "
                 "WHERE n.raw = f.raw", columns)  # fmt: skip
    assert (r.kind, r.name) == ("create_table", "n")
    assert "LEFT JOIN (SELECT *, TRUE AS __pg_hit FROM f) AS f ON n.raw = f.raw" in r.sql
    assert "CASE WHEN f.__pg_hit THEN COALESCE(n.ext, f.ext) ELSE n.ext END AS ext" in r.sql
    r = to_spark("SELECT x.* REPLACE (upper(x.b) AS b), 1 AS d FROM s x", columns)
    assert r.sql == "SELECT x.a, UPPER(x.b) AS b, x.c, 1 AS d FROM s AS x"
    with pytest.raises(EngineError):
        to_spark("SELECT x.* REPLACE (1 AS b) FROM s x")  # no way to list the columns


def test_ordered_list_sorts_on_spark() -> None:
    # collect_list has no order: sqlglot drops list()'s ORDER BY silently.
    sql = to_spark("SELECT list(struct_pack(m := m, n := n) ORDER BY m) FROM t").sql
    assert "ARRAY_SORT(COLLECT_LIST(STRUCT(m AS k0, STRUCT(m AS m, n AS n) AS v)))" in sql


def test_isodow_is_weekday_plus_one() -> None:
    # sqlglot's own rendering (dayofweek % 7 + 1) makes Sunday 2: the layer must replace it.
    sql = to_spark("SELECT isodow(lt) FROM t").sql
    assert "WEEKDAY(lt) + 1" in sql and "DAYOFWEEK" not in sql.upper()


def test_epoch_keeps_fractions_of_a_second() -> None:
    sql = to_spark("SELECT epoch(start_utc) FROM t").sql
    assert "UNIX_MICROS" in sql and "UNIX_TIMESTAMP" not in sql


def test_read_parquet_is_lifted_to_a_view() -> None:
    r = to_spark("SELECT * FROM read_parquet(['/a.parquet', '/b.parquet']) s")
    [(name, paths)] = r.parquet.items()
    assert paths == ["/a.parquet", "/b.parquet"] and name in r.sql


def test_temp_table_and_drop_are_recognized() -> None:
    assert to_spark("CREATE OR REPLACE TEMP TABLE x AS SELECT 1 AS a").kind == "create_table"
    assert to_spark("CREATE OR REPLACE TEMP VIEW v AS SELECT 1 AS a").kind == "create_view"
    r = to_spark("DROP TABLE IF EXISTS x")
    assert (r.kind, r.name) == ("drop", "x")


def test_strptime_in_a_case_branch_sees_only_that_branchs_rows() -> None:
    """Spark runs a Python UDF on every row before CASE picks a branch: each branch's
    parse gets NULL (skipped by the UDF) on the rows another branch takes."""
    sql = to_spark(
        "SELECT CASE WHEN t IN (1) THEN try_strptime(s, ['%Y']) "
        "WHEN t IN (2) THEN coalesce(try_strptime(s, ['%d']), NULL) END FROM x"
    ).sql
    assert "PG_STRPTIME(CASE WHEN t IN (1) THEN s END, '%Y')" in sql
    assert "PG_STRPTIME(CASE WHEN t IN (2) THEN s END, '%d')" in sql
    # Outside a CASE, every row is parsed.
    assert "PG_STRPTIME(s, '%Y')" in to_spark("SELECT try_strptime(s, '%Y') FROM x").sql


def test_cte_read_twice_that_calls_a_udf_is_computed_once() -> None:
    r = to_spark(
        "WITH t AS (SELECT hash(a) AS h FROM x), once AS (SELECT a FROM x), "
        "u AS (SELECT * FROM t UNION ALL SELECT * FROM t) "
        "SELECT * FROM u, once, t WHERE t.h = 1"
    )
    [(name, body)] = r.before
    assert name.startswith("_pg_cte_") and "PG_HASH(a)" in body
    assert r.sql.count(f"{name} AS t") == 3 and "PG_HASH" not in r.sql
    assert "once AS (SELECT a FROM x)" in r.sql  # read once, no UDF: left inline
    assert to_spark("WITH t AS (SELECT hash(a) AS h FROM x) SELECT * FROM t").before == []


def test_spark_conf_is_validated() -> None:
    assert parse_conf_args(["spark.executor.memory=8g"]) == {"spark.executor.memory": "8g"}
    with pytest.raises(SettingsError) as info:
        parse_conf_args(["nokey", "foo=1", "spark.sql.session.timeZone=America/Chicago"])
    assert len(info.value.problems) == 3


def test_case_file_spark_table() -> None:
    s = parse_settings({"spark": {"master": "local[1]", "conf": {"spark.executor.memory": "2g"}}})
    merged = s.spark.merged(SparkOptions(None, {"spark.executor.cores": "2"}))
    assert merged.master == "local[1]"
    assert merged.conf == {"spark.executor.memory": "2g", "spark.executor.cores": "2"}
    with pytest.raises(SettingsError):
        parse_settings({"spark": {"mastr": "x", "conf": {"executor.memory": "2g"}}})
    # Spark's own reading of delimited text: on unless the case file turns it off.
    assert merged.native_reads
    off = parse_settings({"spark": {"native_reads": False}}).spark
    assert not off.merged(SparkOptions("local[2]")).native_reads
    with pytest.raises(SettingsError, match="native_reads must be true or false"):
        parse_settings({"spark": {"native_reads": "no"}})


def test_cli_refuses_spark_options_without_the_spark_engine(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-c", "from privguard.cli import main; main()", "audit", str(tmp_path),
         "--out", str(tmp_path / "o"), "--spark-conf", "spark.executor.memory=1g"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(SRC)},
    )  # fmt: skip
    assert r.returncode == 2 and "--engine spark" in r.stderr


def test_submit_command_shape() -> None:
    cmd = submit_command(["dump", "--out", "o"], master="local[2]", conf=CONF)
    assert cmd[:3] == ["spark-submit", "--master", "local[2]"]
    assert "spark.sql.shuffle.partitions=2" in cmd
    assert cmd[-6:] == [cmd[-6], "audit", "dump", "--out", "o", "--engine", "spark"][-6:]
    assert Path(cmd[cmd.index("audit") - 1]).is_file()


# --- a real local Spark ---------------------------------------------------------------------
# make test installs pyspark (the bench extra); without it these are skipped, and say so.
_NO_PYSPARK = importlib.util.find_spec("pyspark") is None
spark = pytest.mark.spark
slow = pytest.mark.slow
needs_pyspark = pytest.mark.skipif(
    _NO_PYSPARK, reason="pyspark is not installed: pip install -e '.[spark]'"
)


def _kw(leak: Path) -> dict:
    d = leak / "directory"
    return {
        "directories": [d / "bar_directory.csv", d / "public_defenders.xlsx"],
        "registries": [leak / "registry" / "do_not_record.csv"],
    }


@pytest.fixture(scope="module")
def audits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One generated leak audited on DuckDB and on local Spark."""
    base = tmp_path_factory.mktemp("spark")
    privguard.synth(base / "leak", calls=2000, seed=11)
    out = {}
    for engine in ("duckdb", "spark"):
        privguard.audit(
            base / "leak" / "dump",
            base / engine,
            engine=engine,
            spark=SparkOptions("local[2]", CONF),
            **_kw(base / "leak"),
        )
        out[engine] = base / engine
    out["leak"] = base / "leak"
    return out


@spark
@slow
@needs_pyspark
@pytest.mark.parametrize("name", OUTPUT_TABLES)
def test_tables_equal_row_for_row(audits: dict[str, Path], name: str) -> None:
    a = pq.read_table(audits["duckdb"] / "restricted" / name)
    b = pq.read_table(audits["spark"] / "restricted" / name)
    assert plain_schema(a.schema) == plain_schema(b.schema)
    assert a.num_rows == b.num_rows and a.num_rows > 0
    # Both files are written in their query's order: compared as they are, not re-sorted.
    for col in a.column_names:
        assert a[col].to_pylist() == b[col].to_pylist(), col


@spark
@slow
@needs_pyspark
def test_spark_read_the_text_tables_itself(audits: dict[str, Path]) -> None:
    """The equality above went through Spark's own reading of CSV/TSV and JSON lines."""
    work = Path("restricted") / "work" / "ingest_report.json"
    tables = json.loads((audits["spark"] / work).read_text())["tables"]
    text = [t for t in tables if t["format"] in ("csv", "tsv", "jsonl")]
    converted = [(t["file"], t.get("reader_note")) for t in text if t["reader"] != "spark"]
    assert len(text) >= 30 and not converted, converted
    assert sum(t["format"] == "jsonl" for t in text) >= 10
    delimited = [t for t in text if t["format"] != "jsonl"]
    assert sum(t["rows_rejected"] for t in delimited) >= 3  # set-aside records, read natively
    latin1 = [
        t
        for t in delimited
        if any(w in ("read as latin-1", "read as windows-1252") for w in t["warnings"])
    ]
    assert latin1  # latin-1 text (TSV and CSV), read natively
    assert {t["reader"] for t in tables if t["format"] == "xlsx"} == {"duckdb"}
    # A DuckDB audit's report is as it was: no reader field.
    assert all(
        "reader" not in t for t in json.loads((audits["duckdb"] / work).read_text())["tables"]
    )


@spark
@slow
@needs_pyspark
def test_summary_and_findings_equal(audits: dict[str, Path]) -> None:
    a, b = audits["duckdb"], audits["spark"]
    sa = json.loads((a / "shareable" / "summary.json").read_text())
    assert sa["privileged_calls"] > 0 and sa["registry_violations"] > 0  # not a vacuous test
    files = ["shareable/summary.json", "restricted/privileged_calls.csv", "restricted/review.csv"]
    files += ["restricted/dedupe_report.json"]
    files += [str(p.relative_to(a)) for p in sorted((a / "restricted" / "findings").glob("*.csv"))]
    # The tables by facility, month and number live once, in the shareable exports (issue 13).
    files += [str(p.relative_to(a)) for p in sorted((a / "shareable" / "exports").glob("*.csv"))]
    assert len(files) >= 8
    for rel in files:
        assert filecmp.cmp(a / rel, b / rel, shallow=False), rel


@spark
@slow
@needs_pyspark
def test_regex_and_weekdays_on_real_spark(tmp_path: Path) -> None:
    """The two traps, checked on engine output: a back-reference and ISO weekdays."""
    sql = (
        r"SELECT regexp_replace('2125550100.0', '^([0-9]{7,15})\.0+$', '\1') AS a, "
        r"regexp_replace('a$b', '(a)\$', '\1-', 'g') AS b, "
        r"regexp_replace('P.M. A.M. AM', 'A\.M\.?', 'AM') AS c, "
        r"regexp_replace('2125550100 X 12 X 3', '\s*(X)\s*([0-9]{1,6})', '<\2>') AS e, "
        r"regexp_replace(regexp_replace('ab12 cd34', '[0-9]', '9', 'g'), '[a-z]', 'a', 'g') AS f, "
        r"regexp_replace(regexp_replace('1 A.M. 2 P.M.', 'A\.M\.?', 'AM'), 'P\.M\.?', 'PM') AS g, "
        "list(isodow(d) ORDER BY d) AS w FROM (SELECT DATE '2024-12-01' + CAST(i AS INTEGER) AS d "
        "FROM range(7) t(i))"
    )
    duck, sp = connect(), connect(engine="spark", spark=SparkOptions("local[2]", CONF))
    try:
        expected = duck.fetchall(sql)
        # Spark has no range(7) table function with DuckDB's column name: a VALUES list.
        spark_sql = sql.replace("range(7) t(i)", "(VALUES (0), (1), (2), (3), (4), (5), (6)) t(i)")
        got = sp.fetchall(spark_sql)
    finally:
        duck.close()
        sp.close()
    assert expected == [
        (
            "2125550100",
            "a-b",
            "P.M. AM AM",
            "2125550100<12> X 3",
            "aa99 aa99",
            "1 AM 2 PM",
            [7, 1, 2, 3, 4, 5, 6],
        )
    ]
    assert [tuple(list(v) if isinstance(v, list) else v for v in r) for r in got] == expected


@spark
@slow
@needs_pyspark
def test_normalize_on_spark_equals_duckdb(audits: dict[str, Path]) -> None:
    """The audit's normalize ran on Spark (--engine spark): its outputs equal DuckDB's."""
    a, b = (audits[e] / "restricted" / "work" for e in ("duckdb", "spark"))
    ta, tb = pq.read_table(a / "normalized.parquet"), pq.read_table(b / "normalized.parquet")
    assert plain_schema(ta.schema) == plain_schema(tb.schema) and ta.num_rows == tb.num_rows > 0
    for col in ta.column_names:
        assert ta[col].to_pylist() == tb[col].to_pylist(), col
    assert filecmp.cmp(a / "set_aside.csv", b / "set_aside.csv", shallow=False)
    ra = json.loads((a / "normalize_report.json").read_text())
    assert ra["totals"]["tables_zone_inferred"] > 0  # inference ran, not only given zones
    assert ra == json.loads((b / "normalize_report.json").read_text())


@spark
@slow
@needs_pyspark
def test_duckdb_functions_on_real_spark() -> None:
    """Hash samples, time formats and zone rules (twice-occurring and skipped wall-clock
    times) give DuckDB's values on Spark, through the dialect layer's rendering."""
    values = ("VALUES ('11/03/2024 01:30 AM', 'America/Chicago', 1), "
              "('03/10/2024 02:30 AM', 'America/New_York', 2), ('31-DEC-24 23:59', 'UTC', 3), "
              "('1/2/24 3:04 PM', 'America/Anchorage', 4), ('nonsense', NULL, 5)")  # fmt: skip
    sql = f"""SELECT k, hash(s, k) % 1000 AS h, hash(s) % 7 = 0 AS pick,
           try_strptime(s, ['%m/%d/%Y %I:%M %p', '%d-%b-%y %H:%M', '%m/%d/%y %I:%M %p']) AS t,
           timezone('UTC', timezone(z, try_strptime(s, '%m/%d/%Y %I:%M %p'))) AS u
        FROM ({values}) v(s, z, k) ORDER BY k"""
    duck, sp = connect(), connect(engine="spark", spark=SparkOptions("local[2]", CONF))
    try:
        expected, got = duck.fetchall(sql), sp.fetchall(sql)
    finally:
        duck.close()
        sp.close()
    assert expected[0][4] is not None and expected[2][3] is not None  # not vacuous
    assert [tuple(int(v) if k == 1 else v for k, v in enumerate(r)) for r in got] == expected


@spark
@slow
@needs_pyspark
def test_dedupe_skew_sample_is_the_same_keys(tmp_path: Path) -> None:
    """Dedupe's skew pass past ~1 M rows keeps 1 key in N by a hash: the same keys on Spark."""
    from privguard.internals.audit.dedupe.sql import sample_sql
    from privguard.internals.audit.sql import parquet_source

    n = 3000
    pq.write_table(
        pa.table({
            "facility": [None if i % 11 == 0 else f"F{i % 7}" for i in range(n)],
            "number_key": [None if i % 13 == 0 else f"+1212555{i:04d}" for i in range(n)],
            "row": list(range(n)),
        }),
        tmp_path / "keys.parquet",
    )  # fmt: skip
    sql = f"SELECT row FROM {sample_sql(parquet_source(tmp_path / 'keys.parquet'), 8)} ORDER BY row"
    duck, sp = connect(), connect(engine="spark", spark=SparkOptions("local[2]", CONF))
    try:
        expected, got = duck.fetchall(sql), sp.fetchall(sql)
    finally:
        duck.close()
        sp.close()
    assert 0 < len(expected) < n // 4  # a sample, not everything or nothing
    assert got == expected


@spark
@slow
@needs_pyspark
def test_spark_submit_runs_the_audit(audits: dict[str, Path], tmp_path: Path) -> None:
    leak, out = audits["leak"], tmp_path / "submitted"
    kw = _kw(leak)
    args = [str(leak / "dump"), "--out", str(out)]
    args += [x for p in kw["directories"] for x in ("--directory", str(p))]
    args += [x for p in kw["registries"] for x in ("--registry", str(p))]
    submit = str(Path(sys.executable).parent / "spark-submit")
    cmd = submit_command(args, master="local[2]", conf=CONF, spark_submit=submit)
    env = {**os.environ, "PYTHONPATH": str(SRC), "PYSPARK_PYTHON": sys.executable}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    for name in ("calls", "numbers"):
        a = pq.read_table(audits["duckdb"] / "restricted" / f"{name}.parquet")
        b = pq.read_table(out / "restricted" / f"{name}.parquet")
        assert plain_table(a).equals(plain_table(b)), name
    rel = "shareable/summary.json"
    assert filecmp.cmp(audits["duckdb"] / rel, out / rel, shallow=False)

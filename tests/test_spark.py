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
from privguard.internals.audit.engines.spark import (
    SparkOptions,
    parse_conf_args,
    submit_command,
)
from privguard.internals.audit.settings import parse_settings

SRC = Path(__file__).resolve().parents[1] / "src"
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


def test_first_match_only_replace_is_refused() -> None:
    # sqlglot renders DuckDB's first-match replace as Spark's replace-all, silently.
    with pytest.raises(EngineError):
        to_spark(r"SELECT regexp_replace(x, 'A\.M\.?', 'AM') FROM t")
    assert "REGEXP_REPLACE" in to_spark("SELECT regexp_replace(x, '^0+', '') FROM t").sql
    assert "REGEXP_REPLACE" in to_spark("SELECT regexp_replace(x, '[^0-9]', '', 'g') FROM t").sql


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


def _plain(schema: pa.Schema) -> pa.Schema:
    """The schema without NOT NULL flags (DuckDB marks some columns required, Spark not)."""

    def f(t: pa.DataType) -> pa.DataType:
        if pa.types.is_list(t):
            return pa.list_(f(t.value_type))
        if pa.types.is_struct(t):
            return pa.struct([pa.field(x.name, f(x.type)) for x in t])
        return t

    return pa.schema([pa.field(x.name, f(x.type)) for x in schema])


@spark
@slow
@needs_pyspark
@pytest.mark.parametrize("name", OUTPUT_TABLES)
def test_tables_equal_row_for_row(audits: dict[str, Path], name: str) -> None:
    a = pq.read_table(audits["duckdb"] / "restricted" / name)
    b = pq.read_table(audits["spark"] / "restricted" / name)
    assert _plain(a.schema) == _plain(b.schema)
    assert a.num_rows == b.num_rows and a.num_rows > 0
    # Both files are written in their query's order: compared as they are, not re-sorted.
    for col in a.column_names:
        assert a[col].to_pylist() == b[col].to_pylist(), col


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
    assert expected == [("2125550100", "a-b", [7, 1, 2, 3, 4, 5, 6])]
    assert [tuple(list(v) if isinstance(v, list) else v for v in r) for r in got] == expected


@spark
@slow
@needs_pyspark
@pytest.mark.xfail(
    strict=True,
    reason="normalize's SQL has no Spark rendering yet (list lambdas, try_strptime over a "
    "list of formats, UPDATE ... FROM, SELECT * REPLACE); with --engine spark it runs on DuckDB",
)
def test_normalize_on_spark_equals_duckdb(audits: dict[str, Path], tmp_path: Path) -> None:
    from privguard.internals.audit.ingest.api import ingest
    from privguard.internals.audit.normalize.api import normalize

    work = tmp_path / "work"
    ingest(audits["leak"] / "dump", work)
    ex = connect(engine="spark", spark=SparkOptions("local[2]", CONF))
    try:
        normalize(work, executor=ex)
    finally:
        ex.close()
    a = pq.read_table(audits["duckdb"] / "restricted" / "work" / "normalized.parquet")
    assert a.equals(pq.read_table(work / "normalized.parquet"))


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
        assert a.cast(_plain(a.schema)).equals(b.cast(_plain(b.schema))), name
    rel = "shareable/summary.json"
    assert filecmp.cmp(audits["duckdb"] / rel, out / rel, shallow=False)

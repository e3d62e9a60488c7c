"""Apache Spark behind the :class:`Executor` protocol, for audits bigger than one machine.

Stages hand it DuckDB-dialect SQL; :mod:`.dialect` renders each statement for Spark.
Temp tables are materialized to Parquet in the scratch folder (as DuckDB's spill out
of core), temp views stay plans, and every output is written as ONE Parquet file in
the query's order, so downstream readers see the same file shape as with DuckDB.
pyspark is an optional dependency (``pip install 'privguard[spark]'``).
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from privguard.errors import EngineError
from privguard.internals.audit.engines import spark_udfs
from privguard.internals.audit.engines.base import EngineOptions
from privguard.internals.audit.engines.dialect import PRINTF_UDF, Rendered, to_spark
from privguard.internals.audit.engines.spark_options import DEFAULT_CONF, FIXED_CONF, SparkOptions

log = logging.getLogger(__name__)
T = TypeVar("T")


def _session(options: SparkOptions) -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise EngineError(
            "the Spark engine needs pyspark, which is not installed",
            fix="pip install 'privguard[spark]' (pyspark 3.5 or later and Java 17)",
        ) from exc
    # Python workers (the printf function) must run this interpreter, which has privguard.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark import SparkConf

    # Under spark-submit, its --master and --conf are already in the JVM's properties:
    # they win over privguard's defaults; a master given to privguard wins over both.
    given = SparkConf()
    builder = SparkSession.builder.appName("privguard audit")
    if options.master:
        builder = builder.master(options.master)
    elif not given.contains("spark.master"):
        builder = builder.master("local[2]")
    for key, value in DEFAULT_CONF.items():
        if not given.contains(key):
            builder = builder.config(key, value)
    for key, value in options.conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    for key, value in FIXED_CONF.items():
        session.conf.set(key, value)
    session.sparkContext.setLogLevel("ERROR")
    from pyspark.sql.types import StringType

    session.udf.register(PRINTF_UDF, _printf, StringType())
    spark_udfs.register(session)
    return session


def _printf(fmt: str | None, *values: float | None) -> str | None:
    """C's printf (DuckDB's): exact binary value, ties to even; NULL in, NULL out."""
    if fmt is None or any(v is None for v in values):
        return None
    return fmt % values


class SparkExecutor:
    """Executes the stages' SQL on a Spark session, logging each statement's time."""

    # No: Spark sizes row groups by bytes, not rows, so parts would not give the one sort's
    # file, and parquet_schema() is DuckDB's. Spark's own sort spills task by task anyway.
    sorted_parts = False
    # No: stream_arrow collects the whole result to the driver, then slices it.
    streams_in_order = False
    # No: Spark SQL has no COPY statement, and its partitioned writer names its own files.
    partitioned_copy = False

    def __init__(self, options: EngineOptions, spark: SparkOptions | None = None) -> None:
        self.options = options
        self.spark_options = spark or SparkOptions()
        self.session = _session(self.spark_options)
        base = options.temp_directory
        if base:
            Path(base).mkdir(parents=True, exist_ok=True)
        self._scratch = Path(tempfile.mkdtemp(prefix="privguard-spark-", dir=base))
        self._views: set[str] = set()
        self._n = 0

    # --- statements ---------------------------------------------------------------------
    def _render(self, sql: str) -> Rendered:
        r = to_spark(sql, self._columns_of)
        for name, paths in r.parquet.items():
            self._read_parquet(name, paths)
        for name, body in r.before:  # CTEs read more than once that call a Python UDF
            self._materialize(name, body)
        return r

    def _materialize(self, name: str, sql: str) -> None:
        """``sql``'s result computed once, written to scratch Parquet, read back as ``name``."""
        self._n += 1
        where = self._scratch / f"{name}_{self._n}"
        df = self._run(lambda: self.session.sql(sql), sql)
        self._run(lambda: df.write.mode("overwrite").parquet(str(where)), sql)
        self.session.read.parquet(str(where)).createOrReplaceTempView(name)

    def _read_parquet(self, name: str, paths: list[str]) -> None:
        # Spark skips files named _x or .x (its own markers), even when named explicitly:
        # such a file (normalize's _normalize_stage.parquet) is read through a link.
        visible = []
        for path in paths:
            if Path(path).name.startswith(("_", ".")):
                self._n += 1
                link = self._scratch / f"link_{self._n}_{Path(path).name.lstrip('_.')}"
                link.symlink_to(Path(path).resolve())
                path = str(link)
            visible.append(path)
        # Columns matched by name across files, as DuckDB's union_by_name.
        reader = self.session.read.option("mergeSchema", "true")
        reader.parquet(*visible).createOrReplaceTempView(name)

    def _columns_of(self, name: str, paths: list[str] | None) -> list[str]:
        if paths:
            self._read_parquet(name, paths)
        return list(self.session.table(name).columns)

    def _df(self, sql: str) -> Any:
        r = self._render(sql)
        if r.kind != "query":
            raise EngineError(f"expected a query, got {r.kind}", fix="report this as a bug")
        return self._run(lambda: self.session.sql(r.sql), r.sql)

    def _run(self, fn: Any, sql: str) -> Any:
        started = time.perf_counter()
        try:
            result = fn()
        except Exception as exc:  # py4j and pyspark raise many kinds; all are the engine's
            if isinstance(exc, EngineError):
                raise
            log.debug("failed Spark SQL:\n%s", sql)
            text = " ".join(str(exc).split())[:600] or type(exc).__name__
            raise EngineError(
                f"Spark failed: {text}",
                fix="report this as a bug with the log (privguard -v)",
            ) from exc
        log.debug("%.3fs spark %s", time.perf_counter() - started, " ".join(sql.split())[:200])
        return result

    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        if params:
            raise EngineError("the Spark engine takes no parameters", fix="report this as a bug")
        r = self._render(sql)
        if r.kind == "drop":
            self.session.catalog.dropTempView(r.name)
        elif r.kind == "create_view":
            # By SQL, not a DataFrame's plan: the view resolves the names it reads each time
            # it is queried, as DuckDB's do (normalize re-registers _pg_table_zones under a
            # view while it infers zones).
            create = f"CREATE OR REPLACE TEMPORARY VIEW `{r.name}` AS {r.sql}"
            self._run(lambda: self.session.sql(create), create)
        elif r.kind == "create_table":
            # A temp table is computed once: written to scratch Parquet, read back.
            self._materialize(str(r.name), r.sql)
        else:
            self._run(lambda: self.session.sql(r.sql).collect(), r.sql)

    def fetchall(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        if params:
            raise EngineError("the Spark engine takes no parameters", fix="report this as a bug")
        df = self._df(sql)
        return [tuple(row) for row in self._run(df.collect, sql)]

    def fetch_arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        df = self._df(sql)
        return self._run(df.toArrow, sql)

    def stream_arrow(self, sql: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
        # Spark collects to the driver here: the report stage, which streams, runs on DuckDB.
        yield from self.fetch_arrow(sql).to_batches(batch_rows)

    def register_arrow(self, name: str, table: pa.Table) -> None:
        # Through a Parquet file: Spark takes the Arrow types as they are, empty tables too.
        self._n += 1
        where = self._scratch / f"arrow_{name}_{self._n}.parquet"
        pq.write_table(table, where)
        self.session.read.parquet(str(where)).createOrReplaceTempView(name)

    def map_files(self, paths: Sequence[str], fn: Callable[[int, bytes], T]) -> list[tuple[int, T]]:
        """Spark reads each file itself and runs ``fn(k, its bytes)`` on a worker.

        ``k`` is the file's position in ``paths``. Files go through Spark's ``binaryFile``
        source (any file system Spark reads), whole: a task a file, several files a task.
        Returns ``(k, result)`` for every file Spark read; a file it skipped is absent.
        """
        if not paths:
            return []
        resolved = [str(Path(p).resolve()) for p in paths]
        index = {p: k for k, p in enumerate(resolved)}

        def run(row: Any) -> list[tuple[int, T]]:
            from urllib.parse import unquote

            # file:/x, file:///x or /x, maybe percent-encoded (not urlparse: a # or ; is
            # part of a file's name here).
            where = row.path.removeprefix("file:")
            where = "/" + where.lstrip("/") if where.startswith("/") else where
            for key in (where, unquote(where), row.path):
                if key in index:
                    return [(index[key], fn(index[key], bytes(row.content)))]
            return []

        what = f"binaryFile read of {len(paths)} file(s)"
        # No partition discovery: a dump's folders may look like key=value by chance.
        reader = self.session.read.format("binaryFile").option("recursiveFileLookup", "true")
        df = self._run(lambda: reader.load(resolved), what)
        rdd = df.select("path", "content").rdd.flatMap(run)
        return list(self._run(rdd.collect, what))

    def copy_to_parquet(self, sql: str, path: Path) -> int:
        """One Parquet file in the query's order (Spark writes a folder of parts: merged)."""
        df = self._df(sql)
        self._n += 1
        parts = self._scratch / f"out_{self._n}"
        # coalesce(1) keeps a sorted result's order (partitions are concatenated in order).
        self._run(lambda: df.coalesce(1).write.mode("overwrite").parquet(str(parts)), sql)
        files = sorted(parts.glob("part-*.parquet"))
        path.parent.mkdir(parents=True, exist_ok=True)
        if len(files) == 1:
            shutil.move(str(files[0]), path)
        else:  # an empty result may leave no part: write its schema
            pq.write_table(pq.read_schema(files[0]).empty_table() if files else pa.table({}), path)
        shutil.rmtree(parts, ignore_errors=True)
        return int(pq.ParquetFile(path).metadata.num_rows)

    def columns(self, sql: str) -> list[tuple[str, str]]:
        """(name, type) of a query's result; text columns are ``VARCHAR`` as DuckDB names them."""
        df = self._df(sql)
        return [
            (f.name, "VARCHAR" if f.dataType.typeName() == "string" else f.dataType.simpleString())
            for f in df.schema.fields
        ]

    def copy_to_csv(self, sql: str, path: Path) -> None:
        """The query's rows as CSV the way DuckDB's COPY writes them (header, LF, minimal quotes)."""
        df = self._df(sql)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(df.columns)
            for row in self._run(df.toLocalIterator, sql):
                writer.writerow([_csv_value(v) for v in row])

    def close(self) -> None:
        shutil.rmtree(self._scratch, ignore_errors=True)
        for name in self.session.catalog.listTables():
            if name.isTemporary:
                self.session.catalog.dropTempView(name.name)


def _csv_value(value: Any) -> str:
    """One value as DuckDB's CSV writer prints it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

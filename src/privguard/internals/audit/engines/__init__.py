"""Engine-specific code lives here and only here.

Stages build SQL with pure functions (see :mod:`privguard.internals.audit.sql`) and
hand it to an :class:`Executor`. DuckDB is the default; Spark (:mod:`.spark`) plugs in
by implementing the same small protocol, its dialect differences in :mod:`.dialect`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from privguard.errors import EngineError
from privguard.internals.audit.engines.base import EngineOptions, Executor

if TYPE_CHECKING:
    from privguard.internals.audit.engines.spark_options import SparkOptions

ENGINES = ("duckdb", "spark")


def connect(
    options: EngineOptions | None = None,
    *,
    engine: str = "duckdb",
    spark: SparkOptions | None = None,
) -> Executor:
    """Return an executor: embedded DuckDB (default) or a Spark session (``engine="spark"``)."""
    if engine == "spark":
        try:
            from privguard.internals.audit.engines.spark import SparkExecutor
        except ImportError as exc:  # the optional privguard[spark] dependencies
            raise EngineError(
                f"the Spark engine needs pyspark and sqlglot, which are not installed ({exc})",
                fix="pip install 'privguard[spark]' (pyspark 3.5 or later and Java 17), "
                "or leave out --engine spark to audit with DuckDB",
            ) from None

        return SparkExecutor(options or EngineOptions(), spark)
    from privguard.internals.audit.engines.duckdb import DuckDBExecutor

    return DuckDBExecutor(options or EngineOptions())


@contextmanager
def session(executor: Executor | None = None) -> Iterator[Executor]:
    """Every stage's one opening: the caller's ``executor``, left open for the caller, or a
    new default one, closed when the block ends (also on an error)."""
    if executor is not None:
        yield executor
        return
    own = connect()
    try:
        yield own
    finally:
        own.close()


__all__ = ["ENGINES", "EngineOptions", "Executor", "connect", "session"]

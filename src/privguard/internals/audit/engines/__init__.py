"""Engine-specific code lives here and only here.

Stages build SQL with pure functions (see :mod:`privguard.internals.audit.sql`) and
hand it to an :class:`Executor`. DuckDB is the default; another engine
(Spark) plugs in by implementing the same small protocol.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from privguard.internals.audit.engines.base import EngineOptions, Executor


def connect(options: EngineOptions | None = None) -> Executor:
    """Return the default executor (embedded DuckDB)."""
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


__all__ = ["EngineOptions", "Executor", "connect", "session"]

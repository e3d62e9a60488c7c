"""Engine-specific code lives here and only here.

Stages build SQL with pure functions (see :mod:`privguard.internals.audit.sql`) and
hand it to an :class:`Executor`. DuckDB is the default; another engine
(Spark) plugs in by implementing the same small protocol.
"""

from __future__ import annotations

from privguard.internals.audit.engines.base import EngineOptions, Executor


def connect(options: EngineOptions | None = None) -> Executor:
    """Return the default executor (embedded DuckDB)."""
    from privguard.internals.audit.engines.duckdb import DuckDBExecutor

    return DuckDBExecutor(options or EngineOptions())


__all__ = ["EngineOptions", "Executor", "connect"]

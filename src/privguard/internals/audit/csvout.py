"""Write a query's result as a spreadsheet-safe CSV file (every stage's CSV goes here)."""

from __future__ import annotations

from pathlib import Path

from privguard.internals.audit.engines.base import Executor
from privguard.internals.audit.sql import csv_safe_sql


def write_safe_csv(ex: Executor, query: str, path: Path, *, order_by: str) -> None:
    """``COPY`` ``query`` to ``path`` with every text column neutralized (``sql.neutralize``).

    The column types come from the engine (``DESCRIBE``), so a new text column of a
    query is made safe without anyone listing it. ``order_by`` repeats the query's order
    on its output column names."""
    columns = [(str(n), str(t)) for n, t in ex.columns(query)]
    ex.copy_to_csv(csv_safe_sql(query, columns, order_by=order_by), path)

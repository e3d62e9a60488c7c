"""Engine failures caused by the machine reach the user with a fix they can apply."""

from __future__ import annotations

import pytest

from privguard.errors import EngineError
from privguard.internals.audit.engines import EngineOptions, connect


def test_out_of_memory_names_the_limit_and_the_fix() -> None:
    ex = connect(EngineOptions(memory_limit="16MB", threads=1))
    try:
        with pytest.raises(EngineError) as info:
            ex.fetchall("SELECT string_agg(repeat('x', 200), '') FROM range(2000000)")
    finally:
        ex.close()
    err = info.value
    assert "ran out of memory" in err.message
    assert err.where == "memory_limit 16MB"
    assert "memory_limit" in (err.fix or "") and "bug" not in (err.fix or "")


def test_other_failures_are_still_reported_as_bugs() -> None:
    ex = connect()
    try:
        with pytest.raises(EngineError) as info:
            ex.fetchall("SELECT * FROM no_such_table")
    finally:
        ex.close()
    assert "report this as a bug" in (info.value.fix or "")


def test_an_error_raised_while_rows_are_fetched_is_translated() -> None:
    """DuckDB streams a result: a failure late in it surfaces in fetchall(), not in execute()."""
    ex = connect(EngineOptions(threads=1))
    late = (
        "SELECT i, CASE WHEN i > 9000000 THEN CAST('x' || i AS INTEGER) ELSE i END "
        "FROM range(10000000) t(i)"
    )
    try:
        with pytest.raises(EngineError) as info:
            ex.fetchall(late)
    finally:
        ex.close()
    assert "Conversion Error" in info.value.message

"""Shared fixtures: small in-memory engines and generated dumps."""

from __future__ import annotations

import pytest

from privguard.internals.engines import Executor, connect


@pytest.fixture
def engine() -> Executor:
    """An in-memory DuckDB executor, closed after the test."""
    ex = connect()
    yield ex  # type: ignore[misc]
    ex.close()

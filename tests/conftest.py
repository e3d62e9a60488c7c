"""Shared fixtures: small in-memory engines, generated dumps, and the prevention databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from privguard.internals.audit.engines import Executor, connect
from privguard.internals.prevention.db import make_engine, upgrade

# The server `make services` starts (scripts/services.sh creates the role).
PG_ADMIN_URL = os.environ.get(
    "PRIVGUARD_TEST_PG", "postgresql+psycopg://privguard:privguard@127.0.0.1:5432/postgres"
)


@pytest.fixture
def engine() -> Executor:
    """An in-memory DuckDB executor, closed after the test."""
    ex = connect()
    yield ex  # type: ignore[misc]
    ex.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped after the test."""
    name = f"pg_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated-to-nothing database URL, on SQLite and on PostgreSQL (every prevention test)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'privguard.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:
    """An engine on a database migrated to the newest schema, disposed after the test."""
    eng = make_engine(db_url)
    upgrade(eng)
    try:
        yield eng
    finally:
        eng.dispose()

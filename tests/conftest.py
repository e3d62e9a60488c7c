"""Shared fixtures: small in-memory engines, generated dumps, and the prevention databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from privguard.internals.audit.engines import Executor, connect
from privguard.internals.prevention.db import make_engine, upgrade

# The server `make services` starts (scripts/services.sh creates the role).
PG_ADMIN_URL = os.environ.get(
    "PRIVGUARD_TEST_PG", "postgresql+psycopg://privguard:privguard@127.0.0.1:5432/postgres"
)


# The one synthetic leak the audit tests share (as splink shares one session dataset): made
# once per session. Read it, never write into it: copy it first (shutil.copytree) to alter
# a file. Tests that need other sizes or settings (golden, dedupe end to end) make their own.
SYNTHETIC_LEAK = {"calls": 4000, "seed": 11}


def _tree_state(root: Path) -> list[tuple[str, int, int]]:
    return sorted(
        (str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file()
    )


@pytest.fixture(scope="session")
def synthetic_leak(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A small synthetic leak (``dump/``, ``directory/``, ``registry/``, ``truth/``), shared
    by every test of the session; fails at the end of the session if a test changed it."""
    from privguard.internals.synth.api import synth

    root = tmp_path_factory.mktemp("synthetic_leak")
    synth(root, **SYNTHETIC_LEAK)
    before = _tree_state(root)
    yield root
    assert _tree_state(root) == before, "a test wrote into the shared synthetic leak"


@pytest.fixture(scope="session")
def normalized_work(
    tmp_path_factory: pytest.TempPathFactory, synthetic_leak: Path
) -> Iterator[Path]:
    """The synthetic leak ingested and normalized on DuckDB: a work folder the dedupe-level
    tests read (their outputs go elsewhere); fails at the end if a test changed it."""
    from privguard.internals.audit.ingest.api import ingest
    from privguard.internals.audit.normalize.api import normalize

    work = tmp_path_factory.mktemp("normalized") / "work"
    ex = connect()
    try:
        ingest(synthetic_leak / "dump", work, executor=ex)
        normalize(work, executor=ex)
    finally:
        ex.close()
    before = _tree_state(work)
    yield work
    assert _tree_state(work) == before, "a test wrote into the shared normalized work folder"


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

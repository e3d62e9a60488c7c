"""The one database layer of the prevention wing: SQLAlchemy 2 engines and Alembic.

SQLite, in the data directory, is the embedded default so that nothing needs setting up;
PostgreSQL is for production, chosen by URL. The schema is owned by Alembic migrations
(``migrations/versions/``): :func:`upgrade` brings any database to the newest one, and the
tests run every migration on both engines. Each part of the wing (ledger, registry, auth,
decisions, vault) keeps its own Alembic branch (``branch_labels``, ``down_revision=None``,
``depends_on`` where it needs another part's tables), so parts grow without renumbering
each other, and :func:`upgrade` applies every branch head.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, LargeBinary, MetaData, Table, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from privguard.errors import PrivguardError

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"

# Constraint names fixed by convention, so that migrations name them the same on every engine.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table of the prevention wing."""

    metadata = MetaData(naming_convention=NAMING)


class DatabaseError(PrivguardError):
    """The database cannot be reached, or its schema is not the one this version expects."""

    exit_code = 4
    http_status = 503
    kind = "database_unavailable"


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers run beside the writer.
    cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    # The WAL is copied back into the database (a checkpoint) inside the commit that
    # crosses this many pages. SQLite's default, 1,000, made every ~110th group commit of
    # the decision log take ~13 ms instead of ~5 ms, and each record=true waiting behind it
    # waited as long; 100 pages spread that work into ten times as many short stalls
    # (measured at 2,000 decisions/s: p99 12.9 and 11.2 ms against 19.9 and 16.7 ms).
    cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
    cur.close()


WAL_AUTOCHECKPOINT = 100  # pages (see _sqlite_pragmas)


WRITER = {"privguard_immediate": True}  # execution options of a read-then-write engine


def _sqlite_begin(conn: Connection) -> None:
    # By default the driver opens a transaction at the first write, so reads before it hold
    # no snapshot: the service's request session can read while the access and decision
    # logs commit in sessions of their own. A transaction that reads, then writes after
    # another writer committed, would fail at once with "database is locked" (its snapshot
    # is stale, so waiting cannot help); read-then-write work under concurrency runs on
    # writer(engine), whose BEGIN takes the write lock so writers queue (busy_timeout).
    if conn.get_execution_options().get("privguard_immediate"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def writer(engine: Engine) -> Engine:
    """``engine`` whose SQLite transactions take the write lock at BEGIN (same pool)."""
    return engine.execution_options(**WRITER)


POOL_OVERFLOW = 50  # connections beyond the 10 kept open (see make_engine)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; a SQLite file's folder is created if needed."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    # The pool must hold more connections than the service's request threads (Starlette's
    # pool: 40) plus the log writers: a request keeps its session until its dependencies
    # are torn down, and that teardown needs a free thread; with fewer connections than
    # threads, threads waiting for a connection starve the teardowns that would free one
    # (measured: POST /v1/decisions stalled 30 s at 200/s with 64 clients, pool of 15).
    pooled = not url.startswith("sqlite:///:memory:") and url != "sqlite://"
    extra: dict[str, int] = {"pool_size": 10, "max_overflow": POOL_OVERFLOW} if pooled else {}
    engine = create_engine(url, future=True, **extra)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Apply every Alembic migration up to ``revision`` (every branch head) on ``engine``."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except SQLAlchemyError as exc:
        raise DatabaseError(
            f"the database could not be migrated: {exc.__class__.__name__}: {exc}",
            where=engine.url.render_as_string(hide_password=True),
            fix="check that the database server is running and the URL and its user are right",
        ) from None


def sessions(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine`` (objects stay usable after commit)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed on success, rolled back on any error."""
    with factory() as session, session.begin():
        yield session


_PREPARED: dict[tuple[str, str, tuple[str, ...]], tuple[str, list[Any]]] = {}


def insert_many(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (each naming the same columns) in the session's transaction with the
    driver's own ``executemany``.

    The hot writers (the decision log's group commit, ledger appends) insert a few rows per
    transaction thousands of times a second. Through ``session.execute(insert(table), rows)``
    SQLAlchemy spent about 100 µs of CPU per statement on its statement cache, execution
    context and one bind processor call per value; here the SQL is rendered once per table,
    columns and dialect, and only the columns whose type needs it are converted (SQLite's
    date-times, as SQLAlchemy itself writes them; bytes go to both drivers as they are).
    Same rows, same transaction, same errors for the caller to handle (the driver's own).
    """
    if not rows:
        return
    if len(rows[0]) < 2:
        raise ValueError("insert_many needs rows of two columns or more")
    conn = session.connection()
    dialect = conn.dialect
    names = tuple(rows[0])
    key = (dialect.name, table.name, names)
    found = _PREPARED.get(key)
    if found is None:
        quote = dialect.identifier_preparer.quote
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
            f"VALUES ({', '.join([mark] * len(names))})"
        )
        types = [table.c[n].type for n in names]
        procs = [
            None if isinstance(t, LargeBinary) else t.dialect_impl(dialect).bind_processor(dialect)
            for t in types
        ]
        found = _PREPARED[key] = (sql, procs)
    sql, procs = found
    values = itemgetter(*names)
    if any(procs):
        params = [
            tuple(v if p is None else p(v) for v, p in zip(values(row), procs, strict=True))
            for row in rows
        ]
    else:
        params = [values(row) for row in rows]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, params)
    finally:
        cursor.close()


def driver_scalar(session: Session, sql: str, params: Sequence[Any]) -> Any:
    """Run one statement in the session's transaction with the driver's own cursor, as
    :func:`insert_many` does; the first column of its first row, or None without a row.

    ``sql`` is written with ``?`` marks (rewritten to ``%s`` for drivers that use those). For
    the hot writers' small statements: through ``session.execute`` SQLAlchemy spent about
    a sixth of a group commit's CPU on the one ``UPDATE ... RETURNING`` that claims the
    ledger's indexes (cProfile of ``DecisionLog.write``, batches of 4). Errors are the
    driver's own, as with :func:`insert_many`.
    """
    conn = session.connection()
    if conn.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, tuple(params))
        row = cursor.fetchone()
    finally:
        cursor.close()
    return None if row is None else row[0]

"""The prevention wing's database layer: migrations run, settings are checked up front."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect

from privguard.errors import SettingsError
from privguard.internals.prevention.db import DatabaseError, make_engine, sessions, upgrade
from privguard.internals.prevention.settings import load_service_settings


def test_migrations_reach_head_and_are_idempotent(db: Engine) -> None:
    upgrade(db)  # a second run changes nothing and does not fail
    assert "alembic_version" in inspect(db).get_table_names()


def test_unreachable_database_is_a_clear_error() -> None:
    eng = make_engine("postgresql+psycopg://nobody:x@127.0.0.1:1/none")
    with pytest.raises(DatabaseError) as err:
        upgrade(eng)
    assert err.value.fix and "database server" in err.value.fix
    assert "x@" not in (err.value.where or "")  # the password is never shown


def test_default_settings_need_no_setup(tmp_path: Path) -> None:
    cfg = load_service_settings(data_dir=tmp_path / "data")
    assert cfg.url == f"sqlite:///{(tmp_path / 'data' / 'privguard.db').resolve()}"
    assert cfg.key_file == tmp_path / "data" / "keys" / "signing.key"


def test_every_settings_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "case.toml"
    path.write_text(
        '[service]\nport = 0\ndatabase_url = "mysql://x"\ncolour = "red"\ndecision_timeout_ms = 0\n'
    )
    with pytest.raises(SettingsError) as err:
        load_service_settings(path)
    text = "\n".join(err.value.problems)
    assert "port" in text and "database_url" in text and "colour" in text
    assert "decision_timeout_ms: must be a whole number from 1 to 60000" in text
    path.write_text("[service]\ndecision_timeout_ms = 250\n")
    assert load_service_settings(path).decision_timeout_ms == 250


def test_sqlite_writers_queue_instead_of_failing(tmp_path: Path) -> None:
    """Read-then-write transactions on a writer engine: each waits its turn, none is 'locked'."""
    import threading

    from sqlalchemy import text

    from privguard.internals.prevention.db import writer

    eng = writer(make_engine(f"sqlite:///{tmp_path / 'w.db'}"))
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE c (n INTEGER)"))
        conn.execute(text("INSERT INTO c VALUES (0)"))
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(20):
                with eng.begin() as conn:
                    n = conn.execute(text("SELECT n FROM c")).scalar_one()
                    conn.execute(text("UPDATE c SET n = :n"), {"n": n + 1})
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with eng.connect() as conn:
        assert conn.execute(text("SELECT n FROM c")).scalar_one() == 80  # no lost update
    eng.dispose()


def test_a_log_commits_while_the_requests_session_is_open(tmp_path: Path) -> None:
    """The service's pattern: a request reads in its session, a log commits in another."""
    from sqlalchemy import text

    eng = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE c (n INTEGER)"))
    factory = sessions(eng)
    with factory() as request, request.begin():
        request.execute(text("SELECT count(*) FROM c")).scalar_one()
        with factory() as log, log.begin():
            log.execute(text("INSERT INTO c VALUES (1)"))
    with eng.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM c")).scalar_one() == 1
    eng.dispose()


def test_sqlite_is_durable_and_checkpoints_in_small_steps(tmp_path: Path) -> None:
    from sqlalchemy import text

    from privguard.internals.prevention.db import WAL_AUTOCHECKPOINT

    eng = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        with eng.connect() as conn:
            pragma = {
                name: conn.execute(text(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "synchronous", "wal_autocheckpoint")
            }
    finally:
        eng.dispose()
    # FULL: a commit is on disk before it returns (a record=true is durable when answered).
    assert pragma == {"journal_mode": "wal", "synchronous": 2, "wal_autocheckpoint": 100}
    assert WAL_AUTOCHECKPOINT == 100

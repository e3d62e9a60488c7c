"""The vault's migration creates exactly the tables its models declare, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from privguard.internals.prevention.db import Base
from privguard.internals.prevention.vault import models  # noqa: F401 - registers the tables


def test_vault_migration_matches_the_models(db: Engine) -> None:
    with db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)

    def table_of(d: object) -> str:
        item = d[0] if isinstance(d, list) else d
        for part in item[1:] if isinstance(item, tuple) else ():
            name = getattr(part, "name", None) if not isinstance(part, str) else part
            table = getattr(part, "table", None)
            if table is not None:
                return str(table.name)
            if isinstance(name, str) and name.startswith("vault_"):
                return name
        return ""

    ours = [d for d in diff if table_of(d).startswith("vault_")]
    assert ours == []

"""The registry's Alembic branch builds exactly the tables its models describe, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from privguard.internals.prevention.db import Base
from privguard.internals.prevention.registry import models


def test_migration_matches_the_models(db: Engine) -> None:
    assert models.PrivilegedNumber.__tablename__ in inspect(db).get_table_names()
    with db.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diffs if "registry_" in repr(d)]
    assert ours == []


def test_one_active_registration_per_number(db: Engine) -> None:
    indexes = {i["name"]: i for i in inspect(db).get_indexes("registry_numbers")}
    assert indexes["ux_registry_numbers_active"]["unique"]

"""Alembic environment: run migrations on the connection :func:`db.upgrade` hands over."""

from __future__ import annotations

from alembic import context

from privguard.internals.prevention.db import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - privguard always passes a connection
    raise RuntimeError("run migrations through privguard.internals.prevention.db.upgrade")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()

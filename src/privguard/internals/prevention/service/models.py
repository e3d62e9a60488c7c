"""The service's own tables: users and their API tokens (Alembic branch ``auth``).

A token is stored only as its SHA-256: a copy of the database gives nobody a working
token. Passwords are Argon2id hashes (``auth.py``); a user without a password (a facility's
system) signs in with tokens only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from privguard.internals.prevention.db import Base

# investigator, prosecutor and records_officer: the vault's readers (see vault.access).
ROLES = (
    "attorney",
    "registrar",
    "facility_system",
    "auditor",
    "admin",
    "investigator",
    "prosecutor",
    "records_officer",
)


class User(Base):
    """A person or a system that uses the service, with exactly one role."""

    __tablename__ = "auth_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # The attorney or office record this user speaks for; a foreign key once the registry's
    # attorneys table is on this branch.
    attorney_id: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Token(Base):
    """An API token: its SHA-256 only, who owns it, when it was last used, if revoked."""

    __tablename__ = "auth_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("auth_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

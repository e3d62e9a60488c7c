"""The portal's own tables (Alembic branch ``portal``): second factors, sign-in attempts and
the evidence an attorney attaches to a registration request.

A TOTP secret is the one secret kept here in the clear: the server must compute codes from
it. Whoever reads the database also needs the user's password to sign in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from privguard.internals.prevention.db import Base


class Totp(Base):
    """A user's TOTP secret (RFC 6238); ``confirmed_at`` is set once a first code matched."""

    __tablename__ = "portal_totp"

    user_id: Mapped[int] = mapped_column(ForeignKey("auth_users.id"), primary_key=True)
    secret: Mapped[bytes] = mapped_column(LargeBinary(32))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The last time step accepted, so a code cannot be replayed within its window.
    last_step: Mapped[int] = mapped_column(Integer, default=0)


class Attempt(Base):
    """One failed sign-in step (password or code), counted by the rate limits."""

    __tablename__ = "portal_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)


class Evidence(Base):
    """A note or a document an attorney gave with a request, for the registrar."""

    __tablename__ = "portal_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("registry_requests.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, default="")
    filename: Mapped[str] = mapped_column(String(255), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)

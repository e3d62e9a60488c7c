"""The registry's tables (SQLAlchemy 2 on ``db.Base``; Alembic branch ``registry``).

The tables are a *view* of the ``registry`` ledger: every row change is appended to the
ledger first, with the row's whole new state in the entry's payload, so that
:mod:`.replay` can rebuild these tables from the ledger alone and ``verify`` can prove
that nobody deleted, altered or re-ordered a row behind the ledger's back.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from privguard.internals.prevention.db import Base

SOURCES: tuple[str, ...] = (
    "self_registration",
    "bar_feed",
    "public_defender_feed",
    "staff_entry",
    "migration_import",
    "audit_candidate",
)
FEED_SOURCES: tuple[str, ...] = ("bar_feed", "public_defender_feed")
REQUEST_STATES: tuple[str, ...] = ("submitted", "needs_review", "verified", "rejected")
ALL_FACILITIES = "*"


class Attorney(Base):
    """An attorney or an office (``kind``), with bar number and state and a contact."""

    __tablename__ = "registry_attorneys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # attorney | office
    name: Mapped[str] = mapped_column(String(300))
    bar_number: Mapped[str] = mapped_column(String(64), default="")
    bar_state: Mapped[str] = mapped_column(String(8), default="")
    contact: Mapped[str] = mapped_column(String(300), default="")
    office_id: Mapped[int | None] = mapped_column(
        ForeignKey("registry_attorneys.id"), nullable=True
    )
    __table_args__ = (Index("ix_registry_attorneys_bar", "bar_state", "bar_number"),)


class PrivilegedNumber(Base):
    """One registration of a number: E.164 (normalized once), extension, owner, scope, dates.

    ``facilities`` is ``*`` for every facility or the sorted facility codes joined by
    commas. ``status`` is ``active`` until the registration is ended (``effective_to`` and
    ``ended_reason`` set); at most one active registration per (number, extension).
    """

    __tablename__ = "registry_numbers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20))
    extension: Mapped[str] = mapped_column(String(16), default="")
    attorney_id: Mapped[int] = mapped_column(ForeignKey("registry_attorneys.id"))
    facilities: Mapped[str] = mapped_column(Text, default=ALL_FACILITIES)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    effective_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    source: Mapped[str] = mapped_column(String(32))
    feed: Mapped[str] = mapped_column(String(100), default="")  # the feed that owns it, if any
    evidence: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("registry_requests.id"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(16), default="active")
    ended_reason: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (
        Index(
            "ux_registry_numbers_active",
            "number",
            "extension",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_registry_numbers_attorney", "attorney_id"),
        Index("ix_registry_numbers_feed", "feed", "status"),
    )


class Request(Base):
    """A registration request: the numbers an attorney submitted and where it stands."""

    __tablename__ = "registry_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attorney_id: Mapped[int] = mapped_column(ForeignKey("registry_attorneys.id"))
    numbers: Mapped[str] = mapped_column(Text)  # canonical JSON list of {number, extension}
    facilities: Mapped[str] = mapped_column(Text, default=ALL_FACILITIES)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")


class Event(Base):
    """One ledger entry of the registry log as the attorney sees it (history, receipts).

    ``receipt`` holds the C2SP ``tlog-proof@v1`` text once it has been made.
    """

    __tablename__ = "registry_events"

    ledger_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    attorney_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    request_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    number_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    invitation_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    receipt: Mapped[str | None] = mapped_column(Text, nullable=True)
    __table_args__ = (
        Index("ix_registry_events_attorney", "attorney_id"),
        Index("ix_registry_events_number", "number_id"),
    )


class Invitation(Base):
    """A number an audit found called and unprotected: an invitation to register, to send."""

    __tablename__ = "registry_invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20))
    attorney_name: Mapped[str] = mapped_column(String(300), default="")
    classification: Mapped[str] = mapped_column(String(32))
    evidence: Mapped[str] = mapped_column(Text, default="")
    source_file: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued | sent | closed
    __table_args__ = (Index("ix_registry_invitations_number", "number"),)


class Export(Base):
    """A snapshot this registry issued: the chain each facility's next snapshot extends."""

    __tablename__ = "registry_exports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    facility: Mapped[str] = mapped_column(String(100))
    vendor: Mapped[str] = mapped_column(String(100), default="")
    issued: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    effective: Mapped[dt.date] = mapped_column(Date)
    tree_size: Mapped[int] = mapped_column(Integer)
    root: Mapped[str] = mapped_column(String(64))  # hex
    count: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))


class Imported(Base):
    """The newest snapshot this database accepted per (origin, facility, vendor).

    Kept only after every check passed; its ``issued`` and ``tree_size`` are the floor
    below which a later snapshot is refused as a rollback.
    """

    __tablename__ = "registry_imported"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    origin: Mapped[str] = mapped_column(String(200))
    facility: Mapped[str] = mapped_column(String(100))
    vendor: Mapped[str] = mapped_column(String(100), default="")
    issued: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    effective: Mapped[dt.date] = mapped_column(Date)
    tree_size: Mapped[int] = mapped_column(Integer)
    root: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)  # the whole signed snapshot, as received
    __table_args__ = (
        Index("ux_registry_imported_key", "origin", "facility", "vendor", unique=True),
    )

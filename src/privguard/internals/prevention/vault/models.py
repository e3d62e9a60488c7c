"""The vault's tables (SQLAlchemy 2 on ``db.Base``; Alembic branch ``vault``).

Recordings themselves are never in the database: only their metadata, the hash of their
plaintext taken at acquisition, where the ciphertext lives and the data key *wrapped* by a
key-encryption key kept outside the database. ``vault_access`` is the queryable view of
the vault's entries in the ledger's ``access`` log (the ledger is the tamper-evident copy;
this table feeds volume limits and the anomaly report).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from privguard.internals.prevention.db import Base

STATES: tuple[str, ...] = ("stored", "quarantined", "purged")


class Recording(Base):
    """One recorded call: who, when, which decision allowed it, and its sealed data key."""

    __tablename__ = "vault_recordings"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # opaque, random
    decision_id: Mapped[str] = mapped_column(String(40), unique=True)
    facility: Mapped[str] = mapped_column(String(100))
    inmate_account: Mapped[str] = mapped_column(String(100))
    dialed_number: Mapped[str] = mapped_column(String(20))  # E.164
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    duration_s: Mapped[int] = mapped_column(Integer, default=0)
    recording_ref: Mapped[str] = mapped_column(String(300), default="")  # vendor reference
    media_type: Mapped[str] = mapped_column(String(64), default="application/octet-stream")
    sha256: Mapped[str] = mapped_column(String(64))  # plaintext, at acquisition
    size: Mapped[int] = mapped_column(Integer)  # plaintext bytes
    blob: Mapped[str] = mapped_column(String(200))  # path under the blob root
    blob_sha256: Mapped[str] = mapped_column(String(64))  # nonce || ciphertext, as stored
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    escrow_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    kek_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="stored")
    state_reason: Mapped[str] = mapped_column(Text, default="")
    state_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    stored_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        Index("ix_vault_recordings_inmate", "inmate_account", "started_at"),
        Index("ix_vault_recordings_number", "dialed_number"),
        Index("ix_vault_recordings_state", "state"),
    )


class Finding(Base):
    """A privileged number or recording reference an audit found (imported from its files)."""

    __tablename__ = "vault_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))  # number | ref
    value: Mapped[str] = mapped_column(String(300))
    classification: Mapped[str] = mapped_column(String(32), default="")
    source_file: Mapped[str] = mapped_column(Text, default="")
    source_sha256: Mapped[str] = mapped_column(String(64), default="")
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ux_vault_findings_kind_value", "kind", "value", unique=True),)


class Access(Base):
    """One vault event as logged (the ledger's access log holds the signed copy)."""

    __tablename__ = "vault_access"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    object: Mapped[str] = mapped_column(Text, default="")
    items: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(16))  # ok | refused | flagged | alarm
    detail: Mapped[str] = mapped_column(Text, default="")
    ledger_index: Mapped[int] = mapped_column(Integer)
    __table_args__ = (Index("ix_vault_access_actor_at", "actor", "at"),)


class Purge(Base):
    """A purge and its signed certificate (the certificate text is what the attorney gets)."""

    __tablename__ = "vault_purges"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    recordings: Mapped[int] = mapped_column(Integer)
    certificate: Mapped[str] = mapped_column(Text)
    ledger_index: Mapped[int] = mapped_column(Integer)

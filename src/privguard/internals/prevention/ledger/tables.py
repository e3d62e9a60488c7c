"""The ledger's tables, shared by every log (each row names its log).

``ledger_heads`` holds one row per log; appends update it first, which serializes them
(SQLite: the write lock; PostgreSQL: the row lock until commit), so indexes are gap-free
and race-free. ``ledger_nodes`` caches the root of every complete, aligned run of 256
leaves (level 8), written when the 256th leaf is appended: a proof then reads at most
n/256 cached roots plus a few hundred leaves, never the whole log. ``verify`` recomputes
every cached root, so a cache altered behind the ledger's back is reported, not trusted.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, String, Table, Text

from privguard.internals.prevention.db import Base

TILE_LEVEL = 8
TILE = 1 << TILE_LEVEL

entries = Table(
    "ledger_entries",
    Base.metadata,
    Column("log", String(100), primary_key=True),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("salt", LargeBinary(32), nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
)

checkpoints = Table(
    "ledger_checkpoints",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("log", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("at", String(32), nullable=False),
    Index("ix_ledger_checkpoints_log_size", "log", "size"),
)

heads = Table(
    "ledger_heads",
    Base.metadata,
    Column("log", String(100), primary_key=True),
    Column("size", BigInteger, nullable=False),
)

nodes = Table(
    "ledger_nodes",
    Base.metadata,
    Column("log", String(100), primary_key=True),
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

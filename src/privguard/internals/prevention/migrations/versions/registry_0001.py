"""registry: attorneys, privileged numbers, requests, events, invitations, exports, imports.

Revision ID: registry_0001
Branch: registry (its own Alembic branch; needs the ledger's tables first)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "registry_0001"
down_revision = None
branch_labels = ("registry",)
depends_on = "ledger_0001"

_ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    op.create_table(
        "registry_attorneys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("bar_number", sa.String(64), nullable=False),
        sa.Column("bar_state", sa.String(8), nullable=False),
        sa.Column("contact", sa.String(300), nullable=False),
        sa.Column("office_id", sa.Integer, sa.ForeignKey("registry_attorneys.id"), nullable=True),
    )
    op.create_index("ix_registry_attorneys_bar", "registry_attorneys", ["bar_state", "bar_number"])
    op.create_table(
        "registry_requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "attorney_id", sa.Integer, sa.ForeignKey("registry_attorneys.id"), nullable=False
        ),
        sa.Column("numbers", sa.Text, nullable=False),
        sa.Column("facilities", sa.Text, nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_table(
        "registry_numbers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("extension", sa.String(16), nullable=False),
        sa.Column(
            "attorney_id", sa.Integer, sa.ForeignKey("registry_attorneys.id"), nullable=False
        ),
        sa.Column("facilities", sa.Text, nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("effective_to", sa.Date, nullable=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("feed", sa.String(100), nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("registry_requests.id"), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("ended_reason", sa.Text, nullable=False),
    )
    op.create_index(
        "ux_registry_numbers_active",
        "registry_numbers",
        ["number", "extension"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )
    op.create_index("ix_registry_numbers_attorney", "registry_numbers", ["attorney_id"])
    op.create_index("ix_registry_numbers_feed", "registry_numbers", ["feed", "status"])
    op.create_table(
        "registry_events",
        sa.Column("ledger_index", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("attorney_id", sa.Integer, nullable=True),
        sa.Column("request_id", sa.Integer, nullable=True),
        sa.Column("number_id", sa.Integer, nullable=True),
        sa.Column("invitation_id", sa.Integer, nullable=True),
        sa.Column("receipt", sa.Text, nullable=True),
    )
    op.create_index("ix_registry_events_attorney", "registry_events", ["attorney_id"])
    op.create_index("ix_registry_events_number", "registry_events", ["number_id"])
    op.create_table(
        "registry_invitations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("attorney_name", sa.String(300), nullable=False),
        sa.Column("classification", sa.String(32), nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("source_file", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
    )
    op.create_index("ix_registry_invitations_number", "registry_invitations", ["number"])
    for name, extra in (
        ("registry_exports", []),
        ("registry_imported", [sa.Column("origin", sa.String(200), nullable=False)]),
    ):
        op.create_table(
            name,
            sa.Column("id", sa.Integer, primary_key=True),
            *extra,
            sa.Column("facility", sa.String(100), nullable=False),
            sa.Column("vendor", sa.String(100), nullable=False),
            sa.Column("issued", sa.DateTime(timezone=True), nullable=False),
            sa.Column("effective", sa.Date, nullable=False),
            sa.Column("tree_size", sa.Integer, nullable=False),
            sa.Column("root", sa.String(64), nullable=False),
            sa.Column("count", sa.Integer, nullable=False),
            sa.Column("sha256", sa.String(64), nullable=False),
            *([sa.Column("text", sa.Text, nullable=False)] if extra else []),
        )
    op.create_index(
        "ux_registry_imported_key",
        "registry_imported",
        ["origin", "facility", "vendor"],
        unique=True,
    )


def downgrade() -> None:
    for name in (
        "registry_imported",
        "registry_exports",
        "registry_invitations",
        "registry_events",
        "registry_numbers",
        "registry_requests",
        "registry_attorneys",
    ):
        op.drop_table(name)

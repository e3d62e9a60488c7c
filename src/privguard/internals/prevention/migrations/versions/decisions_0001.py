"""decisions: the decision log's queryable view and the registrar's candidate queue.

Revision ID: decisions_0001
Branch: decisions (its own Alembic branch)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "decisions_0001"
down_revision = None
branch_labels = ("decisions",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("decision_id", sa.String(40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("facility", sa.String(100), nullable=False),
        sa.Column("number_hmac", sa.String(64), nullable=False),
        sa.Column("account_hmac", sa.String(64), nullable=False),
        sa.Column("record", sa.Boolean, nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("private_call_declared", sa.Boolean, nullable=False),
        sa.Column("entry_ref", sa.Text, nullable=False),
        sa.Column("checkpoint_size", sa.Integer, nullable=True),
        sa.Column("checkpoint_root", sa.String(64), nullable=False),
        sa.Column("supersedes", sa.String(40), nullable=False),
        sa.Column("ledger_index", sa.Integer, nullable=True),
        sa.UniqueConstraint("decision_id", name="uq_decisions_decision_id"),
    )
    op.create_index("ix_decisions_at", "decisions", ["at"])
    op.create_index("ix_decisions_facility", "decisions", ["facility"])
    op.create_table(
        "decision_candidates",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("declarations", sa.Integer, nullable=False),
        sa.Column("facilities", sa.Text, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.UniqueConstraint("number", name="uq_decision_candidates_number"),
    )


def downgrade() -> None:
    op.drop_table("decision_candidates")
    op.drop_index("ix_decisions_facility", "decisions")
    op.drop_index("ix_decisions_at", "decisions")
    op.drop_table("decisions")

"""decisions: each decision keeps the SIP Call-ID it was asked for (issue 18).

A recording handed to the vault names its call; the vault checks that the decision it
cites was taken for that same call.

Revision ID: decisions_0002
Branch: decisions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "decisions_0002"
down_revision = "decisions_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("call_id", sa.String(200), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("call_id")

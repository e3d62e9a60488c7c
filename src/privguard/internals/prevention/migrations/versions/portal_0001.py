"""portal: TOTP secrets, failed sign-in attempts (rate limits) and request evidence.

Revision ID: portal_0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "portal_0001"
down_revision = None
branch_labels = ("portal",)
depends_on = ("auth_0001", "registry_0001")


def upgrade() -> None:
    op.create_table(
        "portal_totp",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.LargeBinary(32), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["auth_users.id"], name="fk_portal_totp_user_id_auth_users"
        ),
        sa.PrimaryKeyConstraint("user_id", name="pk_portal_totp"),
    )
    op.create_table(
        "portal_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_portal_attempts"),
    )
    op.create_index("ix_portal_attempts_at", "portal_attempts", ["at"])
    op.create_index("ix_portal_attempts_username", "portal_attempts", ["username"])
    op.create_index("ix_portal_attempts_ip", "portal_attempts", ["ip"])
    op.create_table(
        "portal_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["registry_requests.id"], name="fk_portal_evidence_request_id"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_portal_evidence"),
    )
    op.create_index("ix_portal_evidence_request_id", "portal_evidence", ["request_id"])


def downgrade() -> None:
    op.drop_table("portal_evidence")
    op.drop_table("portal_attempts")
    op.drop_table("portal_totp")

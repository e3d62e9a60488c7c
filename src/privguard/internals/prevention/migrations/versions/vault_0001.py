"""vault: recording metadata and sealed data keys, audit findings, access view, purges.

Revision ID: vault_0001
Branch: vault (its own Alembic branch; the access log itself is the ledger's)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "vault_0001"
down_revision = None
branch_labels = ("vault",)
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "vault_recordings",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("decision_id", sa.String(40), nullable=False),
        sa.Column("facility", sa.String(100), nullable=False),
        sa.Column("inmate_account", sa.String(100), nullable=False),
        sa.Column("dialed_number", sa.String(20), nullable=False),
        sa.Column("started_at", _TZ, nullable=False),
        sa.Column("duration_s", sa.Integer, nullable=False),
        sa.Column("recording_ref", sa.String(300), nullable=False),
        sa.Column("media_type", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("blob", sa.String(200), nullable=False),
        sa.Column("blob_sha256", sa.String(64), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=True),
        sa.Column("escrow_key", sa.LargeBinary, nullable=True),
        sa.Column("kek_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_reason", sa.Text, nullable=False),
        sa.Column("state_at", _TZ, nullable=False),
        sa.Column("stored_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_vault_recordings"),
        sa.UniqueConstraint("decision_id", name="uq_vault_recordings_decision_id"),
    )
    op.create_index(
        "ix_vault_recordings_inmate", "vault_recordings", ["inmate_account", "started_at"]
    )
    op.create_index("ix_vault_recordings_number", "vault_recordings", ["dialed_number"])
    op.create_index("ix_vault_recordings_state", "vault_recordings", ["state"])
    op.create_table(
        "vault_findings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("value", sa.String(300), nullable=False),
        sa.Column("classification", sa.String(32), nullable=False),
        sa.Column("source_file", sa.Text, nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("imported_at", _TZ, nullable=False),
    )
    op.create_index(
        "ux_vault_findings_kind_value", "vault_findings", ["kind", "value"], unique=True
    )
    op.create_table(
        "vault_access",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", _TZ, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("object", sa.Text, nullable=False),
        sa.Column("items", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("ledger_index", sa.Integer, nullable=False),
    )
    op.create_index("ix_vault_access_actor_at", "vault_access", ["actor", "at"])
    op.create_table(
        "vault_purges",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("at", _TZ, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("recordings", sa.Integer, nullable=False),
        sa.Column("certificate", sa.Text, nullable=False),
        sa.Column("ledger_index", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_vault_purges"),
    )


def downgrade() -> None:
    for table in ("vault_purges", "vault_access", "vault_findings", "vault_recordings"):
        op.drop_table(table)

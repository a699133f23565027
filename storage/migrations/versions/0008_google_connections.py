"""Google connections and pending Google sign-ins.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Frozen copy of the values at this revision (storage.outlook_tables may grow later).
_STATUSES = "'connected', 'needs_reconnect', 'disconnected'"


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "google_connections",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("username", sa.String(320), nullable=False),
        sa.Column("calendar_id", sa.String(1024), nullable=False),
        sa.Column("calendar_name", sa.String(255), nullable=False),
        sa.Column("meet_allowed", sa.Boolean(), nullable=False),
        sa.Column("calendar_time_zone", sa.String(255), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("token", sa.LargeBinary(), nullable=True),
        sa.Column("connected_at", _when(), nullable=False),
        sa.Column("refreshed_at", _when(), nullable=True),
        sa.Column("updated_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_google_connections")),
        sa.CheckConstraint(f"status IN ({_STATUSES})", name=op.f("ck_google_connections_status")),
        sa.UniqueConstraint("name", name=op.f("uq_google_connections_name")),
        sa.UniqueConstraint("subject", name=op.f("uq_google_connections_subject")),
    )
    op.create_table(
        "google_sign_ins",
        sa.Column("state", sa.String(255), nullable=False),
        sa.Column("flow", sa.LargeBinary(), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("state", name=op.f("pk_google_sign_ins")),
    )


def downgrade() -> None:
    op.drop_table("google_sign_ins")
    op.drop_table("google_connections")

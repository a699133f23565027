"""Outlook connections and pending Microsoft sign-ins.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen copies of the values at this revision (storage.outlook_tables may grow later).
_ACCOUNT_TYPES = "'work', 'personal'"
_STATUSES = "'connected', 'needs_reconnect', 'disconnected'"


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outlook_connections",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("object_id", sa.String(64), nullable=False),
        sa.Column("home_account_id", sa.String(160), nullable=False),
        sa.Column("username", sa.String(320), nullable=False),
        sa.Column("account_type", sa.String(16), nullable=False),
        sa.Column("calendar_id", sa.String(1024), nullable=False),
        sa.Column("calendar_name", sa.String(255), nullable=False),
        sa.Column("teams_allowed", sa.Boolean(), nullable=False),
        sa.Column("mailbox_time_zone", sa.String(255), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("token_cache", sa.LargeBinary(), nullable=True),
        sa.Column("connected_at", _when(), nullable=False),
        sa.Column("refreshed_at", _when(), nullable=True),
        sa.Column("updated_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outlook_connections")),
        sa.CheckConstraint(f"account_type IN ({_ACCOUNT_TYPES})",
                           name=op.f("ck_outlook_connections_account_type")),
        sa.CheckConstraint(f"status IN ({_STATUSES})", name=op.f("ck_outlook_connections_status")),
        sa.UniqueConstraint("name", name=op.f("uq_outlook_connections_name")),
        sa.UniqueConstraint("tenant_id", "object_id", name="uq_outlook_connections_account"),
    )
    op.create_table(
        "outlook_sign_ins",
        sa.Column("state", sa.String(255), nullable=False),
        sa.Column("flow", sa.LargeBinary(), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("state", name=op.f("pk_outlook_sign_ins")),
    )


def downgrade() -> None:
    op.drop_table("outlook_sign_ins")
    op.drop_table("outlook_connections")

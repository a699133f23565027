"""Bookings follow the Google calendar: incremental-sync state and push channel per Google
connection, and the synced copy of its events.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "google_sync_states",
        sa.Column("connection_id", sa.String(36), nullable=False),
        sa.Column("sync_token", sa.Text(), nullable=True),
        sa.Column("calendar_id", sa.String(1024), nullable=True),
        sa.Column("window_start", _when(), nullable=True),
        sa.Column("synced_at", _when(), nullable=True),
        sa.Column("full_synced_at", _when(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("channel_id", sa.String(64), nullable=True),
        sa.Column("channel_resource_id", sa.String(255), nullable=True),
        sa.Column("channel_calendar_id", sa.String(1024), nullable=True),
        sa.Column("channel_expires_at", _when(), nullable=True),
        sa.Column("channel_token_sha256", sa.String(64), nullable=True),
        sa.Column("updated_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_google_sync_states")),
        sa.UniqueConstraint("channel_id", name=op.f("uq_google_sync_states_channel_id")),
    )
    op.create_table(
        "google_synced_events",
        sa.Column("connection_id", sa.String(36), nullable=False),
        sa.Column("event_id", sa.String(1024), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("start", _when(), nullable=False),
        sa.Column("end", _when(), nullable=False),
        sa.Column("is_all_day", sa.Boolean(), nullable=False),
        sa.Column("show_as", sa.String(32), nullable=False),
        sa.Column("join_url", sa.Text(), nullable=True),
        sa.Column("attendees", sa.JSON(), nullable=False),
        sa.Column("synced_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "event_id",
                                name=op.f("pk_google_synced_events")),
    )
    op.create_index("ix_google_synced_events_start", "google_synced_events",
                    ["connection_id", "start"])


def downgrade() -> None:
    op.drop_table("google_synced_events")
    op.drop_table("google_sync_states")

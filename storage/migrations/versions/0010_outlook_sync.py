"""Bookings follow the Outlook calendar: sync state and subscriptions per connection, the
synced copy of events, the operator's record of owners' changes, and two booking statuses
(``cancelled_by_owner``, ``conflict``).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Frozen copies of the values at this revision.
_STATUSES_BEFORE = "'pending', 'confirmed', 'failed', 'cancelled', 'held'"
_STATUSES = _STATUSES_BEFORE + ", 'cancelled_by_owner', 'conflict'"
_KINDS = "'cancelled_by_owner', 'moved', 'conflict', 'declined'"


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    # "cancelled_by_owner" is longer than the 16 characters the column had.
    with op.batch_alter_table("bookings") as batch:
        batch.drop_constraint(op.f("ck_bookings_status"), type_="check")
        batch.alter_column("status", type_=sa.String(32), existing_type=sa.String(16),
                           existing_nullable=False)
        batch.create_check_constraint("status", f"status IN ({_STATUSES})")

    op.create_table(
        "outlook_sync_states",
        sa.Column("connection_id", sa.String(36), nullable=False),
        sa.Column("delta_link", sa.Text(), nullable=True),
        sa.Column("calendar_id", sa.String(1024), nullable=True),
        sa.Column("window_start", _when(), nullable=True),
        sa.Column("window_end", _when(), nullable=True),
        sa.Column("synced_at", _when(), nullable=True),
        sa.Column("full_synced_at", _when(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("subscription_id", sa.String(255), nullable=True),
        sa.Column("subscription_expires_at", _when(), nullable=True),
        sa.Column("client_state_sha256", sa.String(64), nullable=True),
        sa.Column("updated_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_outlook_sync_states")),
    )
    op.create_table(
        "outlook_synced_events",
        sa.Column("connection_id", sa.String(36), nullable=False),
        sa.Column("event_id", sa.String(1024), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("start", _when(), nullable=False),
        sa.Column("end", _when(), nullable=False),
        sa.Column("is_all_day", sa.Boolean(), nullable=False),
        sa.Column("show_as", sa.String(32), nullable=False),
        sa.Column("is_cancelled", sa.Boolean(), nullable=False),
        sa.Column("join_url", sa.Text(), nullable=True),
        sa.Column("transaction_id", sa.String(255), nullable=True),
        sa.Column("change_key", sa.String(255), nullable=True),
        sa.Column("attendees", sa.JSON(), nullable=False),
        sa.Column("synced_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "event_id",
                                name=op.f("pk_outlook_synced_events")),
    )
    op.create_index("ix_outlook_synced_events_start", "outlook_synced_events",
                    ["connection_id", "start"])
    op.create_table(
        "booking_sync_notes",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("booking_id", sa.String(36), nullable=False),
        sa.Column("calendar_id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("other_booking_id", sa.String(36), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_sync_notes")),
        sa.CheckConstraint(f"kind IN ({_KINDS})", name=op.f("ck_booking_sync_notes_kind")),
    )
    op.create_index("ix_booking_sync_notes_booking_id", "booking_sync_notes", ["booking_id"])
    op.create_index("ix_booking_sync_notes_calendar_created", "booking_sync_notes",
                    ["calendar_id", "created_at"])


def downgrade() -> None:
    op.drop_table("booking_sync_notes")
    op.drop_table("outlook_synced_events")
    op.drop_table("outlook_sync_states")
    op.execute("UPDATE bookings SET status = 'cancelled' WHERE status = 'cancelled_by_owner'")
    op.execute("UPDATE bookings SET status = 'confirmed' WHERE status = 'conflict'")
    with op.batch_alter_table("bookings") as batch:
        batch.drop_constraint(op.f("ck_bookings_status"), type_="check")
        batch.alter_column("status", type_=sa.String(16), existing_type=sa.String(32),
                           existing_nullable=False)
        batch.create_check_constraint("status", f"status IN ({_STATUSES_BEFORE})")

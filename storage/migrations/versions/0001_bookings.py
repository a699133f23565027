"""Bookings and the embedded local calendar's events.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the values at this revision (storage.booking_tables may grow later).
_STATUSES = "'pending', 'confirmed', 'failed', 'cancelled', 'held'"
_LIVE = "'pending', 'confirmed', 'held'"
_SHOW_AS = "'busy', 'tentative', 'oof', 'free'"


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "bookings",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("calendar_id", sa.String(255), nullable=False),
        sa.Column("call_id", sa.String(255), nullable=False),
        sa.Column("campaign", sa.String(255), nullable=False),
        sa.Column("attendee_email", sa.String(320), nullable=False),
        sa.Column("attendee_name", sa.String(255), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("start", _when(), nullable=False),
        sa.Column("end", _when(), nullable=False),
        sa.Column("blocked_start", _when(), nullable=False),
        sa.Column("blocked_end", _when(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(1024), nullable=True),
        sa.Column("online_meeting_url", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("hold_of", sa.String(36), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
        sa.CheckConstraint(f"status IN ({_STATUSES})", name=op.f("ck_bookings_status")),
        sa.CheckConstraint(
            'blocked_start <= start AND "end" <= blocked_end', name=op.f("ck_bookings_blocked")
        ),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_bookings_idempotency_key")),
    )
    op.create_index("ix_bookings_calendar_blocked", "bookings", ["calendar_id", "blocked_start"])
    op.create_index("ix_bookings_call_id", "bookings", ["call_id"])
    op.create_index("ix_bookings_hold_of", "bookings", ["hold_of"])
    # One meeting per call and calendar: a second book() from the same call must move the
    # first instead (a call changing its mind must not leave two meetings behind).
    one_per_call = "status IN ('pending', 'confirmed') AND hold_of IS NULL"
    op.create_index(
        "uq_bookings_one_live_per_call", "bookings", ["calendar_id", "call_id"], unique=True,
        postgresql_where=sa.text(one_per_call), sqlite_where=sa.text(one_per_call),
    )

    op.create_table(
        "local_events",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("calendar_id", sa.String(255), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("start", _when(), nullable=False),
        sa.Column("end", _when(), nullable=False),
        sa.Column("attendees", sa.JSON(), nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("show_as", sa.String(16), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("cancel_message", sa.Text(), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_local_events")),
        sa.CheckConstraint(f"show_as IN ({_SHOW_AS})", name=op.f("ck_local_events_show_as")),
        sa.UniqueConstraint(
            "calendar_id", "idempotency_key", name=op.f("uq_local_events_calendar_id")
        ),
    )
    op.create_index("ix_local_events_calendar_start", "local_events", ["calendar_id", "start"])

    if op.get_bind().dialect.name == "postgresql":
        # btree_gist lets one GiST index combine "same calendar" (=) with "ranges overlap"
        # (&&). It lives in public so dropping a tenant/test schema leaves it in place.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public")
        # First confirm wins: two live bookings on one calendar can never hold overlapping
        # blocked ranges; the second writer gets an exclusion violation (SQLSTATE 23P01).
        op.execute(
            "ALTER TABLE bookings ADD CONSTRAINT ex_bookings_blocked_overlap"
            " EXCLUDE USING gist (calendar_id WITH =,"
            " tstzrange(blocked_start, blocked_end, '[)') WITH &&)"
            f" WHERE (status IN ({_LIVE}))"
        )


def downgrade() -> None:
    op.drop_table("local_events")
    op.drop_table("bookings")

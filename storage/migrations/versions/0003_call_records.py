"""Call records and campaign dial lists.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Frozen copies of the values at this revision (storage.call_tables may grow later).
_DIRECTIONS = "'inbound', 'outbound'"
_STATES = "'pending', 'dialling', 'dialled', 'failed'"


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("campaign", sa.String(255), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("caller_number", sa.String(32), nullable=True),
        sa.Column("our_number", sa.String(32), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("started_at", _when(), nullable=False),
        sa.Column("ended_at", _when(), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("transcript", sa.JSON(), nullable=False),
        sa.Column("tool_calls", sa.JSON(), nullable=False),
        sa.Column("bookings", sa.JSON(), nullable=False),
        sa.Column("turn_latencies", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
        sa.CheckConstraint(f"direction IN ({_DIRECTIONS})", name=op.f("ck_calls_direction")),
    )
    op.create_index("ix_calls_started_at", "calls", ["started_at"])
    op.create_table(
        "dial_contacts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("campaign", sa.String(255), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("recipient", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=True),
        sa.Column("error", sa.String(1024), nullable=True),
        sa.Column("claimed_at", _when(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dial_contacts")),
        sa.UniqueConstraint("campaign", "phone", name=op.f("uq_dial_contacts_campaign_phone")),
        sa.CheckConstraint(f"state IN ({_STATES})", name=op.f("ck_dial_contacts_state")),
    )
    op.create_index("ix_dial_contacts_campaign_state", "dial_contacts", ["campaign", "state"])


def downgrade() -> None:
    op.drop_index("ix_dial_contacts_campaign_state", table_name="dial_contacts")
    op.drop_table("dial_contacts")
    op.drop_index("ix_calls_started_at", table_name="calls")
    op.drop_table("calls")

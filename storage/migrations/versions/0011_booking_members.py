"""Bookings record the round-robin pool member they were assigned to.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        # NULL for bookings made off a pool (and all made before this revision).
        batch.add_column(sa.Column("member", sa.String(255), nullable=True))
    # A pool's assignment reads each member's latest booking in the campaign.
    op.create_index("ix_bookings_campaign_member", "bookings",
                    ["campaign", "member", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_bookings_campaign_member", table_name="bookings")
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("member")

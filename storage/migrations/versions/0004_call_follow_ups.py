"""Call records keep the follow-ups a call asked for or promised.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # {"call_back_requested": bool, "call_back_when": str | None, "do_not_call": bool,
    #  "human_follow_up": bool}; empty for calls recorded before this revision.
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("follow_ups", sa.JSON(), nullable=False,
                                   server_default=sa.text("'{}'")))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("follow_ups")

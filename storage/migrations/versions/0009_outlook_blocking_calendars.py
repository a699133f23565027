"""Outlook connections know whether they book on the default calendar, and which other
calendars' busy time blocks booking.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outlook_connections") as batch:
        # NULL for connections made before this revision: not known to be the default, so
        # the default calendar's busy time is read as well.
        batch.add_column(sa.Column("calendar_is_default", sa.Boolean(), nullable=True))
        # [{"id": ..., "name": ...}] marked by the operator (outlook calendars --block).
        batch.add_column(sa.Column("blocking_calendars", sa.JSON(), nullable=False,
                                   server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table("outlook_connections") as batch:
        batch.drop_column("blocking_calendars")
        batch.drop_column("calendar_is_default")

"""Calls note when their webhooks were written (``announced_at``), so a call recorded just
before a crash is announced by the sweep, and never twice; calls already ended count as
announced.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# Frozen copy of storage.call_tables.UNANNOUNCED at this revision.
_UNANNOUNCED = ("announced_at IS NULL AND organisation_id IS NOT NULL "
                "AND outcome IS NOT NULL")


def upgrade() -> None:
    op.add_column("calls", sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True))
    # History was announced (or had no webhooks) by the code before this revision.
    calls = sa.table("calls", sa.column("ended_at"), sa.column("announced_at"))
    op.execute(calls.update().where(calls.c.ended_at.is_not(None))
               .values(announced_at=calls.c.ended_at))
    op.create_index("ix_calls_unannounced", "calls", ["ended_at"],
                    postgresql_where=sa.text(_UNANNOUNCED), sqlite_where=sa.text(_UNANNOUNCED))


def downgrade() -> None:
    op.drop_index("ix_calls_unannounced", table_name="calls")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("announced_at")

"""Every ended call of an organisation is announced, recorded or not (unanswered calls, calls
whose pipeline died), and a call that cannot be announced waits its turn again later
(``announce_after``, ``announce_failures``) instead of holding up the others. Calls ended
without a record before this revision were never promised a webhook: they count as announced.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# Frozen copies of storage.call_tables.UNANNOUNCED at 0016 and at this revision.
_RECORDED_UNANNOUNCED = ("announced_at IS NULL AND organisation_id IS NOT NULL "
                         "AND outcome IS NOT NULL")
_UNANNOUNCED = ("announced_at IS NULL AND organisation_id IS NOT NULL "
                "AND ended_at IS NOT NULL")


def upgrade() -> None:
    op.add_column("calls", sa.Column("announce_after", sa.DateTime(timezone=True),
                                     nullable=True))
    op.add_column("calls", sa.Column("announce_failures", sa.Integer(), nullable=False,
                                     server_default=sa.text("0")))
    calls = sa.table("calls", sa.column("ended_at"), sa.column("outcome"),
                     sa.column("announced_at"))
    op.execute(calls.update().where(calls.c.ended_at.is_not(None),
                                    calls.c.outcome.is_(None),
                                    calls.c.announced_at.is_(None))
               .values(announced_at=calls.c.ended_at))
    op.drop_index("ix_calls_unannounced", table_name="calls")
    op.create_index("ix_calls_unannounced", "calls", ["ended_at"],
                    postgresql_where=sa.text(_UNANNOUNCED), sqlite_where=sa.text(_UNANNOUNCED))


def downgrade() -> None:
    # Dropped before SQLite's batch copy of the table, made again after it.
    op.drop_index("ix_calls_unannounced", table_name="calls")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("announce_failures")
        batch.drop_column("announce_after")
    op.create_index("ix_calls_unannounced", "calls", ["ended_at"],
                    postgresql_where=sa.text(_RECORDED_UNANNOUNCED),
                    sqlite_where=sa.text(_RECORDED_UNANNOUNCED))

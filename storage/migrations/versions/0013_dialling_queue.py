"""The dialling queue: campaigns being dialled, jobs, attempts, do-not-call, CPS budgets, workers.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# Frozen copies of the values at this revision (storage.dialling_tables may grow later).
_CAMPAIGN_STATES = "'running', 'paused', 'stopped'"
_JOB_STATES = "'queued', 'leased', 'calling', 'done'"


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dial_campaigns",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("organisation_id", sa.String(36), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("from_number", sa.String(32), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dial_campaigns")),
        sa.UniqueConstraint("name", name=op.f("uq_dial_campaigns_name")),
        sa.CheckConstraint(f"state IN ({_CAMPAIGN_STATES})",
                           name=op.f("ck_dial_campaigns_state")),
    )
    op.create_table(
        "dial_jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("recipient", sa.JSON(), nullable=False),
        sa.Column("zones", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("run_after", _when(), nullable=False),
        sa.Column("lease_until", _when(), nullable=True),
        sa.Column("leased_by", sa.String(128), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("call_id", sa.String(64), nullable=True),
        sa.Column("answered_by", sa.String(32), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("reason", sa.String(1024), nullable=True),
        sa.Column("updated_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dial_jobs")),
        sa.ForeignKeyConstraint(["campaign_id"], ["dial_campaigns.id"], ondelete="CASCADE",
                                name=op.f("fk_dial_jobs_campaign_id_dial_campaigns")),
        sa.UniqueConstraint("campaign_id", "phone", name=op.f("uq_dial_jobs_campaign_phone")),
        sa.CheckConstraint(f"state IN ({_JOB_STATES})", name=op.f("ck_dial_jobs_state")),
    )
    op.create_index("ix_dial_jobs_campaign_state_run_after", "dial_jobs",
                    ["campaign_id", "state", "run_after"])
    op.create_index("ix_dial_jobs_call_id", "dial_jobs", ["call_id"])
    op.create_table(
        "dial_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(128), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=True),
        sa.Column("placed_at", _when(), nullable=False),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("answered_by", sa.String(32), nullable=True),
        sa.Column("reason", sa.String(1024), nullable=True),
        sa.Column("ended_at", _when(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dial_attempts")),
        sa.ForeignKeyConstraint(["job_id"], ["dial_jobs.id"], ondelete="CASCADE",
                                name=op.f("fk_dial_attempts_job_id_dial_jobs")),
        sa.UniqueConstraint("job_id", "attempt", name=op.f("uq_dial_attempts_job_attempt")),
    )
    op.create_index("ix_dial_attempts_job_id", "dial_attempts", ["job_id"])
    op.create_table(
        "do_not_call",
        sa.Column("scope", sa.String(36), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("added_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "phone", name=op.f("pk_do_not_call")),
    )
    op.create_table(
        "dial_budgets",
        sa.Column("account_sid", sa.String(64), nullable=False),
        sa.Column("next_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("account_sid", name=op.f("pk_dial_budgets")),
    )
    op.create_table(
        "dial_workers",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("started_at", _when(), nullable=False),
        sa.Column("heartbeat_at", _when(), nullable=False),
        sa.Column("stopped_at", _when(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_dial_workers")),
    )


def downgrade() -> None:
    op.drop_table("dial_workers")
    op.drop_table("dial_budgets")
    op.drop_table("do_not_call")
    op.drop_index("ix_dial_attempts_job_id", table_name="dial_attempts")
    op.drop_table("dial_attempts")
    op.drop_index("ix_dial_jobs_call_id", table_name="dial_jobs")
    op.drop_index("ix_dial_jobs_campaign_state_run_after", table_name="dial_jobs")
    op.drop_table("dial_jobs")
    op.drop_table("dial_campaigns")

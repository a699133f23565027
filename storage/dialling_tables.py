"""Tables of the dialling queue: campaigns being dialled, one job per contact, every attempt,
the do-not-call list, the calls-per-second budget of each Twilio account, and the workers.

The queue lives here rather than in a separate broker: workers on any host take jobs with
``SELECT ... FOR UPDATE SKIP LOCKED`` (telephony.dialling), and PostgreSQL, which already
decides first-confirm-wins for bookings, decides who calls whom.

A job is ``queued`` (waiting for ``run_after``), ``leased`` (a worker holds it until
``lease_until`` and is about to dial), ``calling`` (a call is ringing or in progress; the call's
final status callback settles it) or ``done`` with its ``outcome``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, one_of, utc_now

CAMPAIGN_STATES = ("running", "paused", "stopped")
JOB_STATES = ("queued", "leased", "calling", "done")
OUTCOMES = ("booked", "talked", "voicemail", "opted_out", "unreachable", "invalid")


class DialCampaignRow(Base):
    """A campaign whose contact list is in the queue, with the dialling settings it runs on.

    Workers read everything they need here (caller id, settings), not from campaign files:
    a worker on another host has no files. A name is unique within its organisation (and
    among the campaign files', which have none): see :data:`DIAL_CAMPAIGN_KEY`.
    """

    __tablename__ = "dial_campaigns"
    __table_args__ = (
        CheckConstraint(f"state IN ({one_of(CAMPAIGN_STATES)})", name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255))
    organisation_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="running")
    from_number: Mapped[str] = mapped_column(String(32))
    # The campaign's identity lines for its voicemail and its DiallingSettings, as JSON.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


# A queued campaign's key: (organisation, name), the campaign files' organisation being "".
# NULLs are distinct in a unique index, so NULL itself would let two file campaigns share a
# name; the expression index holds on PostgreSQL and SQLite alike.
DIAL_CAMPAIGN_KEY = (func.coalesce(DialCampaignRow.organisation_id, literal_column("''")),
                     DialCampaignRow.name)
Index("uq_dial_campaigns_organisation_name", *DIAL_CAMPAIGN_KEY, unique=True)


class DialJobRow(Base):
    """One contact of one campaign: where the dialling stands, and how it ended."""

    __tablename__ = "dial_jobs"
    __table_args__ = (
        UniqueConstraint("campaign_id", "phone", name="uq_dial_jobs_campaign_phone"),
        CheckConstraint(f"state IN ({one_of(JOB_STATES)})", name="state"),
        Index("ix_dial_jobs_campaign_state_run_after", "campaign_id", "state", "run_after"),
        Index("ix_dial_jobs_call_id", "call_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("dial_campaigns.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The IANA zones the contact may be in (the CSV's zone, else the number's candidates).
    zones: Mapped[list[str]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    run_after: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    leased_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    call_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class DialAttemptRow(Base):
    """One call placed (or tried) for a job: Twilio's status and why it ended."""

    __tablename__ = "dial_attempts"
    __table_args__ = (
        UniqueConstraint("job_id", "attempt", name="uq_dial_attempts_job_attempt"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("dial_jobs.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(128))
    call_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    # Twilio's final call status, or "not_placed" / "refused" when Twilio took no call.
    status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class DoNotCallRow(Base):
    """A number that must never be called again by one organisation ("" = campaign files)."""

    __tablename__ = "do_not_call"

    scope: Mapped[str] = mapped_column(String(36), primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), primary_key=True)  # E.164
    source: Mapped[str] = mapped_column(String(64))  # "import" or "call <sid>"
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class DialBudgetRow(Base):
    """The calls-per-second budget of one Twilio account: the next moment a call may start.

    Every worker reserves its slot here under a row lock, so the budget holds across hosts.
    """

    __tablename__ = "dial_budgets"

    account_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class DialWorkerRow(Base):
    """A running (or stopped) ``booking-agent worker`` process and its last sign of life."""

    __tablename__ = "dial_workers"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

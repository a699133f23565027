"""Tables for phone calls: one row per call, and one row per contact a campaign dials.

A call row also says how far the call got (answered, its media stream started, ended), and
its one media stream is claimed there with a conditional UPDATE: the database, not a
server's memory, decides which stream may start.

A contact row is claimed (``pending`` → ``dialling``, one attempt counted) in its own
transaction before the call is placed, and the unique (campaign, phone) pair means a stopped
and resumed dialler never calls anyone twice. A call Twilio never took puts the row back to
``pending``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, one_of, utc_now

DIRECTIONS = ("inbound", "outbound")
CONTACT_STATES = ("pending", "dialling", "dialled", "failed")
# Ended calls of organisations whose webhooks are not written yet (recorded or not: a call
# nobody answered, or whose pipeline died, has no outcome): what the sweep reads (normally
# near empty; campaign files' calls and calls still going are never in it).
UNANNOUNCED = "announced_at IS NULL AND organisation_id IS NOT NULL AND ended_at IS NOT NULL"




class CallRow(Base):
    """One phone call: Twilio's status, and what was said, called and booked on it."""

    __tablename__ = "calls"
    __table_args__ = (
        CheckConstraint(f"direction IN ({one_of(DIRECTIONS)})", name="direction"),
        Index("ix_calls_started_at", "started_at"),
        Index("ix_calls_organisation_id", "organisation_id", "started_at"),
        Index("ix_calls_unannounced", "ended_at", postgresql_where=text(UNANNOUNCED),
              sqlite_where=text(UNANNOUNCED)),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # Twilio's CallSid
    campaign: Mapped[str] = mapped_column(String(255))
    direction: Mapped[str] = mapped_column(String(16))
    caller_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    our_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    status: Mapped[str] = mapped_column(String(32), default="initiated")
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    duration_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    transcript: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    tool_calls: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    bookings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    turn_latencies: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # What the caller asked for or the agent promised: a call back (and when), no more calls,
    # a person to follow up.
    follow_ups: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # A call is answered with a stream, its one stream starts, it ends (``ended_at``): kept
    # here, not in a server's memory, so a replayed webhook or token is refused by any server.
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    stream_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The organisation whose campaign the call was for (None: a campaign file's call).
    organisation_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # When its webhooks went into the outbox (claimed once, in that same transaction).
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # A call whose announcing failed (bad stored data) is tried again only after this, so the
    # calls behind it are not held up; ``announce_failures`` spaces the tries out.
    announce_after: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    announce_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DialContactRow(Base):
    """One contact of one campaign's dial list, and what became of calling them."""

    __tablename__ = "dial_contacts"
    __table_args__ = (
        UniqueConstraint("campaign", "phone", name="uq_dial_contacts_campaign_phone"),
        CheckConstraint(f"state IN ({one_of(CONTACT_STATES)})", name="state"),
        Index("ix_dial_contacts_campaign_state", "campaign", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    call_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Claims so far: more than one means Twilio's API was out when the contact came up.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

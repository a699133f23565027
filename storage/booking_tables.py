"""Tables for booking: this project's bookings, and the embedded local calendar's events.

The rule that no two live bookings on one calendar overlap lives in the database:
on PostgreSQL an exclusion constraint over the blocked ranges (created by migration
0001, which also shows its exact form), on SQLite a serialising transaction in
``calendar_backend.sql_store``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, one_of, utc_now


class BookingStatus(StrEnum):
    """A booking's life: pending (slot claimed, calendar write under way) -> confirmed |
    failed; confirmed -> cancelled. ``held`` rows keep a moving booking's old range claimed
    until the calendar has accepted the move (see ``BookingService.move``).

    The owner changing the event in their calendar (``calendar_backend.owner_changes``):
    deleted or cancelled there -> ``cancelled_by_owner``; moved onto another booking ->
    ``conflict`` (both events stay on the calendar, whose busy time keeps them from being
    offered; the operator is told), and back to ``confirmed`` once moved somewhere free.

    Members are the stored strings, so ``status == "confirmed"`` holds for either.
    """

    PENDING = "pending"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    HELD = "held"
    CANCELLED_BY_OWNER = "cancelled_by_owner"
    CONFLICT = "conflict"


BOOKING_STATUSES = tuple(BookingStatus)
# Statuses whose blocked range is taken; the exclusion constraint's WHERE uses these.
LIVE_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.HELD)
SHOW_AS = ("busy", "tentative", "oof", "free")
BLOCKING_SHOW_AS = ("busy", "tentative", "oof")
# A call holds at most one booking per calendar (a second one is a move).
ONE_LIVE_PER_CALL = "status IN ('pending', 'confirmed') AND hold_of IS NULL"




class BookingRow(Base):
    """One booking (or one held range of a booking being moved) on one calendar."""

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint(f"status IN ({one_of(BOOKING_STATUSES)})", name="status"),
        CheckConstraint("blocked_start <= start AND \"end\" <= blocked_end", name="blocked"),
        UniqueConstraint("idempotency_key"),
        Index("ix_bookings_calendar_blocked", "calendar_id", "blocked_start"),
        Index("ix_bookings_call_id", "call_id"),
        Index("ix_bookings_hold_of", "hold_of"),
        Index("ix_bookings_campaign_member", "campaign", "member", "created_at"),
        Index(
            "uq_bookings_one_live_per_call", "calendar_id", "call_id", unique=True,
            postgresql_where=text(ONE_LIVE_PER_CALL), sqlite_where=text(ONE_LIVE_PER_CALL),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    calendar_id: Mapped[str] = mapped_column(String(255))
    call_id: Mapped[str] = mapped_column(String(255))
    campaign: Mapped[str] = mapped_column(String(255))
    attendee_email: Mapped[str] = mapped_column(String(320))
    attendee_name: Mapped[str | None] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(Text)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    blocked_start: Mapped[datetime] = mapped_column(UTCDateTime)
    blocked_end: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str | None] = mapped_column(String(1024))
    online_meeting_url: Mapped[str | None] = mapped_column(Text)
    # Derived from the booking id, so a retried calendar write never makes a second event.
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    # Set on "held" rows: the booking whose old range this row keeps during a move.
    hold_of: Mapped[str | None] = mapped_column(String(36))
    # The round-robin pool member the booking was assigned to (NULL off a pool); the
    # pool's "least recently booked" is read from here.
    member: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)


class LocalEventRow(Base):
    """An event on the embedded local calendar."""

    __tablename__ = "local_events"
    __table_args__ = (
        CheckConstraint(f"show_as IN ({one_of(SHOW_AS)})", name="show_as"),
        # NULL keys (events seeded by an operator) never collide.
        UniqueConstraint("calendar_id", "idempotency_key"),
        Index("ix_local_events_calendar_start", "calendar_id", "start"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    calendar_id: Mapped[str] = mapped_column(String(255))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, default="")
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    attendees: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    location: Mapped[str | None] = mapped_column(Text)
    show_as: Mapped[str] = mapped_column(String(16), default="busy")
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    cancel_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)

"""Following Outlook calendars: each connection's sync state and subscription, the synced copy
of its events, and what owners' changes did to bookings (the operator's record).

The subscription's ``clientState`` secret is stored only as its SHA-256: a notification is
believed when its ``clientState`` hashes to it, and the database never holds the secret.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, one_of, utc_now

# What an owner's change in the calendar did to a booking.
SYNC_NOTE_KINDS = ("cancelled_by_owner", "moved", "conflict", "declined")


class OutlookSyncStateRow(Base):
    """Where the delta sync of one connection's booking calendar stands."""

    __tablename__ = "outlook_sync_states"

    connection_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # The whole @odata.deltaLink of the last round (None: the next sync is a full one).
    delta_link: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The calendar the link follows (the connection may be moved to another calendar).
    calendar_id: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    full_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    subscription_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    subscription_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime,
                                                                     nullable=True)
    client_state_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)


class OutlookSyncedEventRow(Base):
    """One event of a connection's booking calendar as the last sync saw it."""

    __tablename__ = "outlook_synced_events"
    __table_args__ = (Index("ix_outlook_synced_events_start", "connection_id", "start"),)

    connection_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(1024), primary_key=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    is_all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    show_as: Mapped[str] = mapped_column(String(32), default="busy")
    is_cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    join_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    transaction_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    change_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # [{"email": ..., "response": ...}] of the invited attendees.
    attendees: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class BookingSyncNoteRow(Base):
    """What an owner's change in the calendar did to a booking, for the operator to see."""

    __tablename__ = "booking_sync_notes"
    __table_args__ = (
        CheckConstraint(f"kind IN ({one_of(SYNC_NOTE_KINDS)})", name="kind"),
        Index("ix_booking_sync_notes_booking_id", "booking_id"),
        Index("ix_booking_sync_notes_calendar_created", "calendar_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    booking_id: Mapped[str] = mapped_column(String(36))
    calendar_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    # The other booking a move ran into (kind "conflict").
    other_booking_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

"""Following Google calendars: each connection's sync state and push channel, and the synced
copy of its events (the operator's record of owners' changes is shared with Outlook:
``booking_sync_notes``).

The channel's token secret is stored only as its SHA-256: a notification is believed when
its ``X-Goog-Channel-Token`` hashes to it, and the database never holds the secret.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, utc_now


class GoogleSyncStateRow(Base):
    """Where the incremental sync of one Google connection's booking calendar stands."""

    __tablename__ = "google_sync_states"

    connection_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # The nextSyncToken of the last round (None: the next sync is a full one).
    sync_token: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The calendar the token follows (the connection may be moved to another calendar).
    calendar_id: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    full_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    channel_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    channel_resource_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The calendar the channel watches (a connection moved to another calendar needs a new one).
    channel_calendar_id: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    channel_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    channel_token_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)


class GoogleSyncedEventRow(Base):
    """One event of a Google connection's booking calendar as the last sync saw it."""

    __tablename__ = "google_synced_events"
    __table_args__ = (Index("ix_google_synced_events_start", "connection_id", "start"),)

    connection_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(1024), primary_key=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    is_all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    show_as: Mapped[str] = mapped_column(String(32), default="busy")
    join_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    # [{"email": ..., "response": ...}] of the invited attendees.
    attendees: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

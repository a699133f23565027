"""Google connections (one per Google account) and sign-ins waiting for their redirect.

Tokens and pending flows hold secrets (refresh tokens, PKCE verifiers): both columns are
Fernet ciphertext, never plain text.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, one_of, utc_now
from storage.outlook_tables import CONNECTION_STATUSES


class GoogleConnectionRow(Base):
    """A Google account connected by the owner, and the calendar booked on."""

    __tablename__ = "google_connections"
    __table_args__ = (
        CheckConstraint(f"status IN ({one_of(CONNECTION_STATUSES)})", name="status"),
        UniqueConstraint("name"),
        UniqueConstraint("subject"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    # Google's stable account id (the ID token's ``sub``): a reconnect finds the same row.
    subject: Mapped[str] = mapped_column(String(255))
    username: Mapped[str] = mapped_column(String(320))
    calendar_id: Mapped[str] = mapped_column(String(1024))
    calendar_name: Mapped[str] = mapped_column(String(255))
    meet_allowed: Mapped[bool] = mapped_column(Boolean)
    # The organisation member who connected it (API or console); both NULL for a
    # server-wide connection made from the CLI.
    organisation_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("organisations.id", ondelete="CASCADE"), nullable=True)
    operator_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("operators.id", ondelete="CASCADE"), nullable=True, index=True)
    calendar_time_zone: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="connected")
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    token: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)


class GoogleSignInRow(Base):
    """An authorization-code flow started and waiting for its redirect (kept server-side)."""

    __tablename__ = "google_sign_ins"

    state: Mapped[str] = mapped_column(String(255), primary_key=True)
    flow: Mapped[bytes] = mapped_column(LargeBinary)
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The member it connects for (started from the API or the console), else NULL.
    operator_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

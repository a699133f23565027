"""Outlook connections (one per Microsoft account) and sign-ins waiting for their redirect.

Token caches and pending flows hold secrets (refresh tokens, PKCE verifiers): both columns
are Fernet ciphertext, never plain text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
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

ACCOUNT_TYPES = ("work", "personal")
# connected -> needs_reconnect (refresh failed) -> connected (operator signed in again);
# any -> disconnected (operator removed the tokens).
CONNECTION_STATUSES = ("connected", "needs_reconnect", "disconnected")




class OutlookConnectionRow(Base):
    """A Microsoft account connected by the owner, and the calendar booked on."""

    __tablename__ = "outlook_connections"
    __table_args__ = (
        CheckConstraint(f"account_type IN ({one_of(ACCOUNT_TYPES)})", name="account_type"),
        CheckConstraint(f"status IN ({one_of(CONNECTION_STATUSES)})", name="status"),
        UniqueConstraint("name"),
        UniqueConstraint("tenant_id", "object_id", name="uq_outlook_connections_account"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    tenant_id: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(64))
    home_account_id: Mapped[str] = mapped_column(String(160))
    username: Mapped[str] = mapped_column(String(320))
    account_type: Mapped[str] = mapped_column(String(16))
    calendar_id: Mapped[str] = mapped_column(String(1024))
    calendar_name: Mapped[str] = mapped_column(String(255))
    # None: not known (connected before this was recorded).
    calendar_is_default: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # Other calendars whose busy time blocks booking: [{"id": ..., "name": ...}].
    blocking_calendars: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    teams_allowed: Mapped[bool] = mapped_column(Boolean)
    # The organisation member who connected it (API or console); both NULL for a
    # server-wide connection made from the CLI.
    organisation_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("organisations.id", ondelete="CASCADE"), nullable=True)
    operator_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("operators.id", ondelete="CASCADE"), nullable=True, index=True)
    mailbox_time_zone: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="connected")
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    token_cache: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)


class OutlookSignInRow(Base):
    """An authorization-code flow started and waiting for its redirect (kept server-side)."""

    __tablename__ = "outlook_sign_ins"

    state: Mapped[str] = mapped_column(String(255), primary_key=True)
    flow: Mapped[bytes] = mapped_column(LargeBinary)
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The member it connects for (started from the API or the console), else NULL.
    operator_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

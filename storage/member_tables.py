"""Which provider each organisation member books on, when they connected both.

The connections themselves stay in ``outlook_connections`` / ``google_connections`` (with
their ``organisation_id`` and ``operator_id``); this row only records the member's choice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, one_of, utc_now

PROVIDERS = ("outlook", "google")


class MemberCalendarRow(Base):
    """A member's active provider (``None``: nothing connected)."""

    __tablename__ = "member_calendars"
    __table_args__ = (
        CheckConstraint(f"active_provider IN ({one_of(PROVIDERS)})", name="active_provider"),
    )

    operator_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("operators.id", ondelete="CASCADE"), primary_key=True)
    active_provider: Mapped[str | None] = mapped_column(String(16), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)

"""Tables for operators: organisations, the people who sign in, API keys, campaigns and the
phone numbers their campaigns answer.

Everything an operator manages belongs to one organisation; every query the operator API
makes is filtered by it, so another organisation's rows are simply not found.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, utc_now


class OrganisationRow(Base):
    """A customer of the product: its operators, keys and campaigns hang off it."""

    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class OperatorRow(Base):
    """A person who signs in to the console (password kept as an argon2 hash)."""

    __tablename__ = "operators"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-cased
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class ApiKeyRow(Base):
    """A key for the REST API: only its SHA-256 is kept (the key is shown once)."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # The key's public part, shown in listings and used to find the row.
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class CampaignRow(Base):
    """A campaign an operator made: the same document a campaign file holds, validated."""

    __tablename__ = "campaigns"
    __table_args__ = (
        UniqueConstraint("organisation_id", "name"),
        Index("ix_campaigns_organisation_id", "organisation_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organisations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class PhoneNumberRow(Base):
    """A phone number stored campaigns answer, and the one organisation it belongs to.

    The primary key is what makes a number one organisation's: two organisations claiming it
    at once both write this row, and only one of them can (the other finds it taken).
    """

    __tablename__ = "phone_numbers"
    __table_args__ = (
        # What campaign_numbers refers to: a campaign may list only its organisation's numbers.
        UniqueConstraint("number", "organisation_id", name="uq_phone_numbers_number_organisation"),
    )

    number: Mapped[str] = mapped_column(String(32), primary_key=True)  # E.164
    organisation_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organisations.id", ondelete="CASCADE"))


class CampaignNumberRow(Base):
    """A number a stored campaign lists: the index an inbound call is routed by (the campaign
    document stays the truth; this row is written in the same transaction)."""

    __tablename__ = "campaign_numbers"
    __table_args__ = (
        ForeignKeyConstraint(["number", "organisation_id"],
                             ["phone_numbers.number", "phone_numbers.organisation_id"]),
        Index("ix_campaign_numbers_campaign_id", "campaign_id"),
    )

    number: Mapped[str] = mapped_column(String(32), primary_key=True)  # E.164
    campaign_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(String(36))

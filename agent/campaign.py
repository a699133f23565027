"""A campaign as the dialogue sees it: who is calling, why, which numbers, how it books.

Campaign files (YAML) are read and reported on by the application shell (app.campaign_files).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from calendar_backend.booking_settings import BookingSettings
from caller_language.phone_numbers import e164


class Campaign(BaseModel):
    """One calling campaign: who is calling, why, which numbers it answers, and how it books."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    business_name: str = "our team"
    agent_name: str = "Alex"
    purpose: str = "a short introductory call"
    phone_numbers: list[str] = Field(default_factory=list)
    booking: BookingSettings = Field(default_factory=BookingSettings)

    @field_validator("phone_numbers")
    @classmethod
    def _e164(cls, numbers: list[str]) -> list[str]:
        return [e164(raw) for raw in numbers]

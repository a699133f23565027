"""A campaign as the dialogue sees it: who is calling, why, which numbers, how it books.

Campaign files (YAML) are read and reported on by the application shell (app.campaign_files).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from calendar_backend.booking_settings import BookingSettings
from caller_language.phone_numbers import e164


class CallerHours(BaseModel):
    """The caller-local hours offers favour (``start`` inclusive, ``end`` exclusive)."""

    model_config = ConfigDict(extra="forbid")

    start: int = Field(8, ge=0, le=23)
    end: int = Field(20, ge=1, le=24)

    @model_validator(mode="after")
    def _ordered(self) -> CallerHours:
        if self.end <= self.start:
            raise ValueError("caller_hours.end must be after caller_hours.start")
        return self


class Campaign(BaseModel):
    """One calling campaign: who is calling, why, which numbers it answers, and how it books."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)  # stored with every call and booking
    business_name: str = "our team"
    agent_name: str = "Alex"
    purpose: str = "a short introductory call"
    phone_numbers: list[str] = Field(default_factory=list)
    # What the agent may tell a caller about the offer, in its own words (both policies).
    talking_points: list[str] = Field(default_factory=list, max_length=20)
    # Questions callers ask, with the answer to give: {"what does it cost": "It's free."}.
    faq: dict[str, str] = Field(default_factory=dict, max_length=50)
    # Hours the agent prefers to offer in the caller's own zone (8 AM to 8 PM by default):
    # an offer at 6 AM their time is a bad offer even if the owner is free.
    caller_hours: CallerHours = Field(default_factory=lambda: CallerHours())
    booking: BookingSettings = Field(default_factory=BookingSettings)

    @field_validator("phone_numbers")
    @classmethod
    def _e164(cls, numbers: list[str]) -> list[str]:
        return [e164(raw) for raw in numbers]

"""A campaign as the dialogue sees it: who is calling, why, which numbers, how it books.

Campaign files (YAML) are read and reported on by the application shell (app.campaign_files).
"""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_serializer,
    field_validator,
    model_validator,
)

from calendar_backend.booking_settings import BookingSettings, unknown_tokens, wall_time
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


class CallingHours(BaseModel):
    """When contacts may be called, as wall-clock times in the contact's own zone.

    8:00 to 21:00 by default: the US rule (47 CFR 64.1200(c)(1)) and polite elsewhere.
    """

    model_config = ConfigDict(extra="forbid")

    start: time = time(8, 0)
    end: time = time(21, 0)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _wall(cls, value: object) -> object:
        return wall_time(value)

    @field_serializer("start", "end", when_used="json")
    def _hh_mm(self, value: time) -> str:
        return value.strftime("%H:%M")

    @model_validator(mode="after")
    def _ordered(self) -> CallingHours:
        if self.end <= self.start:
            raise ValueError("dialling.calling_hours.end must be after its start "
                             "(windows crossing midnight are not supported)")
        return self


class DiallingSettings(BaseModel):
    """How the dialling queue calls this campaign's contact list."""

    model_config = ConfigDict(extra="forbid")

    calling_hours: CallingHours = Field(default_factory=lambda: CallingHours())
    # Calls placed per contact at most (busy, no answer, failed and Twilio outages count).
    max_attempts: int = Field(3, ge=1, le=20)
    # The first retry waits this long; each further one twice as long as the one before.
    retry_backoff_seconds: float = Field(600.0, ge=0, le=7 * 24 * 3600)
    # Calls of this campaign ringing or in progress at once, across every worker.
    max_calls_in_progress: int = Field(10, ge=1, le=10_000)
    # On an answering machine: leave ``voicemail_message`` after the beep, or hang up.
    on_machine: Literal["voicemail", "hang_up"] = "voicemail"
    # {recipient.*} tokens as in booking templates; unset, prompts' ``voicemail`` line.
    voicemail_message: str | None = Field(None, max_length=1000)

    @field_validator("voicemail_message")
    @classmethod
    def _known_tokens(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            unknown = unknown_tokens(value)
        except ValueError as exc:
            raise ValueError(f"malformed template: {exc}") from None
        if unknown:
            raise ValueError("unknown template token " + ", ".join("{" + n + "}" for n in unknown))
        return value


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
    dialling: DiallingSettings = Field(default_factory=lambda: DiallingSettings())

    @field_validator("phone_numbers")
    @classmethod
    def _e164(cls, numbers: list[str]) -> list[str]:
        return [e164(raw) for raw in numbers]

"""What the phone side needs, handed down by the application shell (it reads the settings)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pydantic import SecretStr

from agent.call_session import CalendarConnection
from agent.campaign import Campaign
from agent.config import LLMConfig
from telephony.call_records import EndedCall


@dataclass(frozen=True, slots=True, kw_only=True)
class TwilioConfig:
    """The Twilio account, its REST base URL, and the public URL Twilio reaches us at."""

    account_sid: str | None
    auth_token: SecretStr | None
    api_url: str
    public_url: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeechConfig:
    """Which speech providers to use and their keys; "auto" takes the first with a key."""

    stt_provider: str
    tts_provider: str
    tts_voice: str | None
    deepgram_api_key: SecretStr | None
    cartesia_api_key: SecretStr | None
    elevenlabs_api_key: SecretStr | None
    openai_api_key: SecretStr | None
    openai_base_url: str | None


class ConnectCalendar(Protocol):
    """The campaign's calendar as a call sees it; ``organisation_id`` is the campaign's
    organisation when an operator keeps it (its calendars are the organisation's)."""

    def __call__(self, campaign: Campaign, *,
                 organisation_id: str | None = None) -> CalendarConnection: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneSetup:
    """Everything one phone call is wired with: accounts, speech, the LLM and the calendars."""

    twilio: TwilioConfig
    speech: SpeechConfig
    llm: LLMConfig | None
    # The campaign's calendar as a call sees it (chosen by the shell from the campaign's
    # ``booking.calendar``).
    connect_calendar: ConnectCalendar
    silence_timeout_seconds: float
    # Told of every call once it is recorded (the shell sends its webhooks), off the loop.
    call_ended: Callable[[EndedCall], None] | None = None

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


@dataclass(frozen=True, slots=True, kw_only=True)
class DiallerConfig:
    """How a dialling worker paces and holds its jobs (from the settings)."""

    # Calls started per second on one Twilio account, across every worker.
    cps: float = 1.0
    # Slots are this much wider than 1/cps, so network jitter never packs more than ``cps``
    # calls into one second as Twilio counts them.
    cps_margin: float = 0.1
    # How long a worker holds a job before dialling; a dead worker's job is free after it.
    lease_seconds: float = 30.0
    # From counting an attempt until the call is known (the worker or the first status
    # callback saw its sid): more than Twilio's API time-out (API_TIMEOUT_SECONDS) plus a
    # callback, so a slow API never lets a second worker dial the same contact.
    confirm_seconds: float = 60.0
    # A call this long without a final status is checked with Twilio.
    call_lease_seconds: float = 3600.0
    # Pause between looks when no job is due.
    poll_seconds: float = 1.0
    heartbeat_seconds: float = 5.0
    # Jobs one worker dials at once (each waits for its own slot of the budget).
    concurrency: int = 2

"""What the Outlook and Google calendar tests share: the owner's browser, the booking
campaign, a guided call, and the environment ``booking-agent`` runs with."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet

from agent.call_session import CallSession
from agent.campaign import Campaign
from app.campaign_files import parse_campaign
from app.harness import CalendarSpec, CallerSpec, CallResult, EventSpec, run_call, scripted_input
from app.settings import Settings, get_settings
from storage.database import Database
from tests.fakes.loopback import free_port


def browser(url: str) -> str:
    """What the owner's browser does: open the sign-in URL, sign in, land on the redirect URL."""
    answer = httpx.get(url)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def video_campaign(calendar_ref: str) -> Campaign:
    """30-minute video calls on ``calendar_ref``, weekdays 9 to 5 in the calendar's zone."""
    return parse_campaign({
        "name": "spring-outreach",
        "business_name": "Northwind Consulting",
        "purpose": "a free 30-minute consultation",
        "booking": {
            "enabled": True,
            "calendar": calendar_ref,
            "meeting_length_minutes": 30,
            "availability": {"days": ["mon", "tue", "wed", "thu", "fri"],
                             "start": "09:00", "end": "17:00"},
            "buffer_after_minutes": 10,
            "minimum_notice_minutes": 120,
            "look_ahead_days": 14,
            "meeting_type": "video",
            "title_template": "Intro call with {recipient.fullName}",
        },
    })


async def guided_call(database: Database, settings: Settings, campaign: Campaign,
                      lines: list[str], *, caller: CallerSpec, now: datetime,
                      events: list[EventSpec] | None = None) -> tuple[CallResult, CallSession]:
    """One guided call booking on the campaign's own calendar."""
    return await run_call(
        campaign, database=database, settings=settings, caller=caller,
        next_line=scripted_input(lines), now=now, calendar=CalendarSpec(use="campaign"),
        policy="guided", events=events,
    )


# Yes to the meeting, the address, yes to the read-back, yes to the first time, done.
BOOKS_THE_FIRST_TIME = [
    "Sure, that sounds good.",
    "sam dot caller at example dot org",
    "Yes, that's right.",
    "Yes, book it.",
    "No, that's all. Thanks!",
]
# Books the first time, then moves the meeting to Wednesday, then cancels it, on one call.
MOVES_TO_WEDNESDAY_THEN_CANCELS = [
    *BOOKS_THE_FIRST_TIME[:4],
    "Actually, can we make it Wednesday instead?",
    "Yes, that works.",
    "Sorry, please cancel it after all.",
    "No, that's all. Thanks!",
]


def agent_lines(result: CallResult) -> str:
    """Everything the agent said on the call, as one string."""
    return " ".join(t["text"] for t in result.transcript if t["role"] == "agent")


def provider_environment(settings: Settings, provider: Mapping[str, str]) -> dict[str, str]:
    """The ``BOOKING_AGENT_*`` variables a ``booking-agent`` process needs to reach a calendar
    provider: ``settings``' token key and the ``provider`` settings (by their field names)."""
    assert settings.token_key is not None
    return {"BOOKING_AGENT_TOKEN_KEY": settings.token_key.get_secret_value(),
            **{f"BOOKING_AGENT_{field.upper()}": value for field, value in provider.items()}}


def operator_environment(database: Database, settings: Settings,
                         provider: Mapping[str, str],
                         monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Set the environment ``booking-agent`` runs with (this database, ``settings``' data dir,
    and :func:`provider_environment`) for the life of a fixture."""
    url = database.url
    if database.schema is not None:
        url = url.update_query_dict({"options": f"-csearch_path={database.schema},public"})
    for name, value in {
        "BOOKING_AGENT_DATABASE_URL": url.render_as_string(hide_password=False),
        "BOOKING_AGENT_DATA_DIR": str(settings.data_dir),
        **provider_environment(settings, provider),
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def cli_environment(provider: Mapping[str, str], data_dir: Path,
                    monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Set the environment an operator sets on their own machine (a fresh token key, the
    ``provider`` settings by their field names, the data dir's SQLite) for the life of a
    fixture, with the redirect URI a free local port (the CLI listens there); yields it."""
    [redirect_field] = [field for field in provider if field.endswith("_redirect_uri")]
    redirect_uri = f"http://127.0.0.1:{free_port()}{urlsplit(provider[redirect_field]).path}"
    for name, value in {"DATA_DIR": str(data_dir), "TOKEN_KEY": Fernet.generate_key().decode(),
                        **{field.upper(): value for field, value in provider.items()},
                        redirect_field.upper(): redirect_uri}.items():
        monkeypatch.setenv(f"BOOKING_AGENT_{name}", value)
    monkeypatch.delenv("BOOKING_AGENT_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield redirect_uri
    get_settings.cache_clear()

"""What the Outlook and Google calendar tests share: the owner's browser, the booking
campaign, a guided call, and the environment ``booking-agent`` runs with."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

import httpx
import pytest

from agent.call_session import CallSession
from agent.campaign import Campaign
from app.campaign_files import parse_campaign
from app.harness import CalendarSpec, CallerSpec, CallResult, EventSpec, run_call, scripted_input
from app.settings import Settings, get_settings
from storage.database import Database


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


def agent_lines(result: CallResult) -> str:
    """Everything the agent said on the call, as one string."""
    return " ".join(t["text"] for t in result.transcript if t["role"] == "agent")


def operator_environment(database: Database, settings: Settings,
                         provider: Mapping[str, str],
                         monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Set the environment ``booking-agent`` runs with (this database, ``settings``' data dir
    and token key, and the ``provider`` settings) for the life of a fixture."""
    url = database.url
    if database.schema is not None:
        url = url.update_query_dict({"options": f"-csearch_path={database.schema},public"})
    assert settings.token_key is not None
    for name, value in {
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "DATA_DIR": str(settings.data_dir),
        "TOKEN_KEY": settings.token_key.get_secret_value(),
        **provider,
    }.items():
        monkeypatch.setenv(f"BOOKING_AGENT_{name}", value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()

"""Prompts are templates built from the campaign, not strings in code."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent.call_session import CallSession
from agent.pipeline import system_prompt
from app.campaign_files import load_campaign
from prompts import _environment, line

CAMPAIGN = load_campaign("examples/campaigns/demo.yaml")


def _session(*, booking: bool, zone: str | None = None, link: bool = True) -> CallSession:
    return CallSession(
        campaign=CAMPAIGN, call_id="c", caller_number="+18885550147", caller_name="Chris Park",
        owner_zone="America/New_York", booking=object() if booking else None,  # type: ignore[arg-type]
        clock=lambda: datetime(2026, 12, 1, 14, tzinfo=UTC), caller_zone=zone,
        invite_has_link=link,
    )


def test_system_prompt_carries_the_campaign_and_the_booking_rules() -> None:
    prompt = system_prompt(_session(booking=True))
    assert prompt.startswith("You are Alex, calling on behalf of Northwind Consulting")
    assert "with Chris." in prompt
    assert "30-minute video call" in prompt
    assert "Offer booking only when the conversation gets there" in prompt
    assert "read the address back" in prompt
    assert "Never invent, guess or compute a time" in prompt
    assert "with the zone" in prompt
    assert "Ask which time zone they are in" in prompt
    assert "Tuesday 01 December 2026, 09:00 Eastern" in prompt


def test_a_known_caller_zone_is_stated_not_asked() -> None:
    prompt = system_prompt(_session(booking=True, zone="America/Chicago"))
    assert "suggests they are on Central" in prompt
    assert "Ask which time zone" not in prompt


def test_personal_microsoft_account_wording_never_promises_a_link() -> None:
    prompt = system_prompt(_session(booking=True, link=False))
    assert 'say "the details are in the invite"; never promise a link' in prompt
    assert "never promise a link" not in system_prompt(_session(booking=True, link=True))
    booked = line("booked", spoken="Tuesday at 2 PM Eastern", invite_words=line("invite_details"))
    assert booked.endswith("the details are in the invite.")


def test_without_booking_the_prompt_forbids_offering_times() -> None:
    prompt = system_prompt(_session(booking=False))
    assert "Booking is not available on this call" in prompt
    assert "find_slots" not in prompt


_MODULE = _environment().get_template("lines.j2").module
LINES = sorted(n for n, v in vars(_MODULE).items() if callable(v) and not n.startswith("_"))


def test_the_agents_lines_are_all_there() -> None:
    assert {"greeting", "ask_email", "email_readback", "offer_slot", "booked", "slot_taken",
            "moved", "anything_else", "goodbye"} <= set(LINES)


@pytest.mark.parametrize("name", LINES)
def test_every_line_renders_as_one_line_of_words(name: str) -> None:
    macro = getattr(_MODULE, name)
    fields = {arg: "X" for arg in macro.arguments}
    text = line(name, **fields)
    assert text and "\n" not in text and "  " not in text
    assert "{{" not in text and "{%" not in text


def test_an_unknown_line_is_an_error_not_silence() -> None:
    with pytest.raises(KeyError):
        line("no_such_line")


def test_the_prompt_carries_talking_points_faq_the_ai_disclosure_and_opt_outs() -> None:
    prompt = system_prompt(_session(booking=True))
    assert "We help small teams plan and staff their spring projects." in prompt
    assert '"what does it cost": The consultation is free, with no obligation.' in prompt
    assert "say plainly that you are an AI assistant calling for Northwind Consulting" in prompt
    assert "asks not to be called again" in prompt and "called back later" in prompt
    assert "Do not open with the booking." in prompt

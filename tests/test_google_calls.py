"""Calls that book on Google Calendar: the real dialogue, the real booking code, the emulator.

Each call runs through the test-call harness (the phone pipeline minus speech, guided policy) on
a campaign whose ``booking.calendar`` is ``google:<name>``, opened as a live call opens it. The
owner's account is connected by signing in through the emulator with the real authlib client,
and Calendar v3 is reached with the real httpx client: nothing is patched.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from agent.call_session import CallSession
from agent.campaign import Campaign
from app.cli import main
from app.harness import CallerSpec, CallResult
from app.settings import Settings
from calendar_backend.google.connections import Connection, find_connection
from calendar_backend.google.sign_in import begin_sign_in, complete_sign_in
from calendar_backend.google.upkeep import keep_connections_alive
from calendar_backend.interval import Interval
from storage.database import Database
from tests.calendar_helpers import (
    BOOKS_THE_FIRST_TIME,
    MOVES_TO_WEDNESDAY_THEN_CANCELS,
    agent_lines,
    browser,
    guided_call,
    video_campaign,
)
from tests.fakes.google import GoogleEmulator, fixtures

google, google_settings, operator_env = fixtures.google, fixtures.google_settings, \
    fixtures.operator_env

OWNER = fixtures.OWNER
# Monday 4 March 2030, 08:00 in New York (the calendar's zone), 13:00 in London.
NOW = datetime(2030, 3, 4, 13, 0, tzinfo=UTC)
# With two hours' notice the first free slot is 10:00 Eastern.
FIRST_SLOT = Interval(NOW + timedelta(hours=2), NOW + timedelta(hours=2, minutes=30))
CALLER = CallerSpec(number="+442079460000", first_name="Sam", last_name="Caller")
EMAIL = "sam.caller@example.org"


def google_campaign(connection: Connection) -> Campaign:
    """30-minute video calls on the connection, in the calendar's zone."""
    return video_campaign(connection.ref)



async def connect(database: Database, settings: Settings, emu: GoogleEmulator) -> Connection:
    """The owner connects their Google account by signing in through the emulator."""
    emu.sign_in_as(OWNER)
    url = await begin_sign_in(database, settings.google())
    return await complete_sign_in(database, settings.google(), browser(url))


async def call(database: Database, settings: Settings, campaign: Campaign,
               lines: list[str]) -> tuple[CallResult, CallSession]:
    """One guided call booking on the campaign's own (Google) calendar."""
    return await guided_call(database, settings, campaign, lines, caller=CALLER, now=NOW)



async def test_guided_call_books_on_google_with_the_caller_invited_and_a_meet_link(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    connection = await connect(database, google_settings, google)
    google.clear_log()

    result, session = await call(database, google_settings, google_campaign(connection),
                                 BOOKS_THE_FIRST_TIME)

    said = agent_lines(result)
    assert result.outcome == "booked", said
    assert "Booked for today at 10 AM Eastern, that's 3 PM your time." in said
    assert "it has the video link" in said
    [event] = google.events(OWNER)
    assert (event.start, event.end) == (FIRST_SLOT.start, FIRST_SLOT.end)
    assert event.data["summary"] == "Intro call with Sam Caller"
    assert event.data["attendees"] == [{"email": EMAIL, "displayName": "Sam Caller",
                                        "responseStatus": "needsAction"}]
    assert event.notifications == [("insert", "all")]
    [booking] = result.bookings
    assert booking["online_meeting_url"] == event.data["hangoutLink"]
    assert booking["online_meeting_url"].startswith("https://meet.google.com/")
    assert session.active_booking().event_id == event.id
    # One freeBusy for the call's availability, one narrow re-check of the slot and its
    # buffer, and one insert.
    assert [(r.method, r.path.rsplit("/", 1)[-1], r.status) for r in google.requests()] == [
        ("POST", "freeBusy", 200), ("POST", "freeBusy", 200), ("POST", "events", 200)]
    recheck = google.requests(path_contains="freeBusy")[1]
    assert (recheck.body["timeMin"], recheck.body["timeMax"]) == (
        "2030-03-04T15:00:00Z", "2030-03-04T15:40:00Z")


async def test_an_event_the_owner_made_in_google_calendar_is_never_offered(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    connection = await connect(database, google_settings, google)
    dentist = Interval(FIRST_SLOT.start, FIRST_SLOT.start + timedelta(hours=1))
    google.add_event(OWNER, dentist.start, dentist.end, summary="Dentist")
    # A "free" reminder the owner keeps on the calendar blocks nothing.
    google.add_event(OWNER, dentist.end, dentist.end + timedelta(hours=3), transparent=True)

    result, session = await call(database, google_settings, google_campaign(connection),
                                 BOOKS_THE_FIRST_TIME)

    said = agent_lines(result)
    assert result.outcome == "booked", said
    offered = [o.slot for o in session.offers.values()]
    assert offered and not any(slot.overlaps(dentist) for slot in offered)
    [ours] = [e for e in google.events(OWNER) if e.data.get("attendees")]
    assert ours.start == dentist.end
    assert ours.data["attendees"][0]["email"] == EMAIL


async def test_caller_moves_then_cancels_the_google_meeting_mid_call(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    connection = await connect(database, google_settings, google)

    result, _ = await call(database, google_settings, google_campaign(connection),
                           MOVES_TO_WEDNESDAY_THEN_CANCELS)

    said = agent_lines(result)
    assert "Done, I've moved it to Wednesday, March 6th at 9 AM Eastern" in said
    assert "Okay, I've cancelled that meeting." in said
    assert result.outcome == "cancelled", said
    # One event: inserted, moved in place (PATCH), then deleted with a note to the caller.
    assert google.events(OWNER) == []
    [event] = google.events(OWNER, include_cancelled=True)
    assert event.start == datetime(2030, 3, 6, 14, 0, tzinfo=UTC)
    assert event.data["description"] == "Cancelled by Sam on the phone."
    assert event.notifications == [("insert", "all"), ("patch", "all"), ("patch", "none"),
                                   ("delete", "all")]


async def test_a_call_that_finds_the_grant_revoked_goes_on_without_booking(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    connection = await connect(database, google_settings, google)
    google.revoke_grant(OWNER)

    result, session = await call(database, google_settings, google_campaign(connection),
                                 ["Sure, I'd like a meeting.", "No, that's all. Thanks!"])

    said = agent_lines(result)
    assert result.outcome == "no_booking_offered", said
    assert "e-mail" not in said and "I can do" not in said
    assert "Someone from Northwind Consulting will follow up" in said
    assert "invalid_grant" in session.booking_unavailable_reason
    marked = find_connection(database, connection.ref)
    assert (marked.status, marked.status_reason) == (
        "needs_reconnect", "invalid_grant: Token has been expired or revoked.")
    assert google.events(OWNER) == []




async def google_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """``booking-agent google ...`` (in a thread: it runs its own event loop); its output."""
    code = await asyncio.to_thread(main, ["google", *argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


async def test_revoked_access_found_by_upkeep_stops_booking_until_the_owner_reconnects(
        database: Database, google: GoogleEmulator, google_settings: Settings,
        operator_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    connection = await connect(database, google_settings, google)
    campaign = google_campaign(connection)
    google.revoke_grant(OWNER)

    stop = asyncio.Event()
    upkeep = asyncio.create_task(keep_connections_alive(database, google_settings.google(),
                                                        stop, every_seconds=0.05))
    try:
        for _ in range(100):
            if find_connection(database, connection.ref).status == "needs_reconnect":
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await upkeep
    reason = "invalid_grant: Token has been expired or revoked."
    assert find_connection(database, connection.ref).status_reason == reason

    # The next call goes on without booking, and the calendar is not even asked.
    google.clear_log()
    result, session = await call(database, google_settings, campaign, [
        "Could we set up a meeting for Wednesday?", "Okay, thanks. That's all."])
    assert result.outcome == "no_booking_offered", agent_lines(result)
    assert session.offers == {} and session.tool_calls == []
    assert google.requests() == []

    status = await google_cli(capsys, "status")
    assert f"health:    needs reconnect: {reason} (run: booking-agent google connect)" in status

    # The owner signs in again (headless: the URL, then where the browser landed).
    sign_in = await google_cli(capsys, "connect", "--no-listen")
    url = next(line for line in sign_in.splitlines() if line.startswith("http"))
    google.sign_in_as(OWNER)
    await google_cli(capsys, "connect", "--redirect-url", browser(url))
    assert "health:    ok" in await google_cli(capsys, "status")
    assert find_connection(database, connection.ref).id == connection.id

    result, _ = await call(database, google_settings, campaign, BOOKS_THE_FIRST_TIME)
    assert result.outcome == "booked", agent_lines(result)
    assert [e.start for e in google.events(OWNER)] == [FIRST_SLOT.start]

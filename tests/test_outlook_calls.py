"""Calls that book on Outlook: the real dialogue, the real booking code, the Microsoft emulator.

Each call runs through the test-call harness (the phone pipeline minus speech, guided policy) on
a campaign whose ``booking.calendar`` is ``outlook:<name>``, opened as a live call opens it. The
owner's account is connected by signing in through the emulator with the real MSAL, and Graph is
reached with the real httpx client: nothing is patched.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from agent.call_session import CallSession
from agent.campaign import Campaign
from app.cli import main
from app.harness import (
    CallerSpec,
    CallResult,
    EventSpec,
)
from app.settings import Settings
from calendar_backend.interval import Interval
from calendar_backend.outlook.connections import (
    Connection,
    find_connection,
    list_calendars,
    set_calendar,
)
from calendar_backend.outlook.sign_in import begin_sign_in, complete_sign_in
from calendar_backend.outlook.upkeep import keep_connections_alive
from storage.database import Database
from tests.calendar_helpers import (
    BOOKS_THE_FIRST_TIME,
    MOVES_TO_WEDNESDAY_THEN_CANCELS,
    agent_lines,
    browser,
    guided_call,
    video_campaign,
)
from tests.fakes.microsoft import MicrosoftEmulator, fixtures

emulator, ms_settings, operator_env = fixtures.emulator, fixtures.ms_settings, fixtures.operator_env

WORK, PERSONAL = "adele@contoso.com", "julie@outlook.com"
# Monday 4 March 2030, 08:00 in Los Angeles (Adele's mailbox zone), 17:00 in Berlin (Julie's).
NOW = datetime(2030, 3, 4, 16, 0, tzinfo=UTC)
# With two hours' notice Adele's first free slot is 10:00 Pacific.
FIRST_SLOT = Interval(NOW + timedelta(hours=2), NOW + timedelta(hours=2, minutes=30))
# A New York number: the caller's zone is assumed (Eastern) and said in every offer.
CALLER = CallerSpec(number="+12125550100", first_name="Sam", last_name="Caller")
EMAIL = "sam.caller@example.org"
BOOKED_WITH_LINK = "Booked for today at 10 AM Pacific, that's 1 PM your time. You'll get a " \
    "calendar invite by e-mail shortly; it has the video link."
COULD_NOT_BOOK = "I'm sorry, I couldn't reach the calendar to book that just now."


def outlook_campaign(connection: Connection) -> Campaign:
    """30-minute video calls on the connection, in the owner's mailbox zone (none set here)."""
    return video_campaign(connection.ref)



async def connect(database: Database, settings: Settings, emu: MicrosoftEmulator,
                  username: str) -> Connection:
    """The owner connects ``username`` by signing in through the emulator."""
    emu.sign_in_as(username)
    config = settings.outlook()
    return await complete_sign_in(database, config, browser(begin_sign_in(database, config)))


async def call(database: Database, settings: Settings, campaign: Campaign, lines: list[str],
               *, caller: CallerSpec = CALLER,
               events: list[EventSpec] | None = None) -> tuple[CallResult, CallSession]:
    """One guided call booking on the campaign's own (Outlook) calendar."""
    return await guided_call(database, settings, campaign, lines, caller=caller, now=NOW,
                             events=events)



def offered(session: CallSession) -> list[Interval]:
    """Every slot the agent offered on the call."""
    return [o.slot for o in session.offers.values()]


def graph_calls(emu: MicrosoftEmulator) -> list[tuple[str, str, int]]:
    return [(r.method, r.path.rsplit("/", 1)[-1], r.status) for r in emu.requests("graph")]


async def test_guided_call_books_on_a_work_account_with_a_teams_meeting(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    connection = await connect(database, ms_settings, emulator, WORK)
    emulator.clear_log()

    result, session = await call(database, ms_settings, outlook_campaign(connection),
                                 BOOKS_THE_FIRST_TIME)

    said = agent_lines(result)
    assert result.outcome == "booked", said
    assert BOOKED_WITH_LINK in said
    [event] = emulator.events(WORK)
    assert event.calendar_id == connection.calendar_id
    assert (event.start, event.end) == (FIRST_SLOT.start, FIRST_SLOT.end)
    assert event.data["subject"] == "Intro call with Sam Caller"
    assert event.data["attendees"] == [{
        "type": "required", "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
        "emailAddress": {"address": EMAIL, "name": "Sam Caller"}}]
    # The join URL is the one Graph's create answered with, kept on the booking.
    [booking] = result.bookings
    assert booking["online_meeting_url"] == event.data["onlineMeeting"]["joinUrl"]
    assert booking["online_meeting_url"].startswith("https://teams.microsoft.com/l/meetup-join/")
    assert session.active_booking().event_id == event.id
    # Graph saw one calendarView for the call's availability (the whole look-ahead), one
    # narrow re-check of the slot and its buffer, and one create.
    assert graph_calls(emulator) == [("GET", "calendarView", 200),
                                     ("GET", "calendarView", 200), ("POST", "events", 201)]
    availability, recheck = emulator.requests(path_contains="calendarView")
    assert (availability.query["startDateTime"], availability.query["endDateTime"]) == (
        "2030-03-04T18:00:00Z", "2030-03-18T16:40:00Z")
    assert (recheck.query["startDateTime"], recheck.query["endDateTime"]) == (
        "2030-03-04T18:00:00Z", "2030-03-04T18:40:00Z")


async def test_guided_call_books_on_a_personal_account_and_promises_the_invite_not_a_link(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    connection = await connect(database, ms_settings, emulator, PERSONAL)
    emulator.clear_log()
    london = CallerSpec(number="+442079460000", first_name="Sam", last_name="Caller")

    result, _ = await call(database, ms_settings, outlook_campaign(connection),
                           BOOKS_THE_FIRST_TIME, caller=london)

    said = agent_lines(result)
    assert result.outcome == "booked", said
    # Julie's mailbox is in Berlin: her first free slot is Tuesday 09:00 there, 08:00 in London.
    assert "Booked for tomorrow at 9 AM Central European time, that's 8 AM your time. You'll " \
        "get a calendar invite by e-mail shortly; the details are in the invite." in said
    assert "link" not in said
    [event] = emulator.events(PERSONAL)
    assert event.start == datetime(2030, 3, 5, 8, 0, tzinfo=UTC)
    assert event.data["attendees"][0]["emailAddress"]["address"] == EMAIL
    assert event.data["onlineMeeting"] is None
    [booking] = result.bookings
    assert booking["online_meeting_url"] is None
    # Teams is never asked for on a personal account.
    [create] = emulator.requests(method="POST")
    assert "isOnlineMeeting" not in create.body and "onlineMeetingProvider" not in create.body


@pytest.mark.parametrize("booking_calendar", ["Calendar", "Sales demos"])
async def test_an_event_the_owner_made_in_outlook_is_never_offered(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings,
        booking_calendar: str) -> None:
    connection = await connect(database, ms_settings, emulator, WORK)
    # Booking on another calendar than the default, the owner's meetings still count.
    [chosen] = [c for c in await list_calendars(database, ms_settings.outlook(), WORK)
                if c.name == booking_calendar]
    connection = set_calendar(database, connection.name, chosen)
    # 10:00 to 11:00 Pacific on the default calendar, made in Outlook, not by the agent.
    dentist = Interval(FIRST_SLOT.start, FIRST_SLOT.start + timedelta(hours=1))
    emulator.add_event(WORK, dentist.start, dentist.end, subject="Dentist")

    result, session = await call(database, ms_settings, outlook_campaign(connection), [
        "Sure, that sounds good.",
        "sam dot caller at example dot org",
        "Yes, that's right.",
        # 1:30 PM Eastern is 10:30 Pacific: inside the dentist appointment.
        "How about today at 1:30 PM?",
        "Yes, that works.",
        "No, that's all. Thanks!",
    ])

    said = agent_lines(result)
    assert result.outcome == "booked", said
    assert offered(session) and not any(slot.overlaps(dentist) for slot in offered(session))
    assert "I can do today at 11 AM Pacific, that's 2 PM your time" in said
    assert "1:30 PM your time" not in said and "10:30 AM Pacific" not in said
    [_, event] = emulator.events(WORK)
    assert (event.start, event.calendar_id) == (dentist.end, chosen.id)


async def test_another_caller_confirming_first_gets_the_slot_and_this_caller_the_next(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    connection = await connect(database, ms_settings, emulator, WORK)

    # While Sam hears the first offer, another caller confirms that same slot.
    result, session = await call(database, ms_settings, outlook_campaign(connection), [
        *BOOKS_THE_FIRST_TIME[:4], "Yes, that works.", "No, that's all. Thanks!",
    ], events=[EventSpec(after_turn=3, concurrent_booking="current")])

    said = agent_lines(result)
    assert "I'm sorry, that time was just taken by someone else. I can do today at " in said
    assert result.outcome == "booked", said
    other, sams = emulator.events(WORK)
    assert other.start == FIRST_SLOT.start
    assert other.data["attendees"][0]["emailAddress"]["address"] == "someone.else@example.com"
    assert sams.data["attendees"][0]["emailAddress"]["address"] == EMAIL
    assert sams.start >= other.end and sams.id == session.active_booking().event_id


async def test_caller_moves_then_cancels_the_outlook_meeting_mid_call(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    connection = await connect(database, ms_settings, emulator, WORK)

    result, _ = await call(database, ms_settings, outlook_campaign(connection),
                           MOVES_TO_WEDNESDAY_THEN_CANCELS)

    said = agent_lines(result)
    assert "Done, I've moved it to Wednesday, March 6th at 9 AM Pacific" in said
    assert "Okay, I've cancelled that meeting." in said
    assert result.outcome == "cancelled", said
    # One event: created, moved in place (PATCH), then cancelled with a note to the caller.
    assert emulator.events(WORK) == []
    [event] = emulator.events(WORK, include_deleted=True)
    assert event.start == datetime(2030, 3, 6, 17, 0, tzinfo=UTC)
    assert event.cancel_comment == "Cancelled by Sam on the phone."
    writes = [(r.method, r.path.removeprefix("/me"), r.status)
              for r in emulator.requests("graph") if r.method != "GET"]
    assert writes == [
        ("POST", f"/calendars/{connection.calendar_id}/events", 201),
        ("PATCH", f"/events/{event.id}", 200),
        ("POST", f"/events/{event.id}/cancel", 202),
    ]
    [cancel] = emulator.requests(method="POST", path_contains="/cancel")
    assert cancel.body == {"Comment": "Cancelled by Sam on the phone."}


# Each way the identity platform refuses a refresh, and the reason the operator sees.
REFRESH_REFUSALS = [
    pytest.param(("invalid_grant", 700082, None), "invalid_grant AADSTS700082",
                 id="refresh-token-expired-700082"),
    pytest.param(("invalid_grant", 50173, None), "invalid_grant AADSTS50173",
                 id="grant-revoked-50173"),
    pytest.param(("interaction_required", 50076, None), "interaction_required AADSTS50076",
                 id="interaction-required-50076"),
    pytest.param(None, "invalid_grant AADSTS65001 (consent_required)",
                 id="consent-revoked-65001"),
]


def refuse_refreshes(emu: MicrosoftEmulator, refusal: tuple[str, int, str | None] | None) -> None:
    if refusal is None:
        emu.revoke_consent(WORK)  # the owner removed the app's access
    else:
        emu.fail_refresh(WORK, *refusal)


async def outlook_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """``booking-agent outlook ...`` (in a thread: it runs its own event loop); its output."""
    code = await asyncio.to_thread(main, ["outlook", *argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


async def run_upkeep_until(database: Database, settings: Settings, ref: str,
                           status: str) -> Connection:
    """The server's background upkeep, until the connection has ``status``."""
    stop = asyncio.Event()
    upkeep = asyncio.create_task(
        keep_connections_alive(database, settings.outlook(), stop, every_seconds=0.05))
    try:
        for _ in range(100):
            connection = find_connection(database, ref)
            if connection.status == status:
                return connection
            await asyncio.sleep(0.05)
        raise AssertionError(f"{ref} never became {status}")
    finally:
        stop.set()
        await upkeep


@pytest.mark.parametrize(("refusal", "reason"), REFRESH_REFUSALS)
async def test_refused_refresh_stops_booking_on_calls_until_the_owner_reconnects(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings,
        operator_env: None, capsys: pytest.CaptureFixture[str],
        refusal: tuple[str, int, str | None] | None, reason: str) -> None:
    connection = await connect(database, ms_settings, emulator, WORK)
    campaign = outlook_campaign(connection)
    refuse_refreshes(emulator, refusal)

    marked = await run_upkeep_until(database, ms_settings, connection.ref, "needs_reconnect")
    assert marked.status_reason == reason

    # The next call goes on without booking: no address asked, no time offered.
    emulator.clear_log()
    result, session = await call(database, ms_settings, campaign, [
        "Could we set up a meeting for Wednesday?",
        "Okay, thanks. That's all.",
    ])
    said = agent_lines(result)
    assert result.outcome == "no_booking_offered", said
    assert "Someone from Northwind Consulting will follow up" in said
    assert "e-mail" not in said and "Does that work" not in said and "I can do" not in said
    assert session.offers == {} and session.tool_calls == []
    assert emulator.requests("graph") == []  # booking was not even attempted

    status = await outlook_cli(capsys, "status")
    assert f"health:    needs reconnect: {reason} (run: booking-agent outlook connect)" in status

    # The owner signs in again (headless: the URL, then where the browser landed).
    emulator.heal_refresh(WORK)
    sign_in = await outlook_cli(capsys, "connect", "--no-listen")
    url = next(line for line in sign_in.splitlines() if line.startswith("http"))
    emulator.sign_in_as(WORK)
    await outlook_cli(capsys, "connect", "--redirect-url", browser(url))
    assert "health:    ok" in await outlook_cli(capsys, "status")
    assert find_connection(database, connection.ref).id == connection.id

    result, _ = await call(database, ms_settings, campaign, BOOKS_THE_FIRST_TIME)
    assert result.outcome == "booked", agent_lines(result)
    assert [e.start for e in emulator.events(WORK)] == [FIRST_SLOT.start]


async def test_a_call_that_finds_the_refresh_refused_goes_on_without_booking(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    connection = await connect(database, ms_settings, emulator, WORK)
    emulator.fail_refresh(WORK, "invalid_grant", 700082)
    emulator.expire_access_tokens(WORK)

    result, session = await call(database, ms_settings, outlook_campaign(connection),
                                 ["Sure, I'd like a meeting.", "No, that's all. Thanks!"])

    said = agent_lines(result)
    assert result.outcome == "no_booking_offered", said
    assert "e-mail" not in said and "I can do" not in said
    assert "AADSTS700082" in session.booking_unavailable_reason
    marked = find_connection(database, connection.ref)
    assert (marked.status, marked.status_reason) == ("needs_reconnect",
                                                     "invalid_grant AADSTS700082")


@pytest.mark.parametrize("status", [503, 429])
async def test_a_call_during_a_sign_in_service_outage_goes_on_without_booking(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings,
        status: int) -> None:
    connection = await connect(database, ms_settings, emulator, WORK)
    # Graph refuses the token the call holds, and the token endpoint is down when the call
    # asks for a new one (MSAL raises MsalServiceError on the 503).
    emulator.expire_access_tokens(WORK)
    emulator.fail_token_requests(status, retry_after="0", times=3)

    result, session = await call(database, ms_settings, outlook_campaign(connection),
                                 ["Sure, I'd like a meeting.", "No, that's all. Thanks!"])

    said = agent_lines(result)
    assert result.outcome == "no_booking_offered", said
    assert "I can do" not in said
    assert "temporarily unavailable" in session.booking_unavailable_reason
    # A passing outage is not the owner's doing: the connection stays connected.
    assert find_connection(database, connection.ref).status == "connected"


async def test_graph_outage_while_booking_never_says_booked_and_releases_the_slot(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    connection = await connect(database, ms_settings, emulator, WORK)
    campaign = outlook_campaign(connection)
    # Graph keeps answering 503 to the create for longer than the call's 4-second budget.
    for _ in range(8):
        emulator.queue_fault(503, "ServiceNotAvailable", retry_after="1", method="POST")

    result, session = await call(database, ms_settings, campaign, BOOKS_THE_FIRST_TIME)

    said = agent_lines(result)
    assert COULD_NOT_BOOK in said
    assert "Booked" not in said and "invite" not in said
    assert result.outcome == "failed" and result.bookings == []
    [attempt] = session.bookings()
    assert (attempt.status, attempt.slot) == ("failed", FIRST_SLOT)
    creates = emulator.requests(method="POST")
    assert len(creates) >= 4 and {r.status for r in creates} == {503}
    assert emulator.events(WORK) == []

    # The slot is free again: the next caller is offered it and gets it.
    with emulator.world.lock:
        emulator.world.scripted.clear()
    result, session = await call(database, ms_settings, campaign, BOOKS_THE_FIRST_TIME)
    assert BOOKED_WITH_LINK in agent_lines(result)
    [event] = emulator.events(WORK)
    assert event.start == FIRST_SLOT.start

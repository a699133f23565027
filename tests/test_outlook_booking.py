"""End to end on the emulator: connect, read availability, book, move and cancel through BookingService."""  # noqa: E501

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from app.settings import Settings
from calendar_backend.booking import Booked, BookingFailed, BookingService, Cancelled, SlotTaken
from calendar_backend.booking_settings import BookingSettings, Recipient
from calendar_backend.outlook.connections import list_calendars, open_calendar, set_calendar
from calendar_backend.outlook.sign_in import begin_sign_in, complete_sign_in
from calendar_backend.outlook.upkeep import WITHDRAW_MESSAGE, sweep_failed_creates
from calendar_backend.provider import Attendee
from storage.database import Database
from tests.fakes.microsoft import MicrosoftEmulator, fixtures

emulator, ms_settings = fixtures.emulator, fixtures.ms_settings

WORK, PERSONAL = "adele@contoso.com", "julie@outlook.com"
# Monday 4 March 2030, 08:00 in Los Angeles: the first slot of the day is 09:00 PST (17:00 UTC).
NOW = datetime(2030, 3, 4, 16, 0, tzinfo=UTC)
CALLER = Attendee(email="sam.caller@example.org", name="Sam Caller")
RECIPIENT = Recipient(first_name="Sam", last_name="Caller", phone="+14155550100",
                      email="sam.caller@example.org")


async def connect(database: Database, settings: Settings, emu: MicrosoftEmulator,
                  username: str) -> str:
    emu.sign_in_as(username)
    redirect = httpx.get(begin_sign_in(database, settings.outlook())).headers["location"]
    return (await complete_sign_in(database, settings.outlook(), redirect)).ref


async def call(database: Database, settings: Settings, ref: str) -> BookingService:
    """What a call does when booking is on: open the calendar and read availability once."""
    provider = open_calendar(database, settings.outlook(), ref)
    assert provider is not None
    booking = BookingSettings(enabled=True, calendar=ref, meeting_length_minutes=30,
                              meeting_type="video",
                              title_template="Intro with {recipient.fullName}")
    service = BookingService.on_database(database, provider, booking, calendar_id=ref,
                             campaign_name="Spring outreach",
                             calendar_zone=await provider.time_zone())
    await service.load_availability(NOW)
    return service


async def test_work_account_books_moves_and_cancels_with_a_teams_meeting(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    ref = await connect(database, ms_settings, emulator, WORK)
    calendars = await list_calendars(database, ms_settings.outlook(), ref)
    set_calendar(database, ref, next(c for c in calendars if c.name == "Sales demos"))
    sales = next(c for c in calendars if c.name == "Sales demos")
    # The owner is already busy at 09:00 Pacific in Outlook.
    emulator.add_event(WORK, NOW + timedelta(hours=1), NOW + timedelta(hours=1, minutes=30),
                       subject="Dentist", calendar_id=sales.id)
    emulator.clear_log()

    service = await call(database, ms_settings, ref)
    slots = await service.free_slots(NOW, limit=3)
    assert [s.start for s in slots] == [NOW + timedelta(hours=1, minutes=30 * i)
                                       for i in (1, 2, 3)]
    booked = await service.book(start=slots[0].start, attendee=CALLER, recipient=RECIPIENT,
                                call_id="call-1", now=NOW)
    assert isinstance(booked, Booked)
    assert booked.online_meeting_url and booked.online_meeting_url.startswith(
        "https://teams.microsoft.com/")
    [dentist, event] = emulator.events(WORK)
    assert event.id == booked.event_id and event.calendar_id == sales.id
    assert event.start == slots[0].start
    assert event.data["subject"] == "Intro with Sam Caller"
    assert event.data["attendees"][0]["emailAddress"] == {"address": CALLER.email,
                                                          "name": "Sam Caller"}
    assert event.data["onlineMeeting"]["joinUrl"] == booked.online_meeting_url

    # The call's availability, then a narrow re-check, then one create. Booking on Sales
    # demos, each read covers the owner's default calendar too.
    views = emulator.requests(path_contains="calendarView")
    assert len(views) == 4
    assert len([v for v in views if v.path == "/me/calendar/calendarView"]) == 2
    assert all(v.query["startDateTime"] == "2030-03-04T17:30:00Z"
               and v.query["endDateTime"] == "2030-03-04T18:00:00Z" for v in views[2:])
    assert len(emulator.requests(method="POST")) == 1

    moved = await service.move(booked.booking_id, start=slots[2].start, call_id="call-1",
                               now=NOW)
    assert isinstance(moved, Booked) and moved.moved_from == booked.slot
    [_, event] = emulator.events(WORK)
    assert event.id == booked.event_id and event.start == slots[2].start
    assert len(emulator.requests(method="PATCH")) == 1

    cancelled = await service.cancel(booked.booking_id, call_id="call-1",
                                     message="Sam cancelled on the phone.")
    assert cancelled == Cancelled(booked.booking_id)
    assert emulator.events(WORK) == [dentist]
    [gone] = [e for e in emulator.events(WORK, include_deleted=True) if e.deleted]
    assert gone.cancel_comment == "Sam cancelled on the phone."


async def test_personal_account_books_without_a_meeting_link(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    ref = await connect(database, ms_settings, emulator, PERSONAL)
    emulator.clear_log()
    service = await call(database, ms_settings, ref)
    # Julie's mailbox is in Berlin: 09:00 there is 08:00 UTC on Tuesday.
    [first] = await service.free_slots(NOW, limit=1)
    assert first.start == datetime(2030, 3, 5, 8, 0, tzinfo=UTC)
    booked = await service.book(start=first.start, attendee=CALLER, recipient=RECIPIENT,
                                call_id="call-2", now=NOW)
    assert isinstance(booked, Booked)
    assert booked.online_meeting_url is None
    [event] = emulator.events(PERSONAL)
    assert event.data["attendees"][0]["emailAddress"]["address"] == CALLER.email
    [post] = emulator.requests(method="POST")
    assert "isOnlineMeeting" not in post.body


async def test_event_created_in_outlook_during_the_call_makes_the_slot_taken(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    ref = await connect(database, ms_settings, emulator, WORK)
    service = await call(database, ms_settings, ref)
    [first, second] = await service.free_slots(NOW, limit=2)
    # After availability was read, the owner blocks the first slot in Outlook.
    emulator.add_event(WORK, first.start, first.end, subject="Walk-in")
    taken = await service.book(start=first.start, attendee=CALLER, recipient=RECIPIENT,
                               call_id="call-3", now=NOW)
    assert isinstance(taken, SlotTaken)
    assert taken.alternatives[0] == second
    assert emulator.requests(method="POST") == []


async def test_event_left_by_a_failed_create_is_withdrawn_after_the_call(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    ref = await connect(database, ms_settings, emulator, WORK)
    provider = open_calendar(database, ms_settings.outlook(), ref, budget_seconds=0.5)
    booking = BookingSettings(enabled=True, calendar=ref, meeting_type="video")
    service = BookingService.on_database(database, provider, booking, calendar_id=ref,
                             campaign_name="Spring outreach",
                             calendar_zone=await provider.time_zone())
    [slot] = await service.free_slots(NOW, limit=1)
    # The create lands but its answer is lost, the retry is throttled past the budget, and
    # the look-up that would have found the event is refused too.
    emulator.queue_fault(504, "GatewayTimeout", method="POST", after_processing=True)
    emulator.queue_fault(503, "ServiceNotAvailable", retry_after="0.6", method="POST")
    emulator.queue_fault(503, "ServiceNotAvailable", retry_after="2.5",
                         path_contains="calendarView", skip=1)
    failed = await service.book(start=slot.start, attendee=CALLER, recipient=RECIPIENT,
                                call_id="call-4", now=NOW)
    assert isinstance(failed, BookingFailed)
    [stray] = emulator.events(WORK)

    assert await sweep_failed_creates(
        database, ms_settings.outlook(), settled_after=timedelta(0)) == 1
    assert emulator.events(WORK) == []
    [withdrawn] = emulator.events(WORK, include_deleted=True)
    assert withdrawn.id == stray.id
    assert withdrawn.cancel_comment == WITHDRAW_MESSAGE
    # Nothing left to withdraw on the next round.
    assert await sweep_failed_creates(
        database, ms_settings.outlook(), settled_after=timedelta(0)) == 0

"""The Google adapter on the emulator, through the real httpx client: busy time, inserts with the
caller invited and a Meet link, idempotent retries under rate limits and lost answers, moves and
cancellations (both databases hold the connection)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.settings import Settings
from calendar_backend.booking import WITHDRAW_MESSAGE, BookingFailed, BookingService
from calendar_backend.booking_settings import BookingSettings, Recipient
from calendar_backend.google.calendar import GoogleCalendar, event_id
from calendar_backend.google.connections import open_calendar
from calendar_backend.google.sign_in import begin_sign_in, complete_sign_in
from calendar_backend.google.upkeep import sweep_failed_creates
from calendar_backend.provider import (
    Attendee,
    BusyTime,
    CalendarUnavailable,
    EventNotFound,
    NewEvent,
)
from storage.database import Database
from tests.fakes.google import GoogleEmulator, fixtures

google, google_settings = fixtures.google, fixtures.google_settings

OWNER = fixtures.OWNER
NINE = datetime(2030, 3, 5, 14, tzinfo=UTC)  # Tuesday 09:00 in New York
CALLER = Attendee(email="sam.caller@example.org", name="Sam Caller")


async def calendar_for(database: Database, settings: Settings, emu: GoogleEmulator,
                       email: str = OWNER) -> GoogleCalendar:
    emu.sign_in_as(email)
    url = await begin_sign_in(database, settings.google())
    landed = httpx.get(url).headers["location"]
    connection = await complete_sign_in(database, settings.google(), landed)
    calendar = open_calendar(database, settings.google(), connection.ref)
    assert calendar is not None
    emu.clear_log()
    return calendar


def meeting(key: str = "booking-1", *, start: datetime = NINE, video: bool = True) -> NewEvent:
    return NewEvent(idempotency_key=key, subject="Intro call with Sam Caller",
                    body="Booked by phone.", start=start, end=start + timedelta(minutes=30),
                    attendees=[CALLER], online_meeting=video)


def calls(emu: GoogleEmulator) -> list[tuple[str, str, int]]:
    return [(r.method, r.path.rsplit("/", 1)[-1], r.status) for r in emu.requests()]


@given(st.text(min_size=1, max_size=300))
def test_event_ids_are_valid_google_ids_and_stable(key: str) -> None:
    google_id = event_id(key)
    assert re.fullmatch(r"[a-v0-9]{5,1024}", google_id)
    assert event_id(key) == google_id
    assert event_id(key + "x") != google_id


async def test_busy_time_comes_from_free_busy_and_free_events_do_not_block(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    calendar = await calendar_for(database, google_settings, google)
    hour = timedelta(hours=1)
    google.add_event(OWNER, NINE, NINE + hour, summary="Dentist")
    google.add_event(OWNER, NINE + hour / 2, NINE + 2 * hour, summary="Overlapping")
    google.add_event(OWNER, NINE + 3 * hour, NINE + 4 * hour, summary="Lunch", transparent=True)
    google.add_event(OWNER, NINE + 5 * hour, NINE + 6 * hour, summary="Declined",
                     declined=True)
    google.add_event(OWNER, NINE - 2 * hour, NINE + 7 * hour, summary="Elsewhere",
                     calendar_id=google.world.account(OWNER).calendars[1].id)

    busy = await calendar.busy_times(NINE - hour, NINE + 8 * hour)

    assert busy == [BusyTime(start=NINE, end=NINE + 2 * hour)]
    [query] = google.requests(method="POST")
    assert query.path == "/freeBusy"
    assert query.body == {"timeMin": "2030-03-05T13:00:00Z", "timeMax": "2030-03-05T22:00:00Z",
                          "timeZone": "UTC", "items": [{"id": OWNER}]}
    assert await calendar.time_zone() == "America/New_York"


async def test_a_look_ahead_past_ninety_days_asks_free_busy_once_per_ninety_days(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    calendar = await calendar_for(database, google_settings, google)
    far = NINE + timedelta(days=100)
    google.add_event(OWNER, far, far + timedelta(hours=1))
    busy = await calendar.busy_times(NINE, NINE + timedelta(days=120))
    assert busy == [BusyTime(start=far, end=far + timedelta(hours=1))]
    spans = [(r.body["timeMin"], r.body["timeMax"]) for r in google.requests()]
    assert spans == [("2030-03-05T14:00:00Z", "2030-06-03T14:00:00Z"),
                     ("2030-06-03T14:00:00Z", "2030-07-03T14:00:00Z")]


async def test_booking_invites_the_caller_and_keeps_the_meet_link_google_made(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    calendar = await calendar_for(database, google_settings, google)
    assert await calendar.can_add_online_meeting()

    created = await calendar.create_event(meeting())

    [event] = google.events(OWNER)
    assert created.event_id == event.id == event_id("booking-1")
    assert (event.start, event.end) == (NINE, NINE + timedelta(minutes=30))
    assert event.data["attendees"] == [{"email": CALLER.email, "displayName": "Sam Caller",
                                        "responseStatus": "needsAction"}]
    assert event.notifications == [("insert", "all")]
    video = event.data["conferenceData"]["entryPoints"][0]
    assert video["entryPointType"] == "video"
    assert created.online_meeting_url == video["uri"] == event.data["hangoutLink"]
    [insert] = google.requests(method="POST")
    assert insert.query == {"sendUpdates": "all", "conferenceDataVersion": "1"}
    assert insert.body["conferenceData"] == {"createRequest": {
        "requestId": event.id, "conferenceSolutionKey": {"type": "hangoutsMeet"}}}


async def test_a_pending_conference_is_read_again_and_never_assumed(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    calendar = await calendar_for(database, google_settings, google)
    google.conference_pending_for(gets=1)
    created = await calendar.create_event(meeting("soon"))
    assert created.online_meeting_url == google.events(OWNER)[0].data["hangoutLink"]
    assert calls(google)[-1] == ("GET", created.event_id, 200)

    google.conference_pending_for(gets=99)  # still pending when the call must move on
    later = await calendar.create_event(meeting("later", start=NINE + timedelta(hours=1)))
    assert later.online_meeting_url is None


async def test_no_meet_request_where_the_calendar_has_no_meet_or_the_meeting_is_no_video(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    google.add_account("plain@example.org", meet=False)
    calendar = await calendar_for(database, google_settings, google, "plain@example.org")
    assert not await calendar.can_add_online_meeting()
    created = await calendar.create_event(meeting())
    assert created.online_meeting_url is None
    [insert] = google.requests(method="POST")
    assert "conferenceData" not in insert.body
    phone = await calendar.create_event(meeting("phone", video=False,
                                                start=NINE + timedelta(hours=1)))
    assert phone.online_meeting_url is None


@pytest.mark.parametrize("kind", ["429", "403", "403user", "503"])
async def test_rate_limits_are_waited_out_and_book_once(
        database: Database, google: GoogleEmulator, google_settings: Settings,
        kind: str) -> None:
    calendar = await calendar_for(database, google_settings, google)
    google.queue_fault(kind, method="POST", path_contains="/events")
    google.queue_fault(kind, method="POST", path_contains="/events")

    created = await calendar.create_event(meeting())

    assert [e.id for e in google.events(OWNER)] == [created.event_id]
    statuses = [status for _, _, status in calls(google)]
    assert statuses == [int(kind[:3])] * 2 + [200]
    refused = google.requests()[0]
    assert refused.reason == {"429": "rateLimitExceeded", "403": "rateLimitExceeded",
                              "403user": "userRateLimitExceeded", "503": "backendError"}[kind]


async def test_an_insert_whose_answer_was_lost_is_found_again_not_made_twice(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    calendar = await calendar_for(database, google_settings, google)
    google.queue_fault("lost", method="POST", path_contains="/events")

    created = await calendar.create_event(meeting())

    [event] = google.events(OWNER)
    assert created.event_id == event.id
    assert created.online_meeting_url == event.data["hangoutLink"]
    assert calls(google) == [("POST", "events", 200), ("POST", "events", 409),
                             ("GET", event.id, 200)]
    # The same booking retried later finds its event too (409 duplicate, then the event).
    assert await calendar.create_event(meeting()) == created
    assert len(google.events(OWNER)) == 1
    assert await calendar.find_event("booking-1") == created
    slot_end = NINE + timedelta(minutes=30)
    assert await calendar.find_event("booking-1", NINE, slot_end) == created
    assert await calendar.find_event("another booking", NINE, slot_end) is None


async def test_rate_limits_past_the_budget_fail_the_insert_and_write_nothing(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    calendar = await calendar_for(database, google_settings, google)
    for _ in range(30):
        google.queue_fault("403user", method="POST", path_contains="/events")
    with pytest.raises(CalendarUnavailable, match="userRateLimitExceeded"):
        await calendar.create_event(meeting())
    assert google.events(OWNER, include_cancelled=True) == []


async def test_moving_patches_the_times_and_tells_the_attendee(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    calendar = await calendar_for(database, google_settings, google)
    created = await calendar.create_event(meeting())
    later = NINE + timedelta(days=1, hours=2)

    moved = await calendar.move_event(created.event_id, later, later + timedelta(minutes=30))

    assert moved == created  # same event, same Meet link
    [event] = google.events(OWNER)
    assert (event.start, event.end) == (later, later + timedelta(minutes=30))
    assert event.notifications == [("insert", "all"), ("patch", "all")]
    [patch] = google.requests(method="PATCH")
    assert patch.body == {"start": {"dateTime": "2030-03-06T16:00:00Z", "timeZone": "UTC"},
                          "end": {"dateTime": "2030-03-06T16:30:00Z", "timeZone": "UTC"}}


async def test_cancelling_deletes_with_the_note_and_a_repeat_finds_nothing(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    calendar = await calendar_for(database, google_settings, google)
    created = await calendar.create_event(meeting())

    await calendar.cancel_event(created.event_id, "Cancelled by Sam on the phone.")

    assert google.events(OWNER) == []
    [event] = google.events(OWNER, include_cancelled=True)
    assert event.data["description"] == "Cancelled by Sam on the phone."
    assert event.notifications == [("insert", "all"), ("patch", "none"), ("delete", "all")]
    assert await calendar.find_event("booking-1") is None
    with pytest.raises(EventNotFound):
        await calendar.cancel_event(created.event_id, "again")
    with pytest.raises(EventNotFound):
        await calendar.move_event("unknown00", NINE, NINE + timedelta(minutes=30))


async def test_a_delete_whose_answer_was_lost_still_cancels_once(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    calendar = await calendar_for(database, google_settings, google)
    created = await calendar.create_event(meeting())
    google.queue_fault("lost", method="DELETE")
    # The retry hears 410 "deleted": the event is gone, which is what was asked.
    with pytest.raises(EventNotFound):
        await calendar.cancel_event(created.event_id, "bye")
    [event] = google.events(OWNER, include_cancelled=True)
    assert event.cancelled and event.notifications[-1] == ("delete", "all")


async def test_the_emulator_speaks_googles_errors(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    await calendar_for(database, google_settings, google)
    token = next(iter(google.world.access_tokens))
    api = httpx.Client(base_url=google.calendar_base_url,
                       headers={"Authorization": f"Bearer {token}"})
    body = {"id": "abcde12345", "summary": "x",
            "start": {"dateTime": "2030-03-05T14:00:00Z"},
            "end": {"dateTime": "2030-03-05T14:30:00Z"}}
    assert api.post(f"/calendars/{OWNER}/events", json=body).status_code == 200
    duplicate = api.post(f"/calendars/{OWNER}/events", json=body)
    assert duplicate.status_code == 409
    assert duplicate.json() == {"error": {
        "code": 409, "message": "The requested identifier already exists.",
        "errors": [{"domain": "global", "reason": "duplicate",
                    "message": "The requested identifier already exists."}],
        "status": "ALREADY_EXISTS"}}
    bad_id = api.post(f"/calendars/{OWNER}/events", json={**body, "id": "UPPER-case"})
    assert bad_id.json()["error"]["errors"][0]["reason"] == "invalid"
    unknown = api.post(f"/calendars/{OWNER}/events", json={**body, "id": "fghij", "colour": 1})
    assert unknown.status_code == 400 and "Unknown name" in unknown.json()["error"]["message"]
    no_zone = api.post(f"/calendars/{OWNER}/events",
                       json={**body, "id": "klmno", "start": {"dateTime": "2030-03-05T14:00"}})
    assert no_zone.json()["error"]["errors"][0]["reason"] == "required"
    anonymous = httpx.get(f"{google.calendar_base_url}/users/me/calendarList")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["errors"][0]["reason"] == "authError"


async def test_an_event_left_by_a_failed_insert_is_withdrawn_after_the_call(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    await calendar_for(database, google_settings, google)
    ref = f"google:{OWNER}"
    provider = open_calendar(database, google_settings.google(), ref, budget_seconds=0.5)
    assert provider is not None
    booking = BookingSettings(enabled=True, calendar=ref, meeting_type="video")
    service = BookingService.on_database(database, provider, booking, calendar_id=ref,
                                         campaign_name="Spring outreach",
                                         calendar_zone=await provider.time_zone())
    now = NINE - timedelta(days=1)
    [slot] = await service.free_slots(now, limit=1)
    # The insert lands but its answer is lost, the retries are rate-limited past the budget,
    # and the look-up that would have found the event is rate-limited too.
    google.queue_fault("lost", method="POST", path_contains="/events")
    for _ in range(40):
        google.queue_fault("403user", path_contains="/events")
    failed = await service.book(start=slot.start, attendee=CALLER,
                                recipient=Recipient(first_name="Sam", email=CALLER.email),
                                call_id="call-4", now=now)
    assert isinstance(failed, BookingFailed)
    [stray] = google.events(OWNER)
    with google.world.lock:
        google.world.scripted.clear()

    assert await sweep_failed_creates(database, google_settings.google(),
                                      settled_after=timedelta(0)) == 1
    assert google.events(OWNER) == []
    [withdrawn] = google.events(OWNER, include_cancelled=True)
    assert withdrawn.id == stray.id
    assert withdrawn.data["description"] == WITHDRAW_MESSAGE
    assert withdrawn.notifications[-1] == ("delete", "all")
    # Nothing left to withdraw on the next round.
    assert await sweep_failed_creates(database, google_settings.google(),
                                      settled_after=timedelta(0)) == 0

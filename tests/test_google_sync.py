"""Bookings follow the Google calendar, end to end on the emulator, where Google differs from
Outlook (tests/test_calendar_sync.py has what both do): incremental rounds across pages, push
channels and their tokens, forged notifications, declined invitations, and the operator's
``google`` commands."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import select

from app.bootstrap import google_notifications
from app.cli import main
from app.settings import Settings
from calendar_backend.google import sync as google_sync
from calendar_backend.google.connections import list_calendars, set_calendar
from calendar_backend.google.models import SyncedItem
from storage.booking_tables import BookingStatus
from storage.database import Database
from storage.google_sync_tables import GoogleSyncStateRow
from tests import owner_calendars
from tests.fakes.google import fixtures
from tests.owner_calendars import NOW, GoogleCalendar, eventually

google, google_settings, operator_env = fixtures.google, fixtures.google_settings, \
    fixtures.operator_env
google_calendar, receiver = owner_calendars.google_calendar, owner_calendars.receiver

OWNER = fixtures.OWNER


@pytest.fixture
def owner_calendar(google_calendar: GoogleCalendar) -> GoogleCalendar:
    """Every calendar here is Google's (the ``receiver`` takes Google's pushes)."""
    return google_calendar




async def test_an_incremental_round_reads_only_what_changed_across_pages(
        google_calendar: GoogleCalendar) -> None:
    cal = google_calendar
    ref = await cal.connect()
    ids = [cal.add_event(NOW + timedelta(hours=h), NOW + timedelta(hours=h, minutes=30),
                         f"Busy {h}") for h in range(7)]
    assert (await cal.sync(ref, page_size=3)).requests == 3
    cal.owner_deletes(ids[0])
    for h in (1, 2, 3):
        cal.owner_moves(ids[h], NOW + timedelta(days=1, hours=h),
                        NOW + timedelta(days=1, hours=h, minutes=30))

    result = await cal.sync(ref, page_size=3)

    assert not result.full and (result.changed, result.removed, result.requests) == (3, 1, 2)
    assert len(cal.synced(ref)) == 6 == result.events
    tokens = [r.query.get("syncToken") for r in cal.emulator.requests(path_contains="/events")
              if r.method == "GET"][-2:]
    assert tokens[0] and tokens[0] == tokens[1]  # both pages of one incremental round


async def test_a_forged_notification_changes_nothing(
        google_calendar: GoogleCalendar, receiver: str) -> None:
    cal = google_calendar
    ref, booked = await cal.followed_booking(receiver)
    [channel] = cal.emulator.channels(OWNER)
    cal.block_notifications()
    cal.owner_deletes(booked.event_id)
    cal.clear_log()

    genuine = {"X-Goog-Channel-ID": channel.id, "X-Goog-Channel-Token": channel.token or "",
               "X-Goog-Resource-ID": channel.resource_id, "X-Goog-Resource-State": "exists",
               "X-Goog-Message-Number": "7"}
    answers = [httpx.post(receiver, headers={**genuine, "X-Goog-Channel-Token": "guessed"}),
               httpx.post(receiver, headers={k: v for k, v in genuine.items()
                                             if k != "X-Goog-Channel-Token"}),
               httpx.post(receiver, headers={**genuine, "X-Goog-Resource-ID": "other"}),
               httpx.post(receiver, headers={**genuine, "X-Goog-Channel-ID": "other"})]
    malformed = httpx.post(receiver, headers={"X-Goog-Channel-ID": channel.id})

    assert [a.status_code for a in answers] == [200] * 4 and malformed.status_code == 400
    await asyncio.sleep(0.5)
    assert cal.emulator.requests() == []  # no sync was started
    assert cal.status(ref, booked.booking_id) == BookingStatus.CONFIRMED
    # The genuine one does it.
    assert httpx.post(receiver, headers=genuine).status_code == 200
    await eventually(lambda: cal.status(ref, booked.booking_id)
                     == BookingStatus.CANCELLED_BY_OWNER)


async def test_channels_are_replaced_before_they_expire(
        google_calendar: GoogleCalendar, receiver: str) -> None:
    cal = google_calendar
    ref = await cal.connect()
    assert await cal.watch(ref, receiver) == "created"
    assert await cal.watch(ref, receiver) == "kept"
    [old] = cal.emulator.channels(OWNER)
    assert old.token and len(old.token) <= 256  # Google's limit on a channel's token
    assert await cal.watch(ref, receiver, now=old.expiration - timedelta(hours=20)) \
        == "renewed"
    [new] = cal.emulator.channels(OWNER)  # the old one was stopped
    assert new.id != old.id and new.token != old.token

    # Booking moves to another calendar: its channel (and the next sync) follow.
    name = ref.removeprefix("google:")
    [demos] = [c for c in await list_calendars(cal.database, cal.settings.google(), name)
               if c.name == "Sales demos"]
    set_calendar(cal.database, name, demos)
    assert await cal.watch(ref, receiver) == "renewed"
    [moved] = cal.emulator.channels(OWNER)
    assert moved.calendar_id == demos.id
    assert (await cal.sync(ref)).full


async def test_an_invitation_the_owner_declined_leaves_them_free(
        google_calendar: GoogleCalendar) -> None:
    cal = google_calendar
    fresh = cal.settings.model_copy(update={"google_synced_fresh_seconds": 60.0})
    ref = await cal.connect()
    cal.emulator.add_event(OWNER, NOW + timedelta(hours=3), NOW + timedelta(hours=4),
                           summary="Declined", declined=True)

    await cal.sync(ref)

    [declined] = cal.synced(ref)
    assert declined.show_as == "free"
    # The synced copy offers what Google's free/busy does.
    assert await cal.offered(ref, fresh) == await cal.offered(ref)


async def test_operator_syncs_and_lists_events_with_their_meeting_links(
        google_calendar: GoogleCalendar, operator_env: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    cal = google_calendar
    ref = await cal.connect()
    name = ref.removeprefix("google:")
    booked = await cal.book(ref, 0)

    assert await asyncio.to_thread(main, ["google", "events", name]) == 1
    assert "never been synced: run booking-agent google sync" in capsys.readouterr().err

    assert await asyncio.to_thread(main, ["google", "sync", name]) == 0
    out = capsys.readouterr().out
    assert f"{ref}: full sync: 1 event(s) new or changed, 0 removed; 1 event(s) synced" in out

    assert await asyncio.to_thread(main, ["google", "events", name, "--days", "30"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "times in America/New_York" in lines[0]
    assert lines[1].endswith(f"busy             Intro with Caller 0  "
                             f"{booked.online_meeting_url}")

    cal.owner_deletes(booked.event_id)
    assert await asyncio.to_thread(main, ["google", "sync", name]) == 0
    out = capsys.readouterr().out
    assert "incremental sync: 0 event(s) new or changed, 1 removed" in out
    assert f"booking {booked.booking_id}: cancelled by the owner" in out

    assert await asyncio.to_thread(main, ["google", "changes", name]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert f"booking {booked.booking_id}  cancelled_by_owner: the event was deleted" in line

    assert await asyncio.to_thread(main, ["google", "sync", "nobody"]) == 1
    assert capsys.readouterr().err.startswith("error: ")


_headers = st.dictionaries(
    st.sampled_from(["X-Goog-Channel-ID", "X-Goog-Channel-Token", "X-Goog-Resource-ID",
                     "X-Goog-Resource-State", "X-Goog-Message-Number"]),
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=300))


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(headers=_headers)
def test_whatever_is_posted_to_the_notification_route_is_answered_and_changes_nothing(
        database: Database, google_settings: Settings, headers: dict[str, str]) -> None:
    app = FastAPI()
    app.include_router(google_notifications(database, google_settings))
    with TestClient(app) as client:
        answer = client.post("/google/notifications", headers=headers)
    assert answer.status_code in (200, 400)
    with database.session() as session:
        assert session.scalars(select(GoogleSyncStateRow)).all() == []


_time_like = st.one_of(
    st.none(), st.fixed_dictionaries({}, optional={
        "dateTime": st.one_of(st.text(max_size=30), st.datetimes().map(datetime.isoformat),
                              st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat)),
        "date": st.one_of(st.text(max_size=12), st.dates().map(lambda d: d.isoformat()))}))
_item_like = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=20)},
    optional={"status": st.sampled_from(["confirmed", "tentative", "cancelled", "odd"]),
              "start": _time_like, "end": _time_like,
              "transparency": st.text(max_size=12),
              "attendees": st.lists(st.fixed_dictionaries(
                  {"email": st.text(max_size=20)},
                  optional={"responseStatus": st.text(max_size=10), "self": st.booleans()}),
                  max_size=3)})


@settings(max_examples=150, deadline=None)
@given(item=_item_like)
@example(item={"id": "x", "start": {"date": "0001-01-01"}, "end": {"date": "0001-01-02"}})
@example(item={"id": "x", "start": {"dateTime": "9999-12-31T23:59:59-05:00"},
               "end": {"dateTime": "0001-01-01T00:00:00"}})
def test_any_listed_item_is_read_or_skipped_never_a_crash(item: dict[str, object]) -> None:
    try:
        parsed = SyncedItem.model_validate(item)
    except ValidationError:
        return  # the round refuses the page as unreadable (CalendarUnavailable)
    times = google_sync._times(parsed, ZoneInfo("America/New_York"), "google:test")
    if times is not None:
        assert all(t.tzinfo is not None for t in times)
    assert google_sync._show_as(parsed) in ("busy", "free")

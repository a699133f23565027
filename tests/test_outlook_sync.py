"""Bookings follow the Outlook calendar, end to end on the emulator, where Outlook differs from
Google (tests/test_calendar_sync.py has what both do): subscriptions with Graph's handshake and
lifecycle notifications, forged notifications, cancelled events, series and all-day events, and
the operator's ``outlook`` commands."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.bootstrap import outlook_notifications
from app.cli import main
from app.settings import Settings
from calendar_backend import owner_changes
from calendar_backend.outlook.models import NotificationBatch
from calendar_backend.outlook.subscriptions import check_notifications
from calendar_backend.provider import CalendarUnavailable
from storage.booking_tables import BookingStatus
from storage.database import Database
from tests import owner_calendars
from tests.fakes.microsoft import fixtures
from tests.owner_calendars import NOW, OutlookCalendar, eventually

emulator, ms_settings, operator_env = fixtures.emulator, fixtures.ms_settings, \
    fixtures.operator_env
outlook_calendar, receiver = owner_calendars.outlook_calendar, \
    owner_calendars.receiver

WORK = fixtures.WORK


@pytest.fixture
def owner_calendar(outlook_calendar: OutlookCalendar) -> OutlookCalendar:
    """Every calendar here is Outlook's (the ``receiver`` takes Graph's notifications)."""
    return outlook_calendar


async def test_a_forged_notification_changes_nothing(
        outlook_calendar: OutlookCalendar, receiver: str) -> None:
    cal, emu = outlook_calendar, outlook_calendar.emulator
    ref, booked = await cal.followed_booking(receiver)
    [sub] = emu.subscriptions(WORK)
    cal.block_notifications()
    cal.owner_deletes(booked.event_id)
    cal.clear_log()

    forged = {"subscriptionId": sub.id, "clientState": "guessed", "changeType": "deleted",
              "resource": f"Users/{WORK}/Events/{booked.event_id}"}
    answers = [emu.send_notification(receiver, [forged]),
               emu.send_notification(receiver, [{**forged, "subscriptionId": "other",
                                                 "clientState": sub.client_state}])]
    malformed = httpx.post(receiver, content=b'{"value": "no"}')

    assert [a.status for a in answers] == [202, 202] and malformed.status_code == 400
    await asyncio.sleep(0.5)
    assert emu.requests() == []  # no sync was started
    assert cal.status(ref, booked.booking_id) == BookingStatus.CONFIRMED
    # The genuine one does it.
    genuine = emu.send_notification(receiver, [{**forged, "clientState": sub.client_state}])
    assert genuine.status == 202
    await eventually(lambda: cal.status(ref, booked.booking_id)
                     == BookingStatus.CANCELLED_BY_OWNER)


async def test_a_lifecycle_notification_for_a_disconnected_calendar_is_ignored(
        outlook_calendar: OutlookCalendar, receiver: str) -> None:
    cal, emu = outlook_calendar, outlook_calendar.emulator
    ref, booked = await cal.followed_booking(receiver)
    sub = cal.live_watch()
    await cal.disconnect(ref)
    cal.clear_log()

    # Graph asks for the deleted subscription to be reauthorized: nothing is renewed.
    lifecycle = emu.send_notification(receiver, [
        {"subscriptionId": sub.id, "clientState": sub.client_state,
         "lifecycleEvent": "reauthorizationRequired", "resource": sub.resource}])

    assert lifecycle.status == 202
    await asyncio.sleep(0.5)
    assert emu.requests() == [] and emu.subscriptions(WORK) == []
    assert cal.follows_nothing(ref)
    assert cal.status(ref, booked.booking_id) == BookingStatus.CONFIRMED


async def test_an_event_marked_cancelled_cancels_its_booking(
        outlook_calendar: OutlookCalendar) -> None:
    cal = outlook_calendar
    ref = await cal.connect()
    booked = await cal.book(ref, 0)
    await cal.sync(ref)

    # Outlook keeps an organizer's cancellation on the calendar, marked isCancelled.
    cal.emulator.owner_cancels(WORK, booked.event_id)

    assert (await cal.sync(ref)).cancelled == [booked.booking_id]
    assert cal.status(ref, booked.booking_id) == BookingStatus.CANCELLED_BY_OWNER
    assert [n.kind for n in owner_changes.notes(cal.database, ref)] == ["cancelled_by_owner"]


async def test_subscription_needs_the_handshake_and_follows_lifecycle_notifications(
        outlook_calendar: OutlookCalendar, receiver: str) -> None:
    cal, emu = outlook_calendar, outlook_calendar.emulator
    ref = await cal.connect()
    # A URL that does not echo the validation token gets no subscription.
    with pytest.raises(CalendarUnavailable, match="validation"):
        await cal.watch(ref, emu.base_url + "/nowhere")
    assert emu.subscriptions(WORK) == []

    assert await cal.watch(ref, receiver) == "created"
    assert await cal.watch(ref, receiver) == "kept"
    [sub] = emu.subscriptions(WORK)
    assert sub.lifecycle_url == receiver and sub.client_state
    expiry = sub.expiration
    assert timedelta(days=2) < expiry - datetime.now(UTC) < timedelta(days=7)

    # Renewed once less than a day is left.
    assert await cal.watch(ref, receiver, now=expiry - timedelta(hours=20)) == "renewed"
    [renewed] = emu.subscriptions(WORK)
    assert renewed.id == sub.id and renewed.expiration > expiry

    cal.clear_log()
    assert emu.lifecycle(sub.id, "reauthorizationRequired").status == 202
    await eventually(lambda: bool(emu.requests(method="PATCH", path_contains="subscriptions")))
    await eventually(lambda: bool(emu.requests(path_contains="delta")))

    assert emu.lifecycle(sub.id, "subscriptionRemoved").status == 202
    await eventually(lambda: len(emu.subscriptions(WORK)) == 1
                     and emu.subscriptions(WORK)[0].id != sub.id)


async def test_operator_syncs_and_lists_events_with_their_meeting_links(
        outlook_calendar: OutlookCalendar, operator_env: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    cal, emu = outlook_calendar, outlook_calendar.emulator
    ref = await cal.connect()
    name = ref.removeprefix("outlook:")
    booked = await cal.book(ref, 0)
    zoom = cal.add_event(NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1),
                         "Vendor call")
    emu.owner_edits(WORK, zoom, location={
        "displayName": "Zoom https://us02web.zoom.us/j/85012345678?pwd=abc"})
    cal.add_event(NOW + timedelta(days=2), NOW + timedelta(days=2, hours=1), "Lunch",
                  free=True)

    assert await asyncio.to_thread(main, ["outlook", "events", name]) == 1
    assert "never been synced: run booking-agent outlook sync" in capsys.readouterr().err

    assert await asyncio.to_thread(main, ["outlook", "sync", name]) == 0
    out = capsys.readouterr().out
    assert f"{ref}: full sync: 3 event(s) new or changed, 0 removed; 3 event(s) synced" in out

    cal.owner_deletes(booked.event_id)
    assert await asyncio.to_thread(main, ["outlook", "sync", name]) == 0
    out = capsys.readouterr().out
    assert "delta sync: 0 event(s) new or changed, 1 removed" in out
    assert f"booking {booked.booking_id}: cancelled by the owner" in out

    assert await asyncio.to_thread(main, ["outlook", "events", name, "--days", "60"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "times in America/Los_Angeles" in lines[0]
    assert lines[1].endswith("busy             Vendor call  "
                             "https://us02web.zoom.us/j/85012345678?pwd=abc")
    assert lines[2].endswith("free             Lunch  -")
    assert len(lines) == 3

    assert await asyncio.to_thread(main, ["outlook", "changes", name]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert f"booking {booked.booking_id}  cancelled_by_owner: the event was deleted" in line

    assert await asyncio.to_thread(main, ["outlook", "sync", "nobody"]) == 1
    assert capsys.readouterr().err.startswith("error: ")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner,
                                                                max_size=4),
    max_leaves=20)
_notification_like = st.fixed_dictionaries({"value": st.lists(st.fixed_dictionaries(
    {"subscriptionId": st.text(max_size=40), "clientState": st.none() | st.text(max_size=60),
     "changeType": st.sampled_from(["created", "updated", "deleted"])},
    optional={"lifecycleEvent": st.sampled_from(["missed", "subscriptionRemoved",
                                                 "reauthorizationRequired"])}), max_size=5)})


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_json | _notification_like)
def test_whatever_is_posted_to_the_notification_route_is_answered_and_changes_nothing(
        database: Database, ms_settings: Settings, body: object) -> None:
    app = FastAPI()
    app.include_router(outlook_notifications(database, ms_settings))
    with TestClient(app) as client:
        answer = client.post("/outlook/notifications", content=json.dumps(body))
    assert answer.status_code in (202, 400)
    if answer.status_code == 202:
        believed = check_notifications(database, NotificationBatch.model_validate(body))
        assert believed.sync == frozenset() and believed.forged == len(body["value"])  # type: ignore[index]


async def test_synced_copy_has_series_occurrences_all_day_events_and_teams_links(
        outlook_calendar: OutlookCalendar) -> None:
    cal, emu = outlook_calendar, outlook_calendar.emulator
    ref = await cal.connect()
    booked = await cal.book(ref, 0)
    emu.add_event(WORK, NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1),
                  subject="Weekly sync", repeat_weekly=3)
    day = (NOW + timedelta(days=2)).replace(hour=0)
    emu.add_event(WORK, day, day + timedelta(days=1), subject="Offsite",
                  all_day_zone="Pacific Standard Time")

    result = await cal.sync(ref)

    assert result.events == 5
    events = {e.event_id: e for e in cal.synced(ref)}
    assert events[booked.event_id].join_url == booked.online_meeting_url
    assert booked.online_meeting_url and booked.online_meeting_url.startswith(
        cal.meeting_link_prefix)
    weekly = sorted(e.start for e in events.values() if e.subject == "Weekly sync")
    assert weekly == [NOW + timedelta(days=1, weeks=w) for w in range(3)]
    [offsite] = [e for e in events.values() if e.subject == "Offsite"]
    assert offsite.is_all_day and offsite.start == day

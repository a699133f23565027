"""Bookings follow the Outlook calendar, end to end on the emulator: subscriptions with Graph's
handshake, notifications to the call server's route, delta sync (and its 410), and what the
owner's deletes, moves and the attendee's declines do to bookings."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI, WebSocket
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from app.bootstrap import outlook_notifications
from app.call_server import CampaignDirectory, create_app
from app.campaign_files import parse_campaign
from app.cli import main
from app.settings import Settings
from calendar_backend import owner_changes
from calendar_backend.booking import Booked, BookingService, SlotTaken
from calendar_backend.booking_settings import BookingSettings, Recipient
from calendar_backend.calendar_sync import SyncStatus
from calendar_backend.outlook.connections import find_connection, open_calendar
from calendar_backend.outlook.follow import FollowSettings, follow_once, keep_calendars_synced
from calendar_backend.outlook.models import NotificationBatch
from calendar_backend.outlook.sign_in import begin_sign_in, complete_sign_in
from calendar_backend.outlook.subscriptions import (
    check_notifications,
    disconnect,
    ensure_subscription,
)
from calendar_backend.outlook.sync import sync_calendar, sync_status, synced_events
from calendar_backend.provider import Attendee, CalendarUnavailable
from calendar_backend.sql_store import SqlBookingStore
from storage.booking_tables import BookingStatus
from storage.database import Database
from telephony.phone_pipeline import AdmittedCall
from tests.fakes.loopback import BackgroundServer, free_port
from tests.fakes.microsoft import MicrosoftEmulator, fixtures
from tests.fakes.microsoft.changes import Subscription

emulator, ms_settings, operator_env = fixtures.emulator, fixtures.ms_settings, \
    fixtures.operator_env

WORK = "adele@contoso.com"
CALLERS = [Attendee(email=f"caller{i}@example.org", name=f"Caller {i}") for i in range(3)]


def _next_monday() -> datetime:
    """A Monday two weeks or so ahead, 08:00 in Los Angeles give or take DST: inside the
    sync window, which follows the real clock."""
    today = datetime.now(UTC).replace(hour=16, minute=0, second=0, microsecond=0)
    return today + timedelta(days=14 + (7 - today.weekday()) % 7)


NOW = _next_monday()


@pytest.fixture
def receiver(database: Database, ms_settings: Settings) -> Iterator[str]:
    """The call server on loopback, with the route Graph notifies; yields that URL (made
    from the server's public URL, as ``serve`` does)."""
    port = free_port()
    settings = ms_settings.model_copy(update={
        "public_url": f"http://127.0.0.1:{port}", "twilio_auth_token": SecretStr("twilio")})
    url = settings.outlook_follow().notification_url
    assert url == f"http://127.0.0.1:{port}/outlook/notifications"

    async def no_calls(websocket: WebSocket, call: AdmittedCall) -> None:
        raise AssertionError("no phone call in these tests")

    app = create_app(campaigns=CampaignDirectory([parse_campaign({"name": "sales"})]),
                     twilio=settings.twilio(), database=database, handler=no_calls,
                     routers=[outlook_notifications(database, settings)])
    server = BackgroundServer(app, port, name="call-server").start()
    try:
        yield url
    finally:
        server.stop()


async def connect(database: Database, settings: Settings, emu: MicrosoftEmulator) -> str:
    emu.sign_in_as(WORK)
    redirect = httpx.get(begin_sign_in(database, settings.outlook())).headers["location"]
    return (await complete_sign_in(database, settings.outlook(), redirect)).ref


async def service(database: Database, settings: Settings, ref: str) -> BookingService:
    """What a call does when booking is on: open the calendar, read availability once."""
    provider = open_calendar(database, settings.outlook(), ref)
    assert provider is not None
    booking = BookingSettings(enabled=True, calendar=ref, meeting_length_minutes=30,
                              meeting_type="video",
                              title_template="Intro with {recipient.fullName}")
    svc = BookingService.on_database(database, provider, booking, calendar_id=ref,
                                     campaign_name="Spring outreach",
                                     calendar_zone=await provider.time_zone())
    await svc.load_availability(NOW)
    return svc


async def book(database: Database, settings: Settings, ref: str, i: int,
               slot: int = 0) -> Booked:
    svc = await service(database, settings, ref)
    slots = await svc.free_slots(NOW, limit=slot + 1)
    caller = CALLERS[i]
    first, _, last = (caller.name or "").partition(" ")
    booked = await svc.book(start=slots[slot].start, attendee=caller, call_id=f"call-{i}",
                            recipient=Recipient(first_name=first, last_name=last,
                                                phone="+14155550100", email=caller.email),
                            now=NOW)
    assert isinstance(booked, Booked)
    return booked


async def offered(database: Database, settings: Settings, ref: str) -> list[datetime]:
    svc = await service(database, settings, ref)
    return [s.start for s in await svc.free_slots(NOW, limit=6)]


def status(database: Database, ref: str, booking_id: str) -> BookingStatus:
    [record] = [r for r in SqlBookingStore(database, ref).records() if r.id == booking_id]
    return record.status


async def eventually(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "it never happened"
        await asyncio.sleep(0.05)


async def test_owner_who_deletes_the_booked_event_frees_the_slot_after_one_notification(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings,
        receiver: str) -> None:
    ref = await connect(database, ms_settings, emulator)
    assert await ensure_subscription(database, ms_settings.outlook(), ref, receiver) \
        == "created"
    [sub] = emulator.subscriptions(WORK)
    assert sub.notification_url == receiver and sub.client_state
    await sync_calendar(database, ms_settings.outlook(), ref)
    booked = await book(database, ms_settings, ref, 0)
    assert booked.slot.start not in await offered(database, ms_settings, ref)
    emulator.deliveries()  # the create's own notification has been answered

    [delivery] = emulator.owner_deletes(WORK, booked.event_id)

    assert delivery.status == 202
    await eventually(lambda: status(database, ref, booked.booking_id)
                     == BookingStatus.CANCELLED_BY_OWNER)
    assert booked.slot.start in await offered(database, ms_settings, ref)
    [note] = owner_changes.notes(database, ref)
    assert (note.booking_id, note.kind) == (booked.booking_id, "cancelled_by_owner")


async def test_owner_who_moves_the_event_moves_the_booking_and_frees_the_old_time(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings,
        receiver: str) -> None:
    ref = await connect(database, ms_settings, emulator)
    await ensure_subscription(database, ms_settings.outlook(), ref, receiver)
    booked = await book(database, ms_settings, ref, 0)
    later = booked.slot.start + timedelta(hours=3)

    emulator.owner_moves(WORK, booked.event_id, later, later + timedelta(minutes=30))

    await eventually(lambda: SqlBookingStore(database, ref).records()[0].slot.start == later)
    [record] = SqlBookingStore(database, ref).records()
    assert record.status == BookingStatus.CONFIRMED and record.id == booked.booking_id
    now_offered = await offered(database, ms_settings, ref)
    assert booked.slot.start in now_offered and later not in now_offered
    assert [e.start for e in synced_events(database, ref)] == [later]


async def test_with_notifications_blocked_the_scheduled_sync_catches_up(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings,
        receiver: str) -> None:
    ref = await connect(database, ms_settings, emulator)
    booked = await book(database, ms_settings, ref, 0)
    await ensure_subscription(database, ms_settings.outlook(), ref, receiver)
    await sync_calendar(database, ms_settings.outlook(), ref)
    emulator.block_notifications()

    assert emulator.owner_deletes(WORK, booked.event_id) == []
    await asyncio.sleep(0.3)
    assert status(database, ref, booked.booking_id) == BookingStatus.CONFIRMED

    stop = asyncio.Event()
    schedule = asyncio.create_task(keep_calendars_synced(
        database, ms_settings.outlook(), FollowSettings(interval_seconds=0.2,
                                                        notification_url=receiver), stop))
    try:
        await eventually(lambda: status(database, ref, booked.booking_id)
                         == BookingStatus.CANCELLED_BY_OWNER, seconds=5)
    finally:
        stop.set()
        await schedule
    assert booked.slot.start in await offered(database, ms_settings, ref)


async def test_an_expired_delta_link_leads_to_a_full_resync_that_loses_nothing(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    ref = await connect(database, ms_settings, emulator)
    config = ms_settings.outlook()
    kept = await book(database, ms_settings, ref, 0, slot=0)
    deleted = await book(database, ms_settings, ref, 1, slot=1)
    moved = await book(database, ms_settings, ref, 2, slot=2)
    first = await sync_calendar(database, config, ref, page_size=2)
    assert first.full and first.events == 3 and first.requests == 2

    emulator.block_notifications()
    emulator.owner_deletes(WORK, deleted.event_id)
    later = moved.slot.start + timedelta(days=1)
    emulator.owner_moves(WORK, moved.event_id, later, later + timedelta(minutes=30))
    dentist = emulator.add_event(WORK, NOW + timedelta(days=2), NOW + timedelta(days=2, hours=1),
                                 subject="Dentist")
    assert emulator.expire_delta_tokens(WORK) > 0

    result = await sync_calendar(database, config, ref, page_size=2)

    assert result.resynced_after_410 and result.full
    assert [r.code for r in emulator.requests(path_contains="delta") if r.status == 410] \
        == ["syncStateNotFound"]
    assert result.cancelled == [deleted.booking_id] and result.moved == [moved.booking_id]
    assert status(database, ref, kept.booking_id) == BookingStatus.CONFIRMED
    assert status(database, ref, deleted.booking_id) == BookingStatus.CANCELLED_BY_OWNER
    assert {e.event_id for e in synced_events(database, ref)} \
        == {e.id for e in emulator.events(WORK)} == {kept.event_id, moved.event_id, dentist}
    # The next round is a delta round again, with nothing to report.
    again = await sync_calendar(database, config, ref)
    assert not again.full and again.changed == again.removed == 0 and again.requests == 1


async def test_a_forged_notification_changes_nothing(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings,
        receiver: str) -> None:
    ref = await connect(database, ms_settings, emulator)
    booked = await book(database, ms_settings, ref, 0)
    await ensure_subscription(database, ms_settings.outlook(), ref, receiver)
    await sync_calendar(database, ms_settings.outlook(), ref)
    [sub] = emulator.subscriptions(WORK)
    emulator.block_notifications()
    emulator.owner_deletes(WORK, booked.event_id)
    emulator.clear_log()

    forged = {"subscriptionId": sub.id, "clientState": "guessed", "changeType": "deleted",
              "resource": f"Users/{WORK}/Events/{booked.event_id}"}
    answers = [emulator.send_notification(receiver, [forged]),
               emulator.send_notification(receiver, [{**forged, "subscriptionId": "other",
                                                      "clientState": sub.client_state}])]
    malformed = httpx.post(receiver, content=b'{"value": "no"}')

    assert [a.status for a in answers] == [202, 202] and malformed.status_code == 400
    await asyncio.sleep(0.5)
    assert emulator.requests() == []  # no sync was started
    assert status(database, ref, booked.booking_id) == BookingStatus.CONFIRMED
    # The genuine one does it.
    genuine = emulator.send_notification(receiver, [{**forged, "clientState": sub.client_state}])
    assert genuine.status == 202
    await eventually(lambda: status(database, ref, booked.booking_id)
                     == BookingStatus.CANCELLED_BY_OWNER)


async def followed_booking(database: Database, settings: Settings, emu: MicrosoftEmulator,
                          receiver: str) -> tuple[str, Booked, Subscription]:
    """A connection with a booking on it, subscribed to and synced."""
    ref = await connect(database, settings, emu)
    booked = await book(database, settings, ref, 0)
    await ensure_subscription(database, settings.outlook(), ref, receiver)
    await sync_calendar(database, settings.outlook(), ref)
    [sub] = emu.subscriptions(WORK)
    return ref, booked, sub


def follows_nothing(database: Database, ref: str) -> bool:
    """Whether the connection has no sync state (nor subscription) and no synced copy left."""
    return sync_status(database, ref) == SyncStatus(None, None, None, None) \
        and synced_events(database, ref) == []


async def test_disconnecting_outlook_deletes_its_graph_subscription_and_synced_copy(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings,
        receiver: str, operator_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    ref = await connect(database, ms_settings, emulator)
    emulator.add_event(WORK, NOW, NOW + timedelta(hours=1), subject="Standup")
    await ensure_subscription(database, ms_settings.outlook(), ref, receiver)
    await sync_calendar(database, ms_settings.outlook(), ref)
    [sub] = emulator.subscriptions(WORK)

    name = ref.removeprefix("outlook:")
    assert await asyncio.to_thread(main, ["outlook", "disconnect", name]) == 0

    assert "tokens are deleted" in capsys.readouterr().out
    assert [s.id for s in emulator.deleted_subscriptions(WORK)] == [sub.id]
    assert emulator.subscriptions(WORK) == []
    assert follows_nothing(database, ref)
    assert find_connection(database, ref).status == "disconnected"


async def test_disconnect_completes_when_graph_cannot_delete_the_subscription(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings,
        receiver: str, caplog: pytest.LogCaptureFixture) -> None:
    ref, booked, sub = await followed_booking(database, ms_settings, emulator, receiver)
    emulator.queue_fault(400, "InvalidRequest", method="DELETE", path_contains="subscriptions")
    caplog.set_level(logging.WARNING)

    gone = await disconnect(database, ms_settings.outlook(), ref)

    assert gone.status == "disconnected" and follows_nothing(database, ref)
    assert emulator.deleted_subscriptions() == [] and emulator.subscriptions(WORK) == [sub]
    assert f"Graph did not delete the subscription of {ref} (HTTP 400 InvalidRequest)" \
        in caplog.text
    assert sub.client_state and sub.client_state not in caplog.text
    # The subscription Graph kept still notifies: acknowledged, and nothing happens.
    emulator.clear_log()
    [delivery] = emulator.owner_deletes(WORK, booked.event_id)
    assert delivery.status == 202
    await asyncio.sleep(0.5)
    assert emulator.requests() == []  # no sync was attempted
    assert follows_nothing(database, ref) and owner_changes.notes(database, ref) == []
    assert status(database, ref, booked.booking_id) == BookingStatus.CONFIRMED


async def test_notification_for_a_disconnected_calendar_is_acknowledged_and_ignored(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings,
        receiver: str) -> None:
    ref, booked, sub = await followed_booking(database, ms_settings, emulator, receiver)
    await disconnect(database, ms_settings.outlook(), ref)
    emulator.clear_log()

    # A change Graph had already queued for the deleted subscription arrives late.
    late = emulator.send_notification(receiver, [
        {"subscriptionId": sub.id, "clientState": sub.client_state, "changeType": "deleted",
         "resource": f"Users/{WORK}/Events/{booked.event_id}"}])
    lifecycle = emulator.send_notification(receiver, [
        {"subscriptionId": sub.id, "clientState": sub.client_state,
         "lifecycleEvent": "reauthorizationRequired", "resource": sub.resource}])

    assert (late.status, lifecycle.status) == (202, 202)
    await asyncio.sleep(0.5)
    assert emulator.requests() == [] and emulator.subscriptions(WORK) == []
    assert follows_nothing(database, ref)
    assert status(database, ref, booked.booking_id) == BookingStatus.CONFIRMED


async def test_owner_moving_a_meeting_onto_another_booking_keeps_both_and_flags_it(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    ref = await connect(database, ms_settings, emulator)
    config = ms_settings.outlook()
    first = await book(database, ms_settings, ref, 0, slot=0)
    second = await book(database, ms_settings, ref, 1, slot=0)
    await sync_calendar(database, config, ref)

    emulator.owner_moves(WORK, second.event_id, first.slot.start, first.slot.end)
    result = await sync_calendar(database, config, ref)

    assert result.conflicts == [second.booking_id]
    assert status(database, ref, first.booking_id) == BookingStatus.CONFIRMED
    assert status(database, ref, second.booking_id) == BookingStatus.CONFLICT
    assert len(emulator.events(WORK)) == 2  # both meetings stay on the calendar
    [note] = [n for n in owner_changes.notes(database, ref) if n.kind == "conflict"]
    assert note.booking_id == second.booking_id and note.other_booking_id == first.booking_id
    # Neither time is offered: the calendar shows both busy.
    assert first.slot.start not in await offered(database, ms_settings, ref)

    # Moved again to a free time, the booking is confirmed there.
    free = first.slot.start + timedelta(hours=4)
    emulator.owner_moves(WORK, second.event_id, free, free + timedelta(minutes=30))
    again = await sync_calendar(database, config, ref)
    assert again.moved == [second.booking_id]
    assert status(database, ref, second.booking_id) == BookingStatus.CONFIRMED


async def test_an_attendee_decline_and_a_cancellation_are_recorded(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    ref = await connect(database, ms_settings, emulator)
    config = ms_settings.outlook()
    booked = await book(database, ms_settings, ref, 0)
    await sync_calendar(database, config, ref)

    emulator.attendee_responds(WORK, booked.event_id, CALLERS[0].email, "declined")
    result = await sync_calendar(database, config, ref)
    assert result.declined == [booked.booking_id]
    assert status(database, ref, booked.booking_id) == BookingStatus.CONFIRMED
    # A second round does not record it twice.
    emulator.owner_edits(WORK, booked.event_id, subject="Intro (declined)")
    assert (await sync_calendar(database, config, ref)).declined == []

    emulator.owner_cancels(WORK, booked.event_id)
    assert (await sync_calendar(database, config, ref)).cancelled == [booked.booking_id]
    assert [n.kind for n in owner_changes.notes(database, ref)] \
        == ["declined", "cancelled_by_owner"]


async def test_subscription_needs_the_handshake_and_follows_lifecycle_notifications(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings,
        receiver: str) -> None:
    ref = await connect(database, ms_settings, emulator)
    config = ms_settings.outlook()
    # A URL that does not echo the validation token gets no subscription.
    with pytest.raises(CalendarUnavailable, match="validation"):
        await ensure_subscription(database, config, ref, emulator.base_url + "/nowhere")
    assert emulator.subscriptions(WORK) == []

    assert await ensure_subscription(database, config, ref, receiver) == "created"
    assert await ensure_subscription(database, config, ref, receiver) == "kept"
    [sub] = emulator.subscriptions(WORK)
    assert sub.lifecycle_url == receiver
    expiry = sub.expiration
    assert timedelta(days=2) < expiry - datetime.now(UTC) < timedelta(days=7)

    # Renewed once less than a day is left.
    assert await ensure_subscription(database, config, ref, receiver,
                                     now=expiry - timedelta(hours=20)) == "renewed"
    [renewed] = emulator.subscriptions(WORK)
    assert renewed.id == sub.id and renewed.expiration > expiry

    emulator.clear_log()
    assert emulator.lifecycle(sub.id, "reauthorizationRequired").status == 202
    await eventually(lambda: bool(emulator.requests(method="PATCH",
                                                    path_contains="subscriptions")))
    await eventually(lambda: bool(emulator.requests(path_contains="delta")))

    assert emulator.lifecycle(sub.id, "subscriptionRemoved").status == 202
    await eventually(lambda: len(emulator.subscriptions(WORK)) == 1
                     and emulator.subscriptions(WORK)[0].id != sub.id)


async def test_scheduled_pass_subscribes_and_syncs_every_connection(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings,
        receiver: str) -> None:
    ref = await connect(database, ms_settings, emulator)
    emulator.add_event(WORK, NOW, NOW + timedelta(hours=1), subject="Standup")
    await follow_once(database, ms_settings.outlook(), receiver)
    assert len(emulator.subscriptions(WORK)) == 1
    [event] = synced_events(database, ref)
    assert (event.subject, event.start, event.show_as) == ("Standup", NOW, "busy")


async def test_operator_syncs_and_lists_events_with_their_meeting_links(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings,
        operator_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    ref = await connect(database, ms_settings, emulator)
    name = ref.removeprefix("outlook:")
    booked = await book(database, ms_settings, ref, 0)
    zoom = emulator.add_event(WORK, NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1),
                              subject="Vendor call")
    emulator.owner_edits(WORK, zoom, location={
        "displayName": "Zoom https://us02web.zoom.us/j/85012345678?pwd=abc"})
    emulator.add_event(WORK, NOW + timedelta(days=2), NOW + timedelta(days=2, hours=1),
                       subject="Lunch", show_as="free")

    assert await asyncio.to_thread(main, ["outlook", "events", name]) == 1
    assert "never been synced: run booking-agent outlook sync" in capsys.readouterr().err

    assert await asyncio.to_thread(main, ["outlook", "sync", name]) == 0
    out = capsys.readouterr().out
    assert f"{ref}: full sync: 3 event(s) new or changed, 0 removed; 3 event(s) synced" in out

    emulator.owner_deletes(WORK, booked.event_id)
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


async def test_a_fresh_synced_copy_answers_call_start_and_the_recheck_still_asks_outlook(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    fresh = ms_settings.model_copy(update={"outlook_synced_fresh_seconds": 60.0})
    ref = await connect(database, fresh, emulator)
    emulator.add_event(WORK, NOW + timedelta(hours=1), NOW + timedelta(hours=2),
                       subject="Dentist")
    await sync_calendar(database, fresh.outlook(), ref)
    from_graph = await offered(database, ms_settings, ref)
    # After the sync the owner blocks the first free slot: the copy does not know yet.
    walk_in = emulator.add_event(WORK, from_graph[0], from_graph[0] + timedelta(minutes=30),
                                 subject="Walk-in")
    emulator.clear_log()

    svc = await service(database, fresh, ref)
    slots = await svc.free_slots(NOW, limit=2)
    assert [s.start for s in slots] == from_graph[:2]  # the Dentist is busy; read from the copy
    assert emulator.requests(path_contains="calendarView") == []

    taken = await svc.book(start=slots[0].start, attendee=CALLERS[0], call_id="call-0",
                           recipient=Recipient(first_name="Caller", last_name="0",
                                               phone="+14155550100", email=CALLERS[0].email),
                           now=NOW)
    assert isinstance(taken, SlotTaken)  # the re-check before booking asked Outlook
    assert len(emulator.requests(path_contains="calendarView")) == 1

    # A copy older than the setting allows is not used.
    stale = ms_settings.model_copy(update={"outlook_synced_fresh_seconds": 0.001})
    emulator.clear_log()
    assert from_graph[0] not in [s.start for s in await (await service(
        database, stale, ref)).free_slots(NOW, limit=2)]
    assert len(emulator.requests(path_contains="calendarView")) == 1
    assert walk_in in {e.id for e in emulator.events(WORK)}


async def test_synced_copy_has_series_occurrences_all_day_events_and_teams_links(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    ref = await connect(database, ms_settings, emulator)
    booked = await book(database, ms_settings, ref, 0)
    emulator.add_event(WORK, NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1),
                       subject="Weekly sync", repeat_weekly=3)
    day = (NOW + timedelta(days=2)).replace(hour=0)
    emulator.add_event(WORK, day, day + timedelta(days=1), subject="Offsite",
                       all_day_zone="Pacific Standard Time")

    result = await sync_calendar(database, ms_settings.outlook(), ref)

    assert result.events == 5
    events = {e.event_id: e for e in synced_events(database, ref)}
    assert events[booked.event_id].join_url == booked.online_meeting_url
    assert booked.online_meeting_url and booked.online_meeting_url.startswith(
        "https://teams.microsoft.com/l/meetup-join/")
    weekly = sorted(e.start for e in events.values() if e.subject == "Weekly sync")
    assert weekly == [NOW + timedelta(days=1, weeks=w) for w in range(3)]
    [offsite] = [e for e in events.values() if e.subject == "Offsite"]
    assert offsite.is_all_day and offsite.start == day

"""Bookings follow the owner's calendar, Outlook and Google alike, end to end on the emulators:
notifications to the call server's route, the scheduled sync, the 410 that forces a full
resync, and what the owner's deletes, moves and the attendee's declines do to bookings."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from app.cli import main
from calendar_backend import owner_changes
from calendar_backend.booking import SlotTaken
from calendar_backend.sql_store import SqlBookingStore
from storage.booking_tables import BookingStatus
from tests import owner_calendars
from tests.fakes.google import fixtures as google_fixtures
from tests.fakes.microsoft import fixtures as microsoft_fixtures
from tests.owner_calendars import CALLERS, NOW, OwnerCalendar, eventually, recipient

emulator, ms_settings = microsoft_fixtures.emulator, microsoft_fixtures.ms_settings
google, google_settings = google_fixtures.google, google_fixtures.google_settings
outlook_calendar, google_calendar = (owner_calendars.outlook_calendar,
                                     owner_calendars.google_calendar)
owner_calendar, receiver = owner_calendars.owner_calendar, owner_calendars.receiver
outlook_operator_env, google_operator_env = (microsoft_fixtures.operator_env,
                                             google_fixtures.operator_env)


async def test_owner_who_deletes_the_booked_event_frees_the_slot_after_one_notification(
        owner_calendar: OwnerCalendar, receiver: str) -> None:
    cal = owner_calendar
    ref = await cal.connect()
    assert await cal.watch(ref, receiver) == "created"
    assert cal.watches() == [receiver]
    await cal.sync(ref)
    booked = await cal.book(ref, 0)
    assert booked.slot.start not in await cal.offered(ref)
    await cal.notifications_answered(2)  # the booking's own (and Google's first "sync")

    cal.owner_deletes(booked.event_id)

    await eventually(lambda: cal.status(ref, booked.booking_id)
                     == BookingStatus.CANCELLED_BY_OWNER)
    assert (await cal.notifications_answered(3))[-1] == cal.accepted_status
    assert booked.slot.start in await cal.offered(ref)
    [note] = owner_changes.notes(cal.database, ref)
    assert (note.booking_id, note.kind) == (booked.booking_id, "cancelled_by_owner")
    assert booked.event_id not in {e.event_id for e in cal.synced(ref)}


async def test_owner_who_moves_the_event_moves_the_booking_and_frees_the_old_time(
        owner_calendar: OwnerCalendar, receiver: str) -> None:
    cal = owner_calendar
    ref = await cal.connect()
    await cal.watch(ref, receiver)
    booked = await cal.book(ref, 0)
    await cal.notifications_answered(2)
    later = booked.slot.start + timedelta(hours=3)

    cal.owner_moves(booked.event_id, later, later + timedelta(minutes=30))

    await eventually(lambda: SqlBookingStore(cal.database, ref).records()[0].slot.start
                     == later)
    [record] = SqlBookingStore(cal.database, ref).records()
    assert record.status == BookingStatus.CONFIRMED and record.id == booked.booking_id
    now_offered = await cal.offered(ref)
    assert booked.slot.start in now_offered and later not in now_offered
    [event] = cal.synced(ref)
    assert event.start == later
    # The meeting link the provider gave the booking is read from the event.
    assert event.join_url == booked.online_meeting_url
    assert booked.online_meeting_url and booked.online_meeting_url.startswith(
        cal.meeting_link_prefix)


async def test_with_notifications_blocked_the_scheduled_sync_catches_up(
        owner_calendar: OwnerCalendar, receiver: str) -> None:
    cal = owner_calendar
    ref, booked = await cal.followed_booking(receiver)
    cal.block_notifications()

    cal.owner_deletes(booked.event_id)
    await asyncio.sleep(0.3)
    assert cal.status(ref, booked.booking_id) == BookingStatus.CONFIRMED

    stop = asyncio.Event()
    schedule = asyncio.create_task(cal.keep_synced(0.2, receiver, stop))
    try:
        await eventually(lambda: cal.status(ref, booked.booking_id)
                         == BookingStatus.CANCELLED_BY_OWNER, seconds=5)
    finally:
        stop.set()
        await schedule
    assert booked.slot.start in await cal.offered(ref)
    assert cal.watches() == [receiver]  # kept, not replaced, by the schedule


async def test_an_expired_sync_state_leads_to_a_full_resync_that_loses_nothing(
        owner_calendar: OwnerCalendar) -> None:
    cal = owner_calendar
    ref = await cal.connect()
    kept = await cal.book(ref, 0, slot=0)
    deleted = await cal.book(ref, 1, slot=1)
    moved = await cal.book(ref, 2, slot=2)
    first = await cal.sync(ref, page_size=2)
    assert first.full and first.events == 3 and first.requests == 2

    cal.block_notifications()
    cal.owner_deletes(deleted.event_id)
    later = moved.slot.start + timedelta(days=1)
    cal.owner_moves(moved.event_id, later, later + timedelta(minutes=30))
    dentist = cal.add_event(NOW + timedelta(days=2), NOW + timedelta(days=2, hours=1),
                            "Dentist")
    cal.expire_sync_state()

    result = await cal.sync(ref, page_size=2)

    assert result.resynced_after_410 and result.full
    assert cal.expired_sync_reasons() == [cal.expired_sync_reason]
    assert result.cancelled == [deleted.booking_id] and result.moved == [moved.booking_id]
    assert cal.status(ref, kept.booking_id) == BookingStatus.CONFIRMED
    assert cal.status(ref, deleted.booking_id) == BookingStatus.CANCELLED_BY_OWNER
    assert {e.event_id for e in cal.synced(ref)} == cal.event_ids() \
        == {kept.event_id, moved.event_id, dentist}
    # The next round reads only changes again, and has nothing to report.
    again = await cal.sync(ref)
    assert not again.full and again.changed == again.removed == 0 and again.requests == 1


async def test_owner_moving_a_meeting_onto_another_booking_keeps_both_and_flags_it(
        owner_calendar: OwnerCalendar) -> None:
    cal = owner_calendar
    ref = await cal.connect()
    first = await cal.book(ref, 0, slot=0)
    second = await cal.book(ref, 1, slot=0)
    await cal.sync(ref)

    cal.owner_moves(second.event_id, first.slot.start, first.slot.end)
    result = await cal.sync(ref)

    assert result.conflicts == [second.booking_id]
    assert cal.status(ref, first.booking_id) == BookingStatus.CONFIRMED
    assert cal.status(ref, second.booking_id) == BookingStatus.CONFLICT
    assert len(cal.event_ids()) == 2  # both meetings stay on the calendar
    [note] = [n for n in owner_changes.notes(cal.database, ref) if n.kind == "conflict"]
    assert note.booking_id == second.booking_id and note.other_booking_id == first.booking_id
    # Neither time is offered: the calendar shows both busy.
    assert first.slot.start not in await cal.offered(ref)

    # Moved again to a free time, the booking is confirmed there.
    free = first.slot.start + timedelta(hours=4)
    cal.owner_moves(second.event_id, free, free + timedelta(minutes=30))
    again = await cal.sync(ref)
    assert again.moved == [second.booking_id]
    assert cal.status(ref, second.booking_id) == BookingStatus.CONFIRMED


async def test_an_attendee_decline_is_recorded_once(owner_calendar: OwnerCalendar) -> None:
    cal = owner_calendar
    ref = await cal.connect()
    booked = await cal.book(ref, 0)
    await cal.sync(ref)

    cal.attendee_declines(booked.event_id, CALLERS[0].email)
    result = await cal.sync(ref)

    assert result.declined == [booked.booking_id]
    assert cal.status(ref, booked.booking_id) == BookingStatus.CONFIRMED
    # A later round that sees the event changed again does not record it twice.
    cal.owner_touches(booked.event_id)
    assert (await cal.sync(ref)).declined == []
    assert [n.kind for n in owner_changes.notes(cal.database, ref)] == ["declined"]


async def test_scheduled_pass_watches_and_syncs_every_connection(
        owner_calendar: OwnerCalendar, receiver: str) -> None:
    cal = owner_calendar
    ref = await cal.connect()
    cal.add_event(NOW, NOW + timedelta(hours=1), "Standup")
    cal.add_event(NOW + timedelta(hours=2), NOW + timedelta(hours=3), "Lunch", free=True)

    await cal.follow_once(receiver)

    assert cal.watches() == [receiver]
    assert [(e.subject, e.start, e.show_as) for e in cal.synced(ref)] \
        == [("Standup", NOW, "busy"), ("Lunch", NOW + timedelta(hours=2), "free")]


async def test_a_fresh_synced_copy_answers_call_start_and_the_recheck_still_asks_the_provider(
        owner_calendar: OwnerCalendar) -> None:
    cal = owner_calendar
    fresh = cal.settings.model_copy(update={f"{cal.name}_synced_fresh_seconds": 60.0})
    ref = await cal.connect(fresh)
    cal.add_event(NOW + timedelta(hours=1), NOW + timedelta(hours=2), "Dentist")
    cal.add_event(NOW + timedelta(hours=3), NOW + timedelta(hours=4), "Lunch", free=True)
    await cal.sync(ref)
    live = await cal.offered(ref)
    # After the sync the owner blocks the first free slot: the copy does not know yet.
    cal.add_event(live[0], live[0] + timedelta(minutes=30), "Walk-in")
    cal.clear_log()

    svc = await cal.service(ref, fresh)
    slots = await svc.free_slots(NOW, limit=6)
    # Read from the copy: the Dentist is busy, the free lunch leaves the owner free.
    assert [s.start for s in slots] == live[:6]
    assert cal.availability_reads() == 0

    taken = await svc.book(start=slots[0].start, attendee=CALLERS[0], call_id="call-0",
                           recipient=recipient(0), now=NOW)
    assert isinstance(taken, SlotTaken)  # the re-check before booking asked the provider
    assert cal.availability_reads() == 1

    # A copy older than the setting allows is not used.
    stale = cal.settings.model_copy(update={f"{cal.name}_synced_fresh_seconds": 0.001})
    cal.clear_log()
    assert live[0] not in await cal.offered(ref, stale)
    assert cal.availability_reads() == 1


async def test_disconnecting_ends_the_calendars_notifications_and_removes_its_synced_copy(
        owner_calendar: OwnerCalendar, receiver: str, request: pytest.FixtureRequest,
        capsys: pytest.CaptureFixture[str]) -> None:
    cal = owner_calendar
    request.getfixturevalue(f"{cal.name}_operator_env")  # the operator runs booking-agent
    ref = await cal.connect()
    cal.add_event(NOW, NOW + timedelta(hours=1), "Standup")
    await cal.watch(ref, receiver)
    await cal.sync(ref)
    await cal.notifications_answered(1)
    [watch] = cal.watch_ids()

    name = ref.removeprefix(f"{cal.name}:")
    assert await asyncio.to_thread(main, [cal.name, "disconnect", name]) == 0

    assert "tokens are deleted" in capsys.readouterr().out
    assert cal.watch_ids(ended=True) == [watch] and cal.watch_ids() == []
    assert cal.follows_nothing(ref)


async def test_disconnect_completes_when_the_provider_cannot_end_the_notifications(
        owner_calendar: OwnerCalendar, receiver: str,
        caplog: pytest.LogCaptureFixture) -> None:
    cal = owner_calendar
    ref, booked = await cal.followed_booking(receiver)
    [watch], secret = cal.watch_ids(), cal.watch_secret()
    cal.refuse_to_end_watches()
    caplog.set_level(logging.WARNING)

    gone = await cal.disconnect(ref)

    assert gone.status == "disconnected" and cal.follows_nothing(ref)
    assert cal.watch_ids(ended=True) == [] and cal.watch_ids() == [watch]
    assert cal.watch_kept_warning.format(ref=ref) in caplog.text
    assert secret not in caplog.text
    # The watch the provider kept still notifies: acknowledged, and nothing happens.
    cal.clear_log()
    cal.owner_deletes(booked.event_id)
    assert (await cal.notifications_answered(2))[-1] == cal.accepted_status
    await asyncio.sleep(0.5)
    assert cal.requests_made() == 0  # no sync was attempted
    assert cal.follows_nothing(ref) and owner_changes.notes(cal.database, ref) == []
    assert cal.status(ref, booked.booking_id) == BookingStatus.CONFIRMED


async def test_notification_for_a_disconnected_calendar_is_acknowledged_and_ignored(
        owner_calendar: OwnerCalendar, receiver: str) -> None:
    cal = owner_calendar
    ref, booked = await cal.followed_booking(receiver)
    watch = cal.live_watch()
    await cal.disconnect(ref)
    cal.clear_log()

    # A change the provider had already sent on the ended watch arrives late.
    assert cal.post_change(receiver, watch, booked.event_id) == cal.accepted_status

    await asyncio.sleep(0.5)
    assert cal.requests_made() == 0 and cal.watch_ids() == [] and cal.follows_nothing(ref)
    assert cal.status(ref, booked.booking_id) == BookingStatus.CONFIRMED

"""The embedded local calendar behaves like any CalendarProvider, on both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calendar_backend.local_calendar import LocalCalendar
from calendar_backend.provider import Attendee, CalendarProvider, EventNotFound, NewEvent
from storage.database import Database

T0 = datetime(2030, 3, 4, 14, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _new_event(key: str = "booking-1", start: datetime = T0) -> NewEvent:
    return NewEvent(
        idempotency_key=key,
        subject="Intro call with Ann",
        body="Booked by phone.",
        start=start,
        end=start + timedelta(minutes=30),
        attendees=[Attendee(email="ann@example.com", name="Ann Lee")],
        location="+15551234567",
    )


def test_local_calendar_is_a_calendar_provider(database: Database) -> None:
    assert isinstance(LocalCalendar(database), CalendarProvider)


async def test_busy_times_list_blocking_events_overlapping_the_range(database: Database) -> None:
    calendar = LocalCalendar(database)
    calendar.add_busy(T0, T0 + HOUR)
    calendar.add_busy(T0 + 2 * HOUR, T0 + 3 * HOUR, show_as="tentative")
    calendar.add_busy(T0 + 4 * HOUR, T0 + 5 * HOUR, show_as="oof")
    calendar.add_busy(T0 + HOUR, T0 + 2 * HOUR, show_as="free", subject="Focus time")
    calendar.add_busy(T0 - HOUR, T0)  # ends as the range starts: no overlap
    LocalCalendar(database, calendar_id="someone-else").add_busy(T0, T0 + HOUR)

    busy = await calendar.busy_times(T0, T0 + 5 * HOUR)

    assert [(b.start, b.end, b.show_as) for b in busy] == [
        (T0, T0 + HOUR, "busy"),
        (T0 + 2 * HOUR, T0 + 3 * HOUR, "tentative"),
        (T0 + 4 * HOUR, T0 + 5 * HOUR, "oof"),
    ]


async def test_busy_times_accept_any_zone_and_answer_in_utc(database: Database) -> None:
    calendar = LocalCalendar(database)
    calendar.add_busy(T0, T0 + HOUR)
    eastern = ZoneInfo("America/New_York")

    busy = await calendar.busy_times(T0.astimezone(eastern), (T0 + HOUR).astimezone(eastern))

    assert busy[0].start == T0 and busy[0].start.tzinfo == UTC


async def test_created_event_blocks_time_and_lists_with_its_attendee(database: Database) -> None:
    calendar = LocalCalendar(database)

    created = await calendar.create_event(_new_event())

    assert created.online_meeting_url is None
    [event] = calendar.events()
    assert event.id == created.event_id
    assert event.attendees == [Attendee(email="ann@example.com", name="Ann Lee")]
    assert (event.start, event.location, event.status) == (T0, "+15551234567", "scheduled")
    assert [b.start for b in await calendar.busy_times(T0, T0 + HOUR)] == [T0]


async def test_same_idempotency_key_returns_the_same_event_never_a_second(
    database: Database,
) -> None:
    calendar = LocalCalendar(database)

    results = await asyncio.gather(*(calendar.create_event(_new_event()) for _ in range(10)))

    assert len({r.event_id for r in results}) == 1
    assert len(calendar.events()) == 1


async def test_different_keys_make_different_events(database: Database) -> None:
    calendar = LocalCalendar(database)
    first = await calendar.create_event(_new_event("booking-1"))
    second = await calendar.create_event(_new_event("booking-2", T0 + HOUR))
    assert first.event_id != second.event_id
    assert len(calendar.events()) == 2


async def test_moved_event_frees_its_old_time(database: Database) -> None:
    calendar = LocalCalendar(database)
    created = await calendar.create_event(_new_event())

    moved = await calendar.move_event(created.event_id, T0 + HOUR, T0 + HOUR * 1.5)

    assert moved.event_id == created.event_id
    assert await calendar.busy_times(T0, T0 + HOUR) == []
    assert [b.start for b in await calendar.busy_times(T0, T0 + 2 * HOUR)] == [T0 + HOUR]


async def test_cancelled_event_keeps_its_message_and_stops_blocking(database: Database) -> None:
    calendar = LocalCalendar(database)
    created = await calendar.create_event(_new_event())

    await calendar.cancel_event(created.event_id, "Sorry, something came up.")
    await calendar.cancel_event(created.event_id, "a second cancel changes nothing")

    [event] = calendar.events()
    assert (event.status, event.cancel_message) == ("cancelled", "Sorry, something came up.")
    assert await calendar.busy_times(T0, T0 + HOUR) == []
    assert calendar.events(include_cancelled=False) == []


async def test_moving_or_cancelling_an_unknown_event_says_not_found(database: Database) -> None:
    calendar = LocalCalendar(database)
    with pytest.raises(EventNotFound):
        await calendar.move_event("nope", T0, T0 + HOUR)
    with pytest.raises(EventNotFound):
        await calendar.cancel_event("nope", "bye")


async def test_a_cancelled_event_cannot_be_moved(database: Database) -> None:
    calendar = LocalCalendar(database)
    created = await calendar.create_event(_new_event())
    await calendar.cancel_event(created.event_id, "bye")
    with pytest.raises(EventNotFound):
        await calendar.move_event(created.event_id, T0 + HOUR, T0 + 2 * HOUR)


async def test_zone_and_video_links_as_configured(database: Database) -> None:
    calendar = LocalCalendar(database, zone="Europe/Berlin")
    assert await calendar.time_zone() == "Europe/Berlin"
    assert await LocalCalendar(database).time_zone() is None
    assert await calendar.can_add_online_meeting() is False


def test_seeding_refuses_unknown_show_as_and_backwards_ranges(database: Database) -> None:
    calendar = LocalCalendar(database)
    with pytest.raises(ValueError, match="show_as"):
        calendar.add_busy(T0, T0 + HOUR, show_as="maybe")
    with pytest.raises(ValueError, match="ends before it starts"):
        calendar.add_busy(T0 + HOUR, T0)
    assert calendar.events() == []


def test_events_lists_only_the_requested_range(database: Database) -> None:
    calendar = LocalCalendar(database)
    calendar.add_busy(T0, T0 + HOUR, subject="Standup")
    calendar.add_busy(T0 + 3 * HOUR, T0 + 4 * HOUR, subject="Review")
    assert [e.subject for e in calendar.events(T0 + 2 * HOUR, T0 + 5 * HOUR)] == ["Review"]

"""Many callers confirming at once: the database lets exactly one win, on both databases,
whether each call goes to the store on its own or calls share a batched store and calendar."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import datetime

import pytest

from calendar_backend.batching import BatchedCalendar, BatchedStore
from calendar_backend.booking import Booked, BookingService, SlotTaken
from calendar_backend.local_calendar import LocalCalendar
from calendar_backend.provider import Attendee, CalendarProvider
from calendar_backend.sql_store import SqlBookingStore
from storage.database import Database
from tests.test_booking import (
    MIN,
    NINE,
    NOW,
    RECIPIENT,
    LaggingCalendar,
    live_rows,
    service,
    settings,
)

Calls = Callable[[CalendarProvider, int], list[BookingService]]


@pytest.fixture(params=["one at a time", "batched"])
def calls(request: pytest.FixtureRequest, database: Database) -> Calls:
    """``count`` calls on one calendar: each with its own store, or sharing a batched store
    and a batched calendar."""
    def make(calendar: CalendarProvider, count: int) -> list[BookingService]:
        if request.param == "one at a time":
            return [service(database, calendar) for _ in range(count)]
        store, shared = BatchedStore(SqlBookingStore(database, "local")), BatchedCalendar(calendar)
        return [BookingService(store, shared, settings(), campaign_name="spring-outreach")
                for _ in range(count)]

    return make


async def _confirm_all(services: list[BookingService], starts: list[datetime]) -> list[object]:
    async def confirm(index: int, svc: BookingService, start: datetime) -> object:
        attendee = Attendee(email=f"caller{index}@example.com")
        return await svc.book(start=start, attendee=attendee, recipient=RECIPIENT,
                              call_id=f"call-{index}", now=NOW)

    for svc in services:
        await svc.load_availability(NOW)  # each call reads the calendar as it starts
    pairs = enumerate(zip(services, starts, strict=True))
    return list(await asyncio.gather(*(confirm(i, svc, start) for i, (svc, start) in pairs)))


def _assert_no_overlapping_live_bookings(database: Database) -> None:
    rows = live_rows(database)
    for a, b in itertools.combinations(rows, 2):
        assert not (a.blocked_start < b.blocked_end and b.blocked_start < a.blocked_end), (a, b)


async def test_fifty_concurrent_confirmations_give_one_booking_and_fortynine_slot_taken(
    database: Database, calls: Calls,
) -> None:
    calendar = LocalCalendar(database)
    services = calls(calendar, 50)

    results = await _confirm_all(services, [NINE] * 50)

    booked = [r for r in results if isinstance(r, Booked)]
    taken = [r for r in results if isinstance(r, SlotTaken)]
    assert len(booked) == 1 and len(taken) == 49
    assert all(r.alternatives and NINE not in [a.start for a in r.alternatives] for r in taken)
    assert len(live_rows(database)) == 1
    assert len(calendar.events()) == 1


async def test_fifty_confirmations_on_a_lagging_calendar_are_decided_by_the_database(
    database: Database, calls: Calls,
) -> None:
    # The calendar's busy view never shows the winner, so every caller reaches the claim.
    calendar = LaggingCalendar(database)
    services = calls(calendar, 50)

    results = await _confirm_all(services, [NINE] * 50)

    assert sum(isinstance(r, Booked) for r in results) == 1
    assert sum(isinstance(r, SlotTaken) and bool(r.alternatives) for r in results) == 49
    assert len(live_rows(database)) == 1
    assert len(calendar.events()) == 1


async def test_callers_racing_for_slots_within_each_others_buffers_never_overlap(
    database: Database, calls: Calls,
) -> None:
    calendar = LaggingCalendar(database)
    # 09:00, 09:30 and 10:00 each reach into a neighbour's ten-minute buffer.
    starts = [NINE + (i % 3) * 30 * MIN for i in range(30)]
    services = calls(calendar, len(starts))

    results = await _confirm_all(services, starts)

    winners = sorted(r.slot.start for r in results if isinstance(r, Booked))
    assert winners in ([NINE, NINE + 60 * MIN], [NINE + 30 * MIN])
    assert all(isinstance(r, (Booked, SlotTaken)) for r in results)
    _assert_no_overlapping_live_bookings(database)
    assert len(calendar.events()) == len(winners)


async def test_two_calls_moving_into_one_slot_at_once_leave_one_there(
    database: Database, calls: Calls,
) -> None:
    first, second = calls(LaggingCalendar(database), 2)
    a = await first.book(start=NINE, attendee=Attendee(email="a@example.com"),
                         recipient=RECIPIENT, call_id="call-a", now=NOW)
    b = await second.book(start=NINE + 60 * MIN, attendee=Attendee(email="b@example.com"),
                          recipient=RECIPIENT, call_id="call-b", now=NOW)
    assert isinstance(a, Booked) and isinstance(b, Booked)
    target = NINE + 180 * MIN

    results = await asyncio.gather(
        first.move(a.booking_id, start=target, call_id="call-a", now=NOW),
        second.move(b.booking_id, start=target, call_id="call-b", now=NOW),
    )

    assert sorted(type(r).__name__ for r in results) == ["Booked", "SlotTaken"]
    _assert_no_overlapping_live_bookings(database)
    assert len(live_rows(database)) == 2  # the loser kept its time; no holds remain


async def test_one_call_confirming_two_times_at_once_gets_one_meeting(
    database: Database, calls: Calls,
) -> None:
    [svc] = calls(LaggingCalendar(database), 1)
    attendee = Attendee(email="ann@example.com")

    results = await asyncio.gather(*(
        svc.book(start=start, attendee=attendee, recipient=RECIPIENT, call_id="call-1", now=NOW)
        for start in (NINE, NINE + 120 * MIN)
    ))

    assert sorted(type(r).__name__ for r in results) == ["Booked", "NotAllowed"]
    assert len(live_rows(database)) == 1

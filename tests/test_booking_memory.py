"""Booking on the in-memory store and an in-memory calendar: no database at all."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

from calendar_backend.booking import (
    Booked,
    BookingFailed,
    BookingService,
    BookingStatus,
    Cancelled,
    SlotTaken,
)
from calendar_backend.interval import Interval
from calendar_backend.memory_store import MemoryBookingStore
from calendar_backend.provider import (
    Attendee,
    BusyTime,
    CalendarUnavailable,
    CreatedEvent,
    NewEvent,
)
from tests.test_booking import ANN, BOB, MIN, NINE, NOW, RECIPIENT, settings


class MemoryCalendar:
    """A calendar port kept in a dict (event id -> its time), idempotent by key."""

    def __init__(self, *, refuse_writes: bool = False) -> None:
        self.events: dict[str, Interval] = {}
        self._keys: dict[str, str] = {}
        self.refuse_writes = refuse_writes

    async def busy_times(self, start: datetime, end: datetime) -> list[BusyTime]:
        span = Interval(start, end)
        return [BusyTime(start=e.start, end=e.end) for e in self.events.values()
                if e.overlaps(span)]

    async def create_event(self, event: NewEvent) -> CreatedEvent:
        if self.refuse_writes:
            raise CalendarUnavailable("calendar is down")
        event_id = self._keys.setdefault(event.idempotency_key, str(uuid.uuid4()))
        self.events[event_id] = Interval(event.start, event.end)
        return CreatedEvent(event_id=event_id)

    async def move_event(self, event_id: str, start: datetime, end: datetime) -> CreatedEvent:
        if self.refuse_writes:
            raise CalendarUnavailable("calendar is down")
        self.events[event_id] = Interval(start, end)
        return CreatedEvent(event_id=event_id)

    async def cancel_event(self, event_id: str, message: str) -> None:
        self.events.pop(event_id, None)

    async def time_zone(self) -> str | None:
        return "UTC"

    async def can_add_online_meeting(self) -> bool:
        return False


def on_memory(store: MemoryBookingStore, calendar: MemoryCalendar) -> BookingService:
    return BookingService(store, calendar, settings(), campaign_name="spring-outreach")


async def book(svc: BookingService, start: datetime, call_id: str, who: Attendee = ANN) -> object:
    return await svc.book(start=start, attendee=who, recipient=RECIPIENT, call_id=call_id,
                          now=NOW)


async def test_books_then_refuses_a_double_booking_with_alternatives() -> None:
    store, calendar = MemoryBookingStore(), MemoryCalendar()

    first = await book(on_memory(store, calendar), NINE, "call-1")
    second = await book(on_memory(store, calendar), NINE, "call-2", BOB)

    assert isinstance(first, Booked) and list(calendar.events) == [first.event_id]
    assert isinstance(second, SlotTaken)
    assert [s.start for s in second.alternatives] == [NINE + 60 * MIN, NINE + 90 * MIN,
                                                      NINE + 120 * MIN]
    [record] = store.records()
    assert record.status is BookingStatus.CONFIRMED and record.status == "confirmed"


async def test_racing_callers_on_a_calendar_that_lags_leave_one_booking() -> None:
    store = MemoryBookingStore()

    class Lagging(MemoryCalendar):
        async def busy_times(self, start: datetime, end: datetime) -> list[BusyTime]:
            return []

    calendar = Lagging()
    results = await asyncio.gather(*(
        book(on_memory(store, calendar), NINE + (i % 2) * 30 * MIN, f"call-{i}",
             Attendee(email=f"caller{i}@example.com"))
        for i in range(10)
    ))

    assert sum(isinstance(r, Booked) for r in results) == 1
    assert sum(isinstance(r, SlotTaken) for r in results) == 9
    assert len(calendar.events) == 1


async def test_a_failed_write_releases_the_slot_and_its_retry_keeps_the_booking_id() -> None:
    store, calendar = MemoryBookingStore(), MemoryCalendar(refuse_writes=True)
    svc = on_memory(store, calendar)

    assert await book(svc, NINE, "call-1") == BookingFailed("calendar is down")
    [failed] = store.records()
    calendar.refuse_writes = False
    retried = await book(svc, NINE, "call-1")

    assert failed.status is BookingStatus.FAILED
    assert isinstance(retried, Booked) and retried.booking_id == failed.id
    assert await book(svc, NINE, "call-1") == retried  # asking again: the same booking


async def test_move_holds_the_old_time_until_done_and_cancel_releases() -> None:
    store, calendar = MemoryBookingStore(), MemoryCalendar()
    svc = on_memory(store, calendar)
    booked = await book(svc, NINE, "call-1")
    assert isinstance(booked, Booked)

    calendar.refuse_writes = True
    refused = await svc.move(booked.booking_id, start=NINE + 120 * MIN, call_id="call-1",
                             now=NOW)
    calendar.refuse_writes = False
    moved = await svc.move(booked.booking_id, start=NINE + 120 * MIN, call_id="call-1",
                           now=NOW)
    old_time = await book(on_memory(store, calendar), NINE, "call-2", BOB)
    new_time = await book(on_memory(store, calendar), NINE + 120 * MIN, "call-3", BOB)
    cancelled = await svc.cancel(booked.booking_id, call_id="call-1", message="bye")
    after_cancel = await book(on_memory(store, calendar), NINE + 120 * MIN, "call-3", BOB)

    assert refused == BookingFailed("calendar is down")
    assert isinstance(moved, Booked) and moved.moved_from == booked.slot
    assert isinstance(old_time, Booked)  # released once the calendar moved the event
    assert isinstance(new_time, SlotTaken)
    assert cancelled == Cancelled(booked.booking_id)
    assert [r.status for r in store.records("call-1")] == [BookingStatus.CANCELLED]
    assert isinstance(after_cancel, Booked)

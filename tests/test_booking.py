"""Booking during a call: offered slots, first confirm wins, failures release, moves, cancels."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from calendar_backend.booking import (
    Booked,
    BookingFailed,
    BookingService,
    Cancelled,
    NotAllowed,
    SlotTaken,
    idempotency_key,
)
from calendar_backend.booking_settings import BookingSettings, Recipient
from calendar_backend.interval import Interval
from calendar_backend.local_calendar import LocalCalendar
from calendar_backend.provider import (
    Attendee,
    BusyTime,
    CalendarUnavailable,
    CreatedEvent,
    NewEvent,
)
from calendar_backend.sql_store import SqlBookingStore
from storage.booking_tables import BookingRow
from storage.database import Database

# Monday 2030-03-04, 07:00 UTC; the window is 09:00-17:00 UTC on weekdays.
NOW = datetime(2030, 3, 4, 7, 0, tzinfo=UTC)
NINE = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
ANN = Attendee(email="ann@example.com", name="Ann Lee")
BOB = Attendee(email="bob@example.com", name="Bob Ray")
RECIPIENT = Recipient(first_name="Ann", last_name="Lee", phone="+15551234567")


def settings(**overrides: Any) -> BookingSettings:
    """30-minute meetings every 30 minutes, 10 minutes' buffer after, 1 hour's notice."""
    values: dict[str, Any] = {
        "enabled": True,
        "meeting_length_minutes": 30,
        "availability": {"timezone": "UTC", "start": "09:00", "end": "17:00"},
        "buffer_after_minutes": 10,
        "minimum_notice_minutes": 60,
        "look_ahead_days": 14,
        "meeting_type": "phone",
        "title_template": "Intro call with {recipient.firstName}",
        "description_template": "Booked by phone for {campaign.name}.",
    }
    values.update(overrides)
    return BookingSettings.model_validate(values)


def service(database: Database, provider: Any = None, **overrides: Any) -> BookingService:
    return BookingService(
        SqlBookingStore(database, "local"), provider or LocalCalendar(database),
        settings(**overrides), campaign_name="spring-outreach",
    )


async def book(svc: BookingService, start: datetime, call_id: str, who: Attendee = ANN) -> Any:
    return await svc.book(start=start, attendee=who, recipient=RECIPIENT, call_id=call_id, now=NOW)


class FailingCreates(LocalCalendar):
    """Our calendar port answering "unavailable" to creates (optionally after writing)."""

    def __init__(self, database: Database, *, writes_anyway: bool = False) -> None:
        super().__init__(database)
        self.writes_anyway = writes_anyway

    async def create_event(self, event: NewEvent) -> CreatedEvent:
        if self.writes_anyway:  # the calendar wrote it, but the answer was lost
            await super().create_event(event)
        raise CalendarUnavailable("calendar timed out")


class FailingMoves(LocalCalendar):
    """Our calendar port refusing every move."""

    async def move_event(self, event_id: str, start: datetime, end: datetime) -> CreatedEvent:
        raise CalendarUnavailable("calendar throttled the move")


class GatedCalendar(LocalCalendar):
    """Our calendar port whose writes (creates or moves) wait until the test lets them through."""

    def __init__(self, database: Database, gated: str) -> None:
        super().__init__(database)
        self.gated = gated
        self.started = asyncio.Event()
        self.proceed = asyncio.Event()

    async def _gate(self, operation: str) -> None:
        if operation == self.gated:
            self.started.set()
            await self.proceed.wait()

    async def create_event(self, event: NewEvent) -> CreatedEvent:
        await self._gate("create")
        return await super().create_event(event)

    async def move_event(self, event_id: str, start: datetime, end: datetime) -> CreatedEvent:
        await self._gate("move")
        return await super().move_event(event_id, start, end)


class LaggingCalendar(LocalCalendar):
    """A calendar whose busy view lags behind its writes (so the database must arbitrate)."""

    async def busy_times(self, start: datetime, end: datetime) -> list[BusyTime]:
        return []


def live_rows(database: Database) -> list[BookingRow]:
    with database.session() as session:
        return list(session.scalars(
            select(BookingRow).where(BookingRow.status.in_(("pending", "confirmed", "held")))
        ))


# -- booking -------------------------------------------------------------------------------


async def test_caller_books_an_offered_slot_and_is_invited(database: Database) -> None:
    calendar = LocalCalendar(database)
    svc = service(database, calendar)

    result = await book(svc, NINE, "call-1")

    assert isinstance(result, Booked)
    assert result.slot == Interval(NINE, NINE + 30 * MIN)
    assert result.online_meeting_url is None
    [event] = calendar.events()
    assert event.id == result.event_id
    assert event.attendees == [ANN]
    assert event.subject == "Intro call with Ann"
    assert event.body == "Booked by phone for spring-outreach."
    assert event.location == "+15551234567"  # phone meeting: the caller's number
    [record] = svc.bookings_for_call("call-1")
    assert (record.id, record.status, record.event_id) == (result.booking_id, "confirmed",
                                                           event.id)
    assert record.attendee_email == "ann@example.com"


async def test_in_person_meeting_carries_the_address(database: Database) -> None:
    calendar = LocalCalendar(database)
    svc = service(database, calendar, meeting_type="in_person", address="1 Main St, Boston")
    assert isinstance(await book(svc, NINE, "call-1"), Booked)
    assert calendar.events()[0].location == "1 Main St, Boston"


async def test_video_meeting_on_the_local_calendar_books_without_a_link(
    database: Database,
) -> None:
    calendar = LocalCalendar(database)
    result = await book(service(database, calendar, meeting_type="video"), NINE, "call-1")
    assert isinstance(result, Booked) and result.online_meeting_url is None
    assert calendar.events()[0].location is None


@pytest.mark.parametrize(
    "start",
    [
        NINE + 10 * MIN,  # not on the 30-minute grid
        datetime(2030, 3, 4, 7, 30, tzinfo=UTC),  # inside the hour of notice (and the window)
        datetime(2030, 3, 4, 17, 0, tzinfo=UTC),  # ends after the window
        datetime(2030, 3, 9, 9, 0, tzinfo=UTC),  # Saturday
        NINE + timedelta(days=21),  # beyond the look-ahead
    ],
)
async def test_time_outside_the_campaign_rules_is_not_allowed(
    database: Database, start: datetime
) -> None:
    svc = service(database)
    result = await book(svc, start, "call-1")
    assert isinstance(result, NotAllowed)
    assert svc.bookings() == []


async def test_second_caller_gets_alternatives_when_slot_taken(database: Database) -> None:
    first, second = service(database), service(database)
    assert isinstance(await book(first, NINE, "call-1"), Booked)

    result = await book(second, NINE, "call-2", BOB)

    assert isinstance(result, SlotTaken)
    assert result.slot.start == NINE
    # 09:30 would sit in 09:00's ten-minute buffer; the next three free slots follow.
    assert [s.start.strftime("%H:%M") for s in result.alternatives] == ["10:00", "10:30", "11:00"]
    assert [r.call_id for r in second.bookings()] == ["call-1"]


async def test_booking_inside_another_bookings_buffer_loses(database: Database) -> None:
    first, second = service(database), service(database)
    assert isinstance(await book(first, NINE, "call-1"), Booked)

    # 09:30-10:00 does not touch the 09:00 event itself, only its buffer until 09:40.
    result = await book(second, NINE + 30 * MIN, "call-2", BOB)

    assert isinstance(result, SlotTaken)
    assert result.alternatives[0].start == NINE + 60 * MIN


async def test_alternatives_fall_back_to_the_earliest_when_none_follow(
    database: Database,
) -> None:
    # A one-slot week: only 16:30 Monday is left after the requested (last) slot.
    svc = service(database, look_ahead_days=1)
    last = datetime(2030, 3, 4, 16, 30, tzinfo=UTC)
    assert isinstance(await book(svc, last, "call-1"), Booked)
    result = await book(service(database, look_ahead_days=1), last, "call-2", BOB)
    assert isinstance(result, SlotTaken)
    assert result.alternatives[0].start == datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


async def test_event_added_outside_after_availability_was_loaded_blocks_the_slot(
    database: Database,
) -> None:
    calendar = LocalCalendar(database)
    svc = service(database, calendar)
    await svc.load_availability(NOW)
    assert NINE in [s.start for s in await svc.free_slots(NOW, limit=3)]
    calendar.add_busy(NINE, NINE + 60 * MIN, subject="Dentist")  # the owner, meanwhile

    result = await book(svc, NINE, "call-1")

    assert isinstance(result, SlotTaken)
    assert result.alternatives[0].start == NINE + 60 * MIN
    assert svc.bookings() == []


async def test_calendar_outage_on_create_releases_the_slot(database: Database) -> None:
    result = await book(service(database, FailingCreates(database)), NINE, "call-1")

    assert result == BookingFailed("calendar timed out")
    assert live_rows(database) == []
    [record] = service(database).bookings_for_call("call-1")
    assert record.status == "failed"
    assert isinstance(await book(service(database), NINE, "call-2", BOB), Booked)


async def test_calendar_outage_on_the_recheck_books_nothing(database: Database) -> None:
    class Down(LocalCalendar):
        async def busy_times(self, start: datetime, end: datetime) -> list[BusyTime]:
            raise CalendarUnavailable("calendar is down")

    svc = service(database, Down(database))
    svc._busy = []  # availability was loaded before the outage
    assert await book(svc, NINE, "call-1") == BookingFailed("calendar is down")
    assert live_rows(database) == []


async def test_retried_booking_reuses_its_key_so_a_lost_answer_makes_no_second_event(
    database: Database,
) -> None:
    calendar = LocalCalendar(database)
    failed = await book(service(database, FailingCreates(database, writes_anyway=True)),
                        NINE, "call-1")
    assert isinstance(failed, BookingFailed)

    result = await book(service(database, calendar), NINE, "call-1")

    assert isinstance(result, Booked)
    [event] = calendar.events()
    assert result.event_id == event.id
    [record] = service(database).bookings_for_call("call-1")
    assert (record.id, record.status) == (result.booking_id, "confirmed")


async def test_a_call_dropping_mid_booking_still_leaves_it_finished(database: Database) -> None:
    calendar = GatedCalendar(database, "create")
    svc = service(database, calendar)
    confirming = asyncio.create_task(book(svc, NINE, "call-1"))
    await calendar.started.wait()

    confirming.cancel()  # the caller hung up while the event was being written
    calendar.proceed.set()

    with pytest.raises(asyncio.CancelledError):
        await confirming
    for _ in range(200):
        if svc.bookings()[0].status != "pending":
            break
        await asyncio.sleep(0.01)
    assert svc.bookings()[0].status == "confirmed"
    assert len(calendar.events()) == 1


async def test_a_call_asking_twice_for_its_own_slot_gets_the_same_booking(
    database: Database,
) -> None:
    svc = service(database)
    first = await book(svc, NINE, "call-1")
    again = await book(svc, NINE, "call-1")
    assert isinstance(first, Booked) and isinstance(again, Booked)
    assert again.booking_id == first.booking_id
    assert len(svc.bookings()) == 1


async def test_a_second_booking_on_one_call_must_be_a_move(database: Database) -> None:
    svc = service(database)
    assert isinstance(await book(svc, NINE, "call-1"), Booked)
    result = await book(svc, NINE + 120 * MIN, "call-1")
    assert isinstance(result, NotAllowed) and "move" in result.reason
    assert len(svc.bookings()) == 1


async def test_abandoned_pending_claim_is_released_but_a_fresh_one_holds(
    database: Database,
) -> None:
    def pending(start: datetime, age: timedelta) -> BookingRow:
        stamp = datetime.now(UTC) - age
        return BookingRow(
            id=str(uuid.uuid4()), calendar_id="local", call_id=f"crashed-{start:%H%M}",
            campaign="spring-outreach", attendee_email="x@example.com", subject="x",
            start=start, end=start + 30 * MIN, blocked_start=start,
            blocked_end=start + 40 * MIN, status="pending", created_at=stamp, updated_at=stamp,
        )

    later = NINE + 120 * MIN
    with database.session() as session:
        session.add_all([pending(NINE, timedelta(minutes=30)), pending(later, timedelta(0))])

    assert isinstance(await book(service(database), NINE, "call-1"), Booked)
    assert isinstance(await book(service(database), later, "call-2", BOB), SlotTaken)


async def test_move_onto_an_abandoned_claim_releases_it(database: Database) -> None:
    svc = service(database)
    booked = await book(svc, NINE, "call-1")
    assert isinstance(booked, Booked)
    eleven = NINE + 120 * MIN
    stamp = datetime.now(UTC) - timedelta(minutes=30)
    with database.session() as session:
        session.add(BookingRow(
            id=str(uuid.uuid4()), calendar_id="local", call_id="crashed",
            campaign="spring-outreach", attendee_email="x@example.com", subject="x",
            start=eleven, end=eleven + 30 * MIN, blocked_start=eleven,
            blocked_end=eleven + 40 * MIN, status="pending", created_at=stamp, updated_at=stamp,
        ))

    moved = await svc.move(booked.booking_id, start=eleven, call_id="call-1", now=NOW)

    assert isinstance(moved, Booked) and moved.slot.start == eleven
    assert [row.call_id for row in live_rows(database)] == ["call-1"]


# -- free slots --------------------------------------------------------------------------


async def test_free_slots_leave_out_other_calls_live_bookings(database: Database) -> None:
    watcher = service(database)
    await watcher.load_availability(NOW)
    assert isinstance(await book(service(database), NINE, "call-1"), Booked)

    slots = await watcher.free_slots(NOW, limit=2)

    assert [s.start for s in slots] == [NINE + 60 * MIN, NINE + 90 * MIN]


async def test_free_slots_within_a_range_such_as_wednesday_afternoon(
    database: Database,
) -> None:
    svc = service(database)
    afternoon = Interval(datetime(2030, 3, 6, 12, 0, tzinfo=UTC),
                         datetime(2030, 3, 6, 17, 0, tzinfo=UTC))
    slots = await svc.free_slots(NOW, within=afternoon)
    assert slots[0].start == afternoon.start
    assert slots[-1].start == datetime(2030, 3, 6, 16, 30, tzinfo=UTC)
    assert len(slots) == 10
    assert len(await svc.free_slots(NOW, limit=2, within=afternoon)) == 2


async def test_free_slots_load_the_calendar_once(database: Database) -> None:
    class Counting(LocalCalendar):
        calls = 0

        async def busy_times(self, start: datetime, end: datetime) -> list[BusyTime]:
            Counting.calls += 1
            return await super().busy_times(start, end)

    svc = service(database, Counting(database))
    await svc.free_slots(NOW, limit=3)
    await svc.free_slots(NOW, limit=3)
    assert Counting.calls == 1


# -- moving and cancelling ------------------------------------------------------------------


async def test_caller_moves_their_booking_and_the_old_time_frees(database: Database) -> None:
    calendar = LocalCalendar(database)
    svc = service(database, calendar)
    booked = await book(svc, NINE, "call-1")
    assert isinstance(booked, Booked)
    eleven = NINE + 120 * MIN

    moved = await svc.move(booked.booking_id, start=eleven, call_id="call-1", now=NOW)

    assert isinstance(moved, Booked)
    assert (moved.booking_id, moved.event_id) == (booked.booking_id, booked.event_id)
    assert moved.moved_from == booked.slot and moved.slot.start == eleven
    assert [(e.start, e.status) for e in calendar.events()] == [(eleven, "scheduled")]
    assert [r.slot.start for r in svc.bookings()] == [eleven]
    assert len(live_rows(database)) == 1  # no holds left behind
    assert isinstance(await book(service(database), NINE, "call-2", BOB), Booked)


async def test_move_into_its_own_buffer_is_not_blocked_by_itself(database: Database) -> None:
    svc = service(database)
    booked = await book(svc, NINE, "call-1")
    assert isinstance(booked, Booked)

    moved = await svc.move(booked.booking_id, start=NINE + 30 * MIN, call_id="call-1", now=NOW)

    assert isinstance(moved, Booked) and moved.slot.start == NINE + 30 * MIN
    # The freed 09:00 start is now inside the moved meeting's reach only through 09:30.
    assert isinstance(await book(service(database), NINE, "call-2", BOB), SlotTaken)


async def test_move_to_a_taken_slot_offers_alternatives_and_keeps_the_booking(
    database: Database,
) -> None:
    svc = service(database)
    booked = await book(svc, NINE, "call-1")
    assert isinstance(await book(service(database), NINE + 120 * MIN, "call-2", BOB), Booked)

    result = await svc.move(
        booked.booking_id, start=NINE + 120 * MIN, call_id="call-1", now=NOW
    )

    assert isinstance(result, SlotTaken) and result.alternatives
    assert NINE + 120 * MIN not in [a.start for a in result.alternatives]
    assert svc.bookings_for_call("call-1")[0].slot.start == NINE


async def test_only_the_call_that_booked_can_move_or_cancel(database: Database) -> None:
    svc = service(database)
    booked = await book(svc, NINE, "call-1")
    assert isinstance(booked, Booked)

    moved = await svc.move(booked.booking_id, start=NINE + 120 * MIN, call_id="call-2", now=NOW)
    cancelled = await svc.cancel(booked.booking_id, call_id="call-2", message="bye")
    unknown = await svc.move("no-such-id", start=NINE, call_id="call-1", now=NOW)

    assert isinstance(moved, NotAllowed) and isinstance(cancelled, NotAllowed)
    assert isinstance(unknown, NotAllowed)
    assert svc.bookings_for_call("call-1")[0].slot.start == NINE


async def test_failed_calendar_move_keeps_the_old_time(database: Database) -> None:
    svc = service(database, FailingMoves(database))
    booked = await book(svc, NINE, "call-1")
    assert isinstance(booked, Booked)

    result = await svc.move(booked.booking_id, start=NINE + 120 * MIN, call_id="call-1", now=NOW)

    assert result == BookingFailed("calendar throttled the move")
    [row] = live_rows(database)
    assert (row.start, row.blocked_end) == (NINE, NINE + 40 * MIN)
    assert isinstance(await book(service(database), NINE + 120 * MIN, "call-2", BOB), Booked)


async def test_old_time_stays_held_until_the_calendar_has_moved_the_event(
    database: Database,
) -> None:
    calendar = GatedCalendar(database, "move")
    svc = service(database, calendar)
    booked = await book(svc, NINE, "call-1")
    assert isinstance(booked, Booked)

    moving = asyncio.create_task(
        svc.move(booked.booking_id, start=NINE + 120 * MIN, call_id="call-1", now=NOW)
    )
    await calendar.started.wait()
    # 09:30 only touches the old booking's buffer, which the calendar cannot see.
    during = await book(service(database), NINE + 30 * MIN, "call-2", BOB)
    calendar.proceed.set()
    moved = await moving
    after = await book(service(database), NINE + 30 * MIN, "call-3", BOB)

    assert isinstance(during, SlotTaken)
    assert isinstance(moved, Booked)
    assert isinstance(after, Booked)


async def test_cancel_tells_the_attendee_and_releases_the_slot(database: Database) -> None:
    calendar = LocalCalendar(database)
    svc = service(database, calendar)
    booked = await book(svc, NINE, "call-1")
    assert isinstance(booked, Booked)

    result = await svc.cancel(booked.booking_id, call_id="call-1", message="Sorry, cancelled.")
    again = await svc.cancel(booked.booking_id, call_id="call-1", message="twice")

    assert result == Cancelled(booked.booking_id) == again
    [event] = calendar.events()
    assert (event.status, event.cancel_message) == ("cancelled", "Sorry, cancelled.")
    assert svc.bookings_for_call("call-1")[0].status == "cancelled"
    assert isinstance(await book(service(database), NINE, "call-2", BOB), Booked)
    moved = await svc.move(booked.booking_id, start=NINE + 120 * MIN, call_id="call-1", now=NOW)
    assert isinstance(moved, NotAllowed)


async def test_idempotency_key_follows_the_booking_id(database: Database) -> None:
    assert idempotency_key("abc") == idempotency_key("abc") != idempotency_key("abd")
    booked = await book(service(database), NINE, "call-1")
    assert isinstance(booked, Booked)
    with database.session() as session:
        row = session.get(BookingRow, booked.booking_id)
        assert row is not None and row.idempotency_key == idempotency_key(booked.booking_id)


async def test_lagging_calendar_still_cannot_double_book(database: Database) -> None:
    first = await book(service(database, LaggingCalendar(database)), NINE, "call-1")
    second = await book(service(database, LaggingCalendar(database)), NINE, "call-2", BOB)
    assert isinstance(first, Booked) and isinstance(second, SlotTaken)
    assert len(LocalCalendar(database).events()) == 1

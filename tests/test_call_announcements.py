"""A call's webhooks are never lost to a crash: a call recorded but not announced (the process
died in between) is announced by the sweep, and however many announcers race, once."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from app.operators.accounts import Organisation, create_operator
from app.operators.webhooks import (
    EVENT_TYPES,
    announce_call_ended,
    announce_recorded_calls,
    keep_calls_announced,
    register,
)
from calendar_backend.sql_store import booking_record
from calendar_backend.token_store import TokenCipher
from storage.base import UTCDateTime
from storage.booking_tables import BookingRow
from storage.call_tables import CallRow
from storage.database import Database
from storage.webhook_tables import WebhookDeliveryRow, WebhookEventRow
from telephony.call_records import EndedCall, record_call_finished, record_call_started
from tests.test_campaign_numbers import unmigrated  # noqa: F401  (the fixture)

CIPHER = TokenCipher(Fernet.generate_key().decode())
MEETING = datetime(2026, 12, 9, 15, 0, tzinfo=UTC)
# Recorded long enough ago that the live path would have announced it, had it lived.
AN_HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)


def _organisation_with_a_webhook(database: Database) -> Organisation:
    made = create_operator(database, f"ops-{uuid.uuid4().hex[:8]}@northwind.example",
                           "long enough password", "Northwind")
    register(database, CIPHER, made.organisation, "https://hooks.northwind.example/in",
             EVENT_TYPES)
    return made.organisation


def _recorded_call(database: Database, organisation_id: str | None, *, moved: bool = False,
                   ended_at: datetime = AN_HOUR_AGO) -> str:
    """A call that booked a meeting, recorded as the phone pipeline records it (and then
    the process died: nobody announced it)."""
    call_id = f"CA{uuid.uuid4().hex}"
    booking_id = str(uuid.uuid4())
    record_call_started(database, call_id, campaign="demo", direction="inbound",
                        caller_number="+12125550101", our_number="+12125550100",
                        organisation_id=organisation_id)
    with database.session() as session:
        session.add(BookingRow(
            id=booking_id, calendar_id=f"calendar-{call_id}", call_id=call_id,
            campaign="demo", attendee_email="chris.park@example.com",
            attendee_name="Chris Park", subject="Intro call", start=MEETING,
            end=MEETING + timedelta(minutes=30), blocked_start=MEETING,
            blocked_end=MEETING + timedelta(minutes=30), status="confirmed",
            event_id="event-1", online_meeting_url=None, idempotency_key=booking_id))
    record_call_finished(
        database, call_id, outcome="booked",
        transcript=[{"role": "agent", "text": "You're booked."}], tool_calls=[],
        bookings=[{"id": booking_id, "moved": moved, "status": "confirmed"}],
        turn_latencies=[], ended_at=ended_at)
    return call_id


def _events(database: Database) -> Counter[str]:
    with database.session() as session:
        return Counter(session.scalars(select(WebhookEventRow.type)))


def _deliveries(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(WebhookDeliveryRow)) or 0


def _announced_at(database: Database, call_id: str) -> datetime | None:
    with database.session() as session:
        return session.get_one(CallRow, call_id).announced_at


def test_call_recorded_but_not_announced_before_a_crash_is_announced_by_the_sweep(
        database: Database) -> None:
    organisation = _organisation_with_a_webhook(database)
    call_id = _recorded_call(database, organisation.id)

    assert announce_recorded_calls(database) == 1

    assert _events(database) == {"booking.created": 1, "call.ended": 1}
    assert _deliveries(database) == 2
    assert _announced_at(database, call_id) is not None
    with database.session() as session:
        ended = session.scalars(select(WebhookEventRow).where(
            WebhookEventRow.type == "call.ended")).one()
        assert ended.payload["call_id"] == call_id and ended.payload["outcome"] == "booked"
    # The next sweeps find nothing left to say.
    assert announce_recorded_calls(database) == 0
    assert _events(database) == {"booking.created": 1, "call.ended": 1}


def test_a_call_that_moved_its_booking_is_announced_as_a_move_by_the_sweep(
        database: Database) -> None:
    organisation = _organisation_with_a_webhook(database)
    _recorded_call(database, organisation.id, moved=True)

    assert announce_recorded_calls(database) == 1

    assert _events(database) == {"booking.moved": 1, "call.ended": 1}


async def test_the_call_server_sweeps_on_start_up(database: Database) -> None:
    organisation = _organisation_with_a_webhook(database)
    _recorded_call(database, organisation.id)
    stop = asyncio.Event()
    sweeping = asyncio.create_task(keep_calls_announced(database, stop, every_seconds=30))
    try:
        for _ in range(100):
            if _events(database)["call.ended"]:
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(sweeping, 10)

    assert _events(database) == {"booking.created": 1, "call.ended": 1}


def test_a_call_just_recorded_is_left_to_the_live_path(database: Database) -> None:
    organisation = _organisation_with_a_webhook(database)
    call_id = _recorded_call(database, organisation.id, ended_at=datetime.now(UTC))

    assert announce_recorded_calls(database) == 0

    assert _events(database) == {} and _announced_at(database, call_id) is None


def test_a_call_is_announced_once_however_many_announcers_race(database: Database) -> None:
    organisation = _organisation_with_a_webhook(database)
    call_id = _recorded_call(database, organisation.id)
    with database.session() as session:
        bookings = session.scalars(select(BookingRow).where(BookingRow.call_id == call_id))
        booked = [(booking_record(row), False) for row in bookings]
    live = EndedCall(call_id=call_id, campaign="demo", organisation_id=organisation.id,
                     outcome="booked", transcript=[], bookings=[], booked=booked)
    start = threading.Barrier(6)
    announced: list[int] = []

    def live_path() -> None:
        start.wait()
        announced.append(int(announce_call_ended(database, live)))

    def sweep() -> None:
        start.wait()
        announced.append(announce_recorded_calls(database))

    racers = [threading.Thread(target=live_path)] + \
        [threading.Thread(target=sweep) for _ in range(5)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(30)

    assert sorted(announced) == [0, 0, 0, 0, 0, 1]
    assert _events(database) == {"booking.created": 1, "call.ended": 1}
    assert _deliveries(database) == 2


def test_sweep_leaves_campaign_file_calls_alone(database: Database) -> None:
    _organisation_with_a_webhook(database)
    call_id = _recorded_call(database, None)

    for _ in range(3):
        assert announce_recorded_calls(database) == 0

    assert _events(database) == {} and _deliveries(database) == 0
    assert _announced_at(database, call_id) is None


def test_sweep_leaves_calls_still_going_alone(database: Database) -> None:
    organisation = _organisation_with_a_webhook(database)
    record_call_started(database, "CA-on-the-line", campaign="demo", direction="inbound",
                        caller_number="+12125550101", our_number="+12125550100",
                        organisation_id=organisation.id)

    assert announce_recorded_calls(database) == 0

    assert _events(database) == {} and _announced_at(database, "CA-on-the-line") is None


def test_migration_marks_history_announced(unmigrated: Database) -> None:  # noqa: F811
    database = unmigrated
    database.migrate("0015")
    ended = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    # The table as it stands at 0015 (no announced_at yet).
    calls = sa.table(
        "calls", *(sa.column(name) for name in ("id", "campaign", "direction", "status",
                                                 "outcome")),
        *(sa.column(name, sa.JSON()) for name in ("transcript", "tool_calls", "bookings",
                                                   "turn_latencies", "follow_ups")),
        sa.column("started_at", UTCDateTime()), sa.column("ended_at", UTCDateTime()))
    row = {"campaign": "demo", "direction": "inbound", "transcript": [], "tool_calls": [],
           "bookings": [], "turn_latencies": [], "follow_ups": {},
           "started_at": ended - timedelta(minutes=5)}
    with database.session() as session:
        session.execute(sa.insert(calls).values([
            {**row, "id": "CA-ended", "status": "completed", "outcome": "booked",
             "ended_at": ended},
            {**row, "id": "CA-on-the-line", "status": "in-progress", "outcome": None,
             "ended_at": None},
        ]))

    database.migrate()

    assert _announced_at(database, "CA-ended") == ended
    assert _announced_at(database, "CA-on-the-line") is None
    assert announce_recorded_calls(database) == 0 and _events(database) == {}

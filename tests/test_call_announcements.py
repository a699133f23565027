"""A call's webhooks are never lost to a crash: a call recorded but not announced (the process
died in between) is announced by the sweep, and however many announcers race, once."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from app.operators.accounts import Organisation, create_operator
from app.operators.webhooks import (
    EVENT_TYPES,
    announce_call_ended,
    announce_ended_calls,
    keep_calls_announced,
    register,
)
from calendar_backend.sql_store import booking_record
from calendar_backend.token_store import TokenCipher
from storage.base import UTCDateTime
from storage.booking_tables import BookingRow
from storage.call_tables import CallRow
from storage.database import Database
from storage.dialling_tables import DialCampaignRow, DialJobRow
from storage.webhook_tables import WebhookDeliveryRow, WebhookEventRow
from telephony.call_records import (
    EndedCall,
    answer_call,
    record_call_finished,
    record_call_started,
    record_status,
    start_stream,
)
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
    record_call_started(database, call_id, campaign="demo", direction="inbound",
                        caller_number="+12125550101", our_number="+12125550100",
                        organisation_id=organisation_id)
    booking_id = _add_booking(database, call_id)
    record_call_finished(
        database, call_id, outcome="booked",
        transcript=[{"role": "agent", "text": "You're booked."}], tool_calls=[],
        bookings=[{"id": booking_id, "moved": moved, "status": "confirmed"}],
        turn_latencies=[], ended_at=ended_at)
    return call_id


def _add_booking(database: Database, call_id: str) -> str:
    """A meeting the call booked (as the calendar store writes it, during the call)."""
    booking_id = str(uuid.uuid4())
    with database.session() as session:
        session.add(BookingRow(
            id=booking_id, calendar_id=f"calendar-{call_id}", call_id=call_id,
            campaign="demo", attendee_email="chris.park@example.com",
            attendee_name="Chris Park", subject="Intro call", start=MEETING,
            end=MEETING + timedelta(minutes=30), blocked_start=MEETING,
            blocked_end=MEETING + timedelta(minutes=30), status="confirmed",
            event_id="event-1", online_meeting_url=None, idempotency_key=booking_id))
    return booking_id


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

    assert announce_ended_calls(database) == 1

    assert _events(database) == {"booking.created": 1, "call.ended": 1}
    assert _deliveries(database) == 2
    assert _announced_at(database, call_id) is not None
    with database.session() as session:
        ended = session.scalars(select(WebhookEventRow).where(
            WebhookEventRow.type == "call.ended")).one()
        assert ended.payload["call_id"] == call_id and ended.payload["outcome"] == "booked"
    # The next sweeps find nothing left to say.
    assert announce_ended_calls(database) == 0
    assert _events(database) == {"booking.created": 1, "call.ended": 1}


def test_a_call_that_moved_its_booking_is_announced_as_a_move_by_the_sweep(
        database: Database) -> None:
    organisation = _organisation_with_a_webhook(database)
    _recorded_call(database, organisation.id, moved=True)

    assert announce_ended_calls(database) == 1

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

    assert announce_ended_calls(database) == 0

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
        announced.append(announce_ended_calls(database))

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
        assert announce_ended_calls(database) == 0

    assert _events(database) == {} and _deliveries(database) == 0
    assert _announced_at(database, call_id) is None


def test_sweep_leaves_calls_still_going_alone(database: Database) -> None:
    organisation = _organisation_with_a_webhook(database)
    record_call_started(database, "CA-on-the-line", campaign="demo", direction="inbound",
                        caller_number="+12125550101", our_number="+12125550100",
                        organisation_id=organisation.id)

    assert announce_ended_calls(database) == 0

    assert _events(database) == {} and _announced_at(database, "CA-on-the-line") is None


def _calls_before_migrating(*more: str) -> sa.TableClause:
    """The calls table's columns a row needs at an older revision, and ``more``."""
    return sa.table(
        "calls", *(sa.column(name) for name in ("id", "campaign", "direction", "status",
                                                 *more)),
        *(sa.column(name, sa.JSON()) for name in ("transcript", "tool_calls", "bookings",
                                                   "turn_latencies", "follow_ups")),
        sa.column("started_at", UTCDateTime()), sa.column("ended_at", UTCDateTime()))


def test_migration_marks_history_announced(unmigrated: Database) -> None:  # noqa: F811
    database = unmigrated
    database.migrate("0015")
    ended = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    # The table as it stands at 0015 (no announced_at yet).
    calls = _calls_before_migrating("outcome")
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
    assert announce_ended_calls(database) == 0 and _events(database) == {}


def _call_ended_payload(database: Database, call_id: str) -> dict[str, Any]:
    with database.session() as session:
        return next(event.payload for event in session.scalars(select(WebhookEventRow).where(
            WebhookEventRow.type == "call.ended")) if event.payload["call_id"] == call_id)


def _outbound_call(database: Database, organisation_id: str) -> str:
    """An outbound call placed for the organisation's campaign, ringing."""
    call_id = f"CA{uuid.uuid4().hex}"
    record_call_started(database, call_id, campaign="demo", direction="outbound",
                        caller_number="+12125550199", our_number="+12125550100",
                        status="ringing", organisation_id=organisation_id)
    return call_id


def _call_whose_pipeline_died(database: Database, organisation_id: str) -> tuple[str, str]:
    """A call that was answered, streamed and booked a meeting, then its process was killed:
    only Twilio's ``completed`` arrives. Returns the call and its booking."""
    call_id = f"CA{uuid.uuid4().hex}"
    assert answer_call(database, call_id, campaign="demo", direction="inbound",
                       caller_number="+12125550101", our_number="+12125550100",
                       organisation_id=organisation_id)
    assert start_stream(database, call_id)
    booking_id = _add_booking(database, call_id)
    record_status(database, call_id, "completed", 95.0)
    return call_id, booking_id


def _in(delay: timedelta) -> datetime:
    return datetime.now(UTC) + delay


def test_unanswered_outbound_call_is_announced_with_its_status(database: Database) -> None:
    organisation = _organisation_with_a_webhook(database)
    unanswered = _outbound_call(database, organisation.id)
    busy = _outbound_call(database, organisation.id)
    record_status(database, unanswered, "no-answer")
    record_status(database, busy, "busy", 0.0)

    # Just ended: not yet (a moment for anyone still writing it).
    assert announce_ended_calls(database) == 0
    assert announce_ended_calls(database, now=_in(timedelta(seconds=30))) == 2

    assert _events(database) == {"call.ended": 2}
    assert _call_ended_payload(database, unanswered) == {
        "call_id": unanswered, "campaign": "demo", "outcome": "no_answer",
        "duration_seconds": None, "bookings": [], "transcript": []}
    assert _call_ended_payload(database, busy)["outcome"] == "busy"
    assert _call_ended_payload(database, busy)["duration_seconds"] == 0.0
    # The call's record says what the webhook said.
    with database.session() as session:
        assert session.get_one(CallRow, unanswered).outcome == "no_answer"
    assert announce_ended_calls(database, now=_in(timedelta(minutes=5))) == 0


def test_call_a_machine_answered_is_announced_as_voicemail(database: Database) -> None:
    organisation = _organisation_with_a_webhook(database)
    call_id = _outbound_call(database, organisation.id)
    with database.session() as session:
        campaign = DialCampaignRow(name="demo", organisation_id=organisation.id,
                                   from_number="+12125550100")
        session.add(campaign)
        session.flush()
        session.add(DialJobRow(campaign_id=campaign.id, phone="+12125550199", state="calling",
                               attempts=1, call_id=call_id, answered_by="machine_end_beep"))
    record_status(database, call_id, "completed", 21.0)

    assert announce_ended_calls(database, now=_in(timedelta(seconds=30))) == 1

    assert _call_ended_payload(database, call_id)["outcome"] == "voicemail"


def test_call_whose_pipeline_died_is_announced_with_its_bookings(database: Database) -> None:
    organisation = _organisation_with_a_webhook(database)
    call_id, booking_id = _call_whose_pipeline_died(database, organisation.id)

    # A live pipeline may still be finishing its record: left to it for a while.
    assert announce_ended_calls(database, now=_in(timedelta(seconds=30))) == 0
    assert _announced_at(database, call_id) is None
    assert announce_ended_calls(database, now=_in(timedelta(minutes=3))) == 1

    assert _events(database) == {"booking.created": 1, "call.ended": 1}
    assert _call_ended_payload(database, call_id) == {
        "call_id": call_id, "campaign": "demo", "outcome": "dropped",
        "duration_seconds": 95.0, "bookings": [], "transcript": []}
    with database.session() as session:
        created = session.scalars(select(WebhookEventRow).where(
            WebhookEventRow.type == "booking.created")).one()
        assert created.payload["id"] == booking_id


def test_live_record_after_the_sweep_does_not_announce_twice(database: Database) -> None:
    organisation = _organisation_with_a_webhook(database)
    call_id, _ = _call_whose_pipeline_died(database, organisation.id)
    assert announce_ended_calls(database, now=_in(timedelta(minutes=3))) == 1

    # The pipeline was not dead after all: its record and announcement arrive late.
    record_call_finished(database, call_id, outcome="booked", transcript=[
        {"role": "agent", "text": "You're booked."}], tool_calls=[], bookings=[],
        turn_latencies=[])
    live = EndedCall(call_id=call_id, campaign="demo", organisation_id=organisation.id,
                     outcome="booked", transcript=[], bookings=[], booked=[])

    assert announce_call_ended(database, live) is False
    assert announce_ended_calls(database, now=_in(timedelta(minutes=10))) == 0
    assert _events(database) == {"booking.created": 1, "call.ended": 1}


def test_a_call_that_cannot_be_announced_does_not_hold_up_the_others(
        database: Database, caplog: pytest.LogCaptureFixture) -> None:
    organisation = _organisation_with_a_webhook(database)
    poisoned = _recorded_call(database, organisation.id,
                              ended_at=AN_HOUR_AGO - timedelta(hours=1))
    # Bad stored data: a booking of the record that is no booking at all.
    with database.session() as session:
        session.get_one(CallRow, poisoned).bookings = ["chris.park@example.com"]
    behind = [_recorded_call(database, organisation.id) for _ in range(2)]

    with caplog.at_level(logging.ERROR, logger="app.operators.webhooks"):
        # One call a sweep: the oldest cannot be announced, and is put off...
        assert announce_ended_calls(database, limit=1) == 0
        # ...so the sweeps after it announce the calls behind it.
        assert announce_ended_calls(database, limit=1) == 1
        assert announce_ended_calls(database, limit=1) == 1

    assert all(_announced_at(database, call_id) for call_id in behind)
    assert _announced_at(database, poisoned) is None
    assert _events(database) == {"booking.created": 2, "call.ended": 2}
    assert poisoned in caplog.text and "chris.park" not in caplog.text
    # Tried again later (still failing: waiting longer each time), never announced half.
    assert announce_ended_calls(database, now=_in(timedelta(minutes=2))) == 0
    with database.session() as session:
        row = session.get_one(CallRow, poisoned)
        assert row.announce_failures == 2 and row.announce_after is not None
        assert row.announce_after > _in(timedelta(minutes=3))
    assert _events(database) == {"booking.created": 2, "call.ended": 2}


def test_migration_leaves_calls_that_ended_unrecorded_before_it_unannounced_no_more(
        unmigrated: Database) -> None:  # noqa: F811
    database = unmigrated
    database.migrate("0016")
    ended = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    # An unanswered call ended under 0016 (never promised a webhook then).
    calls = _calls_before_migrating("organisation_id")
    organisation = _organisation_with_a_webhook(database)
    with database.session() as session:
        session.execute(sa.insert(calls).values(
            id="CA-no-answer", campaign="demo", direction="outbound", status="no-answer",
            organisation_id=organisation.id, transcript=[], tool_calls=[], bookings=[],
            turn_latencies=[], follow_ups={}, started_at=ended - timedelta(seconds=30),
            ended_at=ended))

    database.migrate()

    assert _announced_at(database, "CA-no-answer") == ended
    assert announce_ended_calls(database) == 0 and _events(database) == {}

"""Call records: what Twilio reported and what was said, called and booked on each call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from calendar_backend.booking_store import BookingRecord
from storage.call_tables import CallRow
from storage.database import Database
from storage.dialling_tables import DialJobRow
from telephony.do_not_call import add_in_session, scope_of

# Twilio's final call statuses; a status callback with one of these ends the call.
FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


class TurnLatency(BaseModel):
    """One turn: caller stops speaking → first agent audio, and where the time went."""

    total_ms: float
    stt_ms: float | None = None
    dialogue_ms: float | None = None
    tools_ms: float | None = None
    tts_ms: float | None = None


class FollowUps(BaseModel):
    """What a call asked for or promised, for whoever follows up."""

    call_back_requested: bool = False
    call_back_when: str | None = None
    do_not_call: bool = False
    human_follow_up: bool = False


@dataclass(frozen=True)
class EndedCall:
    """A call once recorded, as the shell hears of it (to tell an organisation's webhooks)."""

    call_id: str
    campaign: str
    organisation_id: str | None
    outcome: str | None
    transcript: list[dict[str, Any]]
    bookings: list[dict[str, Any]]
    # Each booking the call made, moved or cancelled, and whether the call moved it.
    booked: list[tuple[BookingRecord, bool]]


class CallRecord(BaseModel):
    """A stored call, as ``booking-agent calls show`` prints it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    campaign: str
    direction: str
    caller_number: str | None
    our_number: str | None
    status: str
    outcome: str | None
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float | None
    transcript: list[dict[str, Any]]
    tool_calls: list[dict[str, Any]]
    bookings: list[dict[str, Any]]
    turn_latencies: list[dict[str, Any]]
    follow_ups: FollowUps = Field(default_factory=lambda: FollowUps())


def record_call_started(
    database: Database, call_id: str, *, campaign: str, direction: str,
    caller_number: str | None, our_number: str | None, status: str = "in-progress",
    organisation_id: str | None = None,
) -> bool:
    """Store a new call (of ``organisation_id``'s campaign, if one); False (and nothing
    changed) if the call is already recorded."""
    try:
        with database.session() as session:
            session.add(CallRow(
                id=call_id, campaign=campaign, direction=direction,
                caller_number=caller_number, our_number=our_number, status=status,
                transcript=[], tool_calls=[], bookings=[], turn_latencies=[], follow_ups={},
                organisation_id=organisation_id,
            ))
    except IntegrityError:
        return False
    return True


def answer_call(
    database: Database, call_id: str, *, campaign: str, direction: str,
    caller_number: str | None, our_number: str | None, organisation_id: str | None = None,
) -> bool:
    """Note that the voice webhook answers ``call_id`` with a stream; False: it may not.

    A call is answered until its stream starts: Twilio retrying its webhook before then is
    answered again, but once the stream has started or the call has ended, a replayed
    webhook is refused by whichever server it reaches.
    """
    record_call_started(database, call_id, campaign=campaign, direction=direction,
                        caller_number=caller_number, our_number=our_number,
                        organisation_id=organisation_id)
    with database.session() as session:
        answered = session.execute(
            update(CallRow)
            .where(CallRow.id == call_id, CallRow.stream_started_at.is_(None),
                   CallRow.ended_at.is_(None))
            .values(answered_at=datetime.now(UTC)))
        return answered.rowcount == 1


def start_stream(database: Database, call_id: str) -> bool:
    """Claim the one media stream an answered call may have; False if it had one or ended.

    One conditional UPDATE, so under any concurrency (two servers, two sockets presenting
    the same token) the database lets exactly one stream start, and never after the end.
    """
    with database.session() as session:
        started = session.execute(
            update(CallRow)
            .where(CallRow.id == call_id, CallRow.answered_at.is_not(None),
                   CallRow.stream_started_at.is_(None), CallRow.ended_at.is_(None))
            .values(stream_started_at=datetime.now(UTC)))
        return started.rowcount == 1


def record_status(
    database: Database, call_id: str, status: str, duration_seconds: float | None = None
) -> bool:
    """Apply a Twilio status callback; False if the call is unknown here.

    Callbacks arrive once per event and may repeat: a final status is never replaced
    by an earlier one arriving late.
    """
    # Read then write: serial, so SQLite takes its write lock at BEGIN and waits its turn
    # behind other calls' writes (a deferred read upgraded to a write fails as "database is
    # locked" once another connection committed in between). On PostgreSQL the row lock does
    # the same: without it, the end-of-call write racing this callback could put its own
    # measured duration over Twilio's.
    with database.session(serial=True) as session:
        row = session.get(CallRow, call_id, with_for_update=True)
        if row is None:
            return False
        if row.status in FINAL_STATUSES and status not in FINAL_STATUSES:
            return True
        row.status = status
        if duration_seconds is not None:
            row.duration_seconds = duration_seconds
        if status in FINAL_STATUSES and row.ended_at is None:
            row.ended_at = datetime.now(UTC)
    return True


def record_call_finished(
    database: Database, call_id: str, *, outcome: str | None,
    transcript: list[dict[str, Any]], tool_calls: list[dict[str, Any]],
    bookings: list[dict[str, Any]], turn_latencies: list[TurnLatency],
    follow_ups: FollowUps | None = None, ended_at: datetime | None = None,
) -> None:
    """Store what happened on a call once its pipeline has ended."""
    ended = ended_at or datetime.now(UTC)
    # Everything is converted before the transaction, so the write lock is held briefly.
    values = {
        "outcome": outcome, "transcript": _jsonable(transcript),
        "tool_calls": _jsonable(tool_calls), "bookings": _jsonable(bookings),
        "turn_latencies": [t.model_dump() for t in turn_latencies],
        "follow_ups": (follow_ups or FollowUps()).model_dump(),
    }
    # Read then write: serial and row-locked, as in record_status.
    with database.session(serial=True) as session:
        row = session.get(CallRow, call_id, with_for_update=True)
        if row is None:
            raise KeyError(call_id)
        for column, value in values.items():
            setattr(row, column, value)
        row.ended_at = row.ended_at or ended
        if row.duration_seconds is None:
            row.duration_seconds = round((ended - row.started_at).total_seconds(), 3)
        # A caller who asked for no more calls goes on the organisation's do-not-call list
        # in the same transaction: no worker can dial them once the call is stored.
        if values["follow_ups"].get("do_not_call") and row.caller_number:
            add_in_session(session, database.dialect, [{
                "scope": scope_of(row.organisation_id), "phone": row.caller_number,
                "source": f"call {call_id}"[:64]}])
        _upgrade_job_outcome(session, call_id, values)


def _upgrade_job_outcome(session, call_id: str, values: dict[str, Any]) -> None:  # noqa: ANN001
    """A dialled contact whose call already settled as ``talked`` (Twilio's ``completed``
    came first) gets the conversation's own outcome: booked or opted out."""
    outcome = "booked" if values["bookings"] else \
        "opted_out" if values["follow_ups"].get("do_not_call") else None
    if outcome is not None:
        session.execute(update(DialJobRow).where(
            DialJobRow.call_id == call_id, DialJobRow.outcome == "talked",
        ).values(outcome=outcome))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def list_calls(database: Database, limit: int = 50) -> list[CallRecord]:
    """The most recent calls first."""
    with database.session() as session:
        rows = session.scalars(
            select(CallRow).order_by(CallRow.started_at.desc()).limit(limit)
        ).all()
        return [CallRecord.model_validate(row) for row in rows]


def get_call(database: Database, call_id: str) -> CallRecord | None:
    """One call by its id (Twilio's CallSid), or None."""
    with database.session() as session:
        row = session.get(CallRow, call_id)
        return CallRecord.model_validate(row) if row else None

"""An organisation's calls and bookings, as the operator API shows them.

A call belongs to the organisation it was made for (``calls.organisation_id``); a booking
to the organisation of the call that made it. Every query filters by the organisation, so
another organisation's calls and bookings are not found.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from app.operators.accounts import Organisation
from calendar_backend.booking_store import BookingRecord
from storage.booking_tables import BookingRow
from storage.call_tables import CallRow
from storage.database import Database
from telephony.call_records import CallRecord

MAX_PAGE = 500


class BookingView(BaseModel):
    """A booking as an operator sees it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    call_id: str
    campaign: str
    calendar_id: str
    start: datetime
    end: datetime
    status: str
    attendee_email: str
    attendee_name: str | None
    subject: str
    event_id: str | None
    online_meeting_url: str | None
    # The round-robin pool member it went to (``None`` off a pool).
    member: str | None = None

    @classmethod
    def of(cls, record: BookingRecord) -> BookingView:
        """The view of a stored booking record."""
        return cls(id=record.id, call_id=record.call_id, campaign=record.campaign,
                   calendar_id=record.calendar_id, start=record.slot.start,
                   end=record.slot.end, status=record.status,
                   attendee_email=record.attendee_email, attendee_name=record.attendee_name,
                   subject=record.subject, event_id=record.event_id,
                   online_meeting_url=record.online_meeting_url, member=record.member)


def list_calls(
    database: Database, organisation: Organisation, *, campaign: str | None = None,
    outcome: str | None = None, since: datetime | None = None, before: datetime | None = None,
    limit: int = 50,
) -> list[CallRecord]:
    """The organisation's calls, newest first: of ``campaign``, with ``outcome``, started
    at or after ``since`` and before ``before`` (the page cursor), at most ``limit``."""
    query = select(CallRow).where(CallRow.organisation_id == organisation.id)
    if campaign is not None:
        query = query.where(CallRow.campaign == campaign)
    if outcome is not None:
        query = query.where(CallRow.outcome == outcome)
    if since is not None:
        query = query.where(CallRow.started_at >= since)
    if before is not None:
        query = query.where(CallRow.started_at < before)
    query = query.order_by(CallRow.started_at.desc()).limit(max(1, min(limit, MAX_PAGE)))
    with database.session() as session:
        return [CallRecord.model_validate(row) for row in session.scalars(query)]


def get_call(database: Database, organisation: Organisation, call_id: str) -> CallRecord | None:
    """One of the organisation's calls."""
    with database.session() as session:
        row = session.scalars(select(CallRow).where(
            CallRow.id == call_id, CallRow.organisation_id == organisation.id)).first()
        return CallRecord.model_validate(row) if row is not None else None


def _bookings(organisation: Organisation):  # noqa: ANN202
    # Bookings (not the held ranges of a move) of the organisation's calls.
    return select(BookingRow).join(CallRow, CallRow.id == BookingRow.call_id).where(
        CallRow.organisation_id == organisation.id, BookingRow.hold_of.is_(None))


def list_bookings(
    database: Database, organisation: Organisation, *, status: str | None = None,
    limit: int = 50,
) -> list[BookingView]:
    """The organisation's bookings by start time (of one ``status`` if given)."""
    query = _bookings(organisation)
    if status is not None:
        query = query.where(BookingRow.status == status)
    query = query.order_by(BookingRow.start).limit(max(1, min(limit, MAX_PAGE)))
    with database.session() as session:
        return [BookingView.model_validate(row) for row in session.scalars(query)]


def get_booking(
    database: Database, organisation: Organisation, booking_id: str
) -> BookingView | None:
    """One of the organisation's bookings."""
    with database.session() as session:
        row = session.scalars(_bookings(organisation).where(BookingRow.id == booking_id)).first()
        return BookingView.model_validate(row) if row is not None else None

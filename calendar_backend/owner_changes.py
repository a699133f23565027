"""Bookings follow what the calendar's owner did to their events (any provider's sync).

* The event was deleted or cancelled: the booking becomes ``cancelled_by_owner`` and its
  range is released (the slot is offered again).
* The event was moved: the booking takes the new time, its buffers kept. The database's
  no-overlap rule still holds: when the new range overlaps another live booking, the moved
  booking becomes ``conflict`` (not live: it claims nothing here, while the calendar, which
  shows both events busy, keeps the time from being offered), and the operator is told.
  A conflict moved again to a free time is ``confirmed`` again.
* The booked attendee declined: recorded.

Every change leaves a note (:func:`notes`) for the operator.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from calendar_backend.interval import Interval
from storage.booking_tables import LIVE_STATUSES, BookingRow, BookingStatus
from storage.database import Database
from storage.outlook_sync_tables import BookingSyncNoteRow

log = logging.getLogger(__name__)

# Bookings an owner's change applies to: written to the calendar (pending ones are still
# being written by their call, whose own outcome settles them).
FOLLOWING = (BookingStatus.CONFIRMED, BookingStatus.CONFLICT)
_REFUSED = ("23P01", "23505")


@dataclass(frozen=True)
class SyncNote:
    """What an owner's change did to a booking (``kind``: cancelled_by_owner, moved,
    conflict, declined)."""

    booking_id: str
    calendar_id: str
    kind: str
    detail: str
    other_booking_id: str | None
    created_at: datetime


@dataclass
class SyncResult:
    """What one sync of a calendar did (any provider's: the shell's hooks take it)."""

    calendar_ref: str
    full: bool = False
    resynced_after_410: bool = False
    requests: int = 0
    events: int = 0  # events in the synced copy afterwards
    changed: int = 0  # events created or changed in this round
    removed: int = 0
    cancelled: list[str] = field(default_factory=list)  # booking ids
    moved: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    declined: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FollowedBooking:
    """A booking of the calendar whose event an owner's change may touch."""

    id: str
    event_id: str
    status: BookingStatus
    slot: Interval
    blocked: Interval
    attendee_email: str
    updated_at: datetime


def following(database: Database, calendar_id: str,
              event_ids: list[str] | None = None) -> list[FollowedBooking]:
    """The confirmed (or conflicting) bookings of ``calendar_id`` with an event (those of
    ``event_ids`` only, if given)."""
    query = select(BookingRow).where(
        BookingRow.calendar_id == calendar_id, BookingRow.hold_of.is_(None),
        BookingRow.status.in_(FOLLOWING), BookingRow.event_id.is_not(None))
    if event_ids is not None:
        if not event_ids:
            return []
        query = query.where(BookingRow.event_id.in_(event_ids))
    with database.session() as session:
        return [FollowedBooking(r.id, r.event_id or "", BookingStatus(r.status),
                                Interval(r.start, r.end),
                                Interval(r.blocked_start, r.blocked_end), r.attendee_email,
                                r.updated_at)
                for r in session.scalars(query)]


def _note(session: Session, calendar_id: str, booking_id: str, kind: str, detail: str,
          other: str | None = None) -> None:
    session.add(BookingSyncNoteRow(id=str(uuid.uuid4()), booking_id=booking_id,
                                   calendar_id=calendar_id, kind=kind, detail=detail,
                                   other_booking_id=other, created_at=datetime.now(UTC)))


def cancel_by_owner(database: Database, calendar_id: str, booking_id: str,
                    why: str) -> bool:
    """The owner deleted or cancelled the booking's event: ``cancelled_by_owner``, range
    released. False if the booking was no longer confirmed (or conflicting)."""
    with database.session() as session:
        changed = session.execute(update(BookingRow).where(
            BookingRow.id == booking_id, BookingRow.calendar_id == calendar_id,
            BookingRow.status.in_(FOLLOWING),
        ).values(status=BookingStatus.CANCELLED_BY_OWNER, updated_at=datetime.now(UTC)))
        if not changed.rowcount:
            return False
        _note(session, calendar_id, booking_id, "cancelled_by_owner", why)
    log.info("booking %s on %s cancelled by the owner (%s)", booking_id, calendar_id, why)
    return True


def move_by_owner(database: Database, booking: FollowedBooking, slot: Interval) -> str:
    """The owner moved the booking's event to ``slot``: the booking follows, keeping its
    buffers. Returns ``"moved"``, ``"conflict"`` (the new range overlaps another live
    booking: both stay, the operator is told) or ``"unchanged"``."""
    if slot == booking.slot and booking.status == BookingStatus.CONFIRMED:
        return "unchanged"
    blocked = Interval(slot.start - (booking.slot.start - booking.blocked.start),
                       slot.end + (booking.blocked.end - booking.slot.end))
    calendar_id = _calendar_of(database, booking.id)
    if calendar_id is None or _moving(database, booking.id):
        # A move of our own is under way (its old range held): the calendar may still show
        # the old time; the next sync sees where the move left the event.
        return "unchanged"
    try:
        with database.session(serial=True) as session:
            other = _overlapping(session, calendar_id, booking.id, blocked)
            if other is None:
                session.execute(update(BookingRow).where(BookingRow.id == booking.id).values(
                    start=slot.start, end=slot.end, blocked_start=blocked.start,
                    blocked_end=blocked.end, status=BookingStatus.CONFIRMED,
                    updated_at=datetime.now(UTC)))
                _note(session, calendar_id, booking.id, "moved",
                      f"moved by the owner from {booking.slot.start.isoformat()} to "
                      f"{slot.start.isoformat()}")
                return "moved"
    except DBAPIError as exc:
        # PostgreSQL's exclusion constraint saw a rival the check above could not (a claim
        # committed meanwhile).
        if getattr(exc.orig, "sqlstate", None) not in _REFUSED:
            raise
        other = "a booking claimed meanwhile"
    with database.session() as session:
        session.execute(update(BookingRow).where(BookingRow.id == booking.id).values(
            start=slot.start, end=slot.end, blocked_start=blocked.start,
            blocked_end=blocked.end, status=BookingStatus.CONFLICT,
            updated_at=datetime.now(UTC)))
        _note(session, calendar_id, booking.id, "conflict",
              f"moved by the owner to {slot.start.isoformat()}, over booking {other}; both "
              "events are on the calendar: move or cancel one of them",
              other if other and len(other) == 36 else None)
    log.warning("booking %s on %s moved by the owner onto booking %s: flagged as a "
                "conflict for the operator", booking.id, calendar_id, other)
    return "conflict"


def _calendar_of(database: Database, booking_id: str) -> str | None:
    with database.session() as session:
        return session.scalar(select(BookingRow.calendar_id).where(BookingRow.id == booking_id))


def _moving(database: Database, booking_id: str) -> bool:
    with database.session() as session:
        return session.scalar(select(BookingRow.id).where(
            BookingRow.hold_of == booking_id, BookingRow.status == BookingStatus.HELD,
        ).limit(1)) is not None


def _overlapping(session: Session, calendar_id: str, booking_id: str,
                 blocked: Interval) -> str | None:
    """Another live booking (or hold) of the calendar overlapping ``blocked``, if any."""
    return session.scalar(select(BookingRow.id).where(
        BookingRow.calendar_id == calendar_id, BookingRow.id != booking_id,
        BookingRow.status.in_(LIVE_STATUSES), BookingRow.blocked_start < blocked.end,
        BookingRow.blocked_end > blocked.start).limit(1))


def record_decline(database: Database, calendar_id: str, booking_id: str, email: str) -> None:
    """The booked attendee declined the invitation (the booking stays: the owner decides)."""
    with database.session() as session:
        _note(session, calendar_id, booking_id, "declined", f"{email} declined the invitation")
    log.info("attendee %s declined booking %s on %s", email, booking_id, calendar_id)


def notes(database: Database, calendar_id: str | None = None,
          booking_id: str | None = None) -> list[SyncNote]:
    """The operator's record of owners' changes, oldest first."""
    query = select(BookingSyncNoteRow).order_by(BookingSyncNoteRow.created_at)
    if calendar_id is not None:
        query = query.where(BookingSyncNoteRow.calendar_id == calendar_id)
    if booking_id is not None:
        query = query.where(BookingSyncNoteRow.booking_id == booking_id)
    with database.session() as session:
        return [SyncNote(r.booking_id, r.calendar_id, r.kind, r.detail, r.other_booking_id,
                         r.created_at) for r in session.scalars(query)]

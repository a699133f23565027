"""A booking store in process memory, for dialogue tests and runs where no database is the point.

It keeps the database's rules: live bookings on the calendar never overlap, a call has at
most one live booking, and a move holds the old range until it is finished or undone. Each
method completes without awaiting, so on one event loop every claim is atomic and the
first one wins. Nothing outlives the process, so no claim is ever abandoned.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from calendar_backend.booking_store import BookingRecord, Claim, Question, Standing
from calendar_backend.interval import Interval, subtract
from storage.booking_tables import BookingStatus


@dataclass(frozen=True)
class _Row:
    """A booking, or (with ``hold_of``) a range held for a booking being moved."""

    record: BookingRecord
    hold_of: str | None = None


class MemoryBookingStore:
    """The bookings of one calendar in memory (a :class:`BookingStore`)."""

    def __init__(self, calendar_id: str = "memory") -> None:
        self.calendar_id = calendar_id
        self._rows: list[_Row] = []  # in the order they were made

    # -- the booking path -------------------------------------------------------------------

    async def ask(self, question: Question) -> Standing:
        """Read where the asking call stands."""
        own = [r.record for r in self._rows
               if r.record.call_id == question.call_id and r.hold_of is None]
        booked = [r.record.blocked for r in self._rows
                  if r.record.live and r.record.blocked.overlaps(question.span)]
        return Standing.of(question, own, booked)

    async def claim(self, claim: Claim) -> Standing | None:
        """Hold ``claim.blocked`` as ``pending`` if no live booking overlaps it (``None``);
        else where the call stands."""
        if self._rival(claim.id, claim.call_id, claim.blocked):
            return await self.ask(claim.question)
        if claim.revive:
            found = self._find(claim.id)
            if found is None or found.status != BookingStatus.FAILED:
                return await self.ask(claim.question)
            self._put(replace(found, status=BookingStatus.PENDING))
            return None
        self._rows.append(_Row(BookingRecord(
            id=claim.id, call_id=claim.call_id, calendar_id=self.calendar_id,
            campaign=claim.campaign, slot=claim.slot, blocked=claim.blocked,
            status=BookingStatus.PENDING, attendee_email=claim.attendee_email,
            attendee_name=claim.attendee_name, subject=claim.subject, event_id=None,
            online_meeting_url=None, member=claim.member,
        )))
        return None

    async def confirm(self, booking_id: str, event_id: str, url: str | None) -> bool:
        """The calendar has the event: the booking is confirmed (always: nothing here is
        ever reconciled)."""
        self._update(booking_id, status=BookingStatus.CONFIRMED, event_id=event_id,
                     online_meeting_url=url)
        return True

    async def fail(self, booking_id: str, reason: str) -> None:
        """The calendar write failed: the booking is failed and its slot released."""
        self._update(booking_id, status=BookingStatus.FAILED)

    async def cancel(self, booking_id: str) -> None:
        """The event is cancelled: so is the booking, and its slot is released."""
        self._update(booking_id, status=BookingStatus.CANCELLED)

    async def booking(self, booking_id: str) -> BookingRecord | None:
        """A booking of this calendar by id, or ``None``."""
        return self._find(booking_id)

    async def claim_move(self, booking: BookingRecord, slot: Interval, blocked: Interval) -> bool:
        """Move the booking to ``slot``, holding the rest of its old range; False if taken."""
        if self._rival(booking.id, booking.call_id, blocked):
            return False
        self._update(booking.id, slot=slot, blocked=blocked)
        for piece in subtract(booking.blocked, blocked):
            held = replace(booking, id=str(uuid.uuid4()), slot=piece, blocked=piece,
                           status=BookingStatus.HELD, event_id=None, online_meeting_url=None)
            self._rows.append(_Row(held, hold_of=booking.id))
        return True

    async def finish_move(self, booking_id: str, event_id: str, url: str | None) -> None:
        """The calendar moved the event: release the old time."""
        self._drop_holds(booking_id)
        self._update(booking_id, event_id=event_id, online_meeting_url=url)

    async def undo_move(self, booking: BookingRecord) -> None:
        """The calendar refused the move: back to the old time, which the holds kept."""
        self._drop_holds(booking.id)
        self._update(booking.id, slot=booking.slot, blocked=booking.blocked)

    async def live_ranges(
        self, span: Interval, excluding: str | None = None
    ) -> tuple[Interval | None, list[Interval]]:
        """The excluded booking's own slot, and the blocked ranges of the other live
        bookings (not its holds) overlapping ``span``."""
        mine = self._find(excluding) if excluding is not None else None
        ranges = [
            r.record.blocked for r in self._rows
            if r.record.live and r.record.blocked.overlaps(span)
            and (excluding is None or excluding not in (r.record.id, r.hold_of))
        ]
        return (mine.slot if mine is not None else None), ranges

    def records(self, call_id: str | None = None) -> list[BookingRecord]:
        """Bookings on this calendar (of one call, if given), by start time."""
        found = [r.record for r in self._rows if r.hold_of is None
                 and (call_id is None or r.record.call_id == call_id)]
        return sorted(found, key=lambda record: record.slot.start)  # stable: then by age

    # -- the rows -----------------------------------------------------------------------------

    def _rival(self, own_id: str, call_id: str, blocked: Interval) -> bool:
        """Does another live booking (not one of ``own_id``'s holds) overlap ``blocked``, or
        does the call have another live booking?"""
        return any(
            r.record.live and r.record.id != own_id and r.hold_of != own_id
            and (r.record.blocked.overlaps(blocked)
                 or (r.record.call_id == call_id and r.hold_of is None))
            for r in self._rows
        )

    def _find(self, booking_id: str) -> BookingRecord | None:
        return next((r.record for r in self._rows
                     if r.record.id == booking_id and r.hold_of is None), None)

    def _put(self, record: BookingRecord) -> None:
        self._rows = [_Row(record) if r.record.id == record.id and r.hold_of is None else r
                      for r in self._rows]

    def _update(self, booking_id: str, **changes: object) -> None:
        found = self._find(booking_id)
        if found is not None:
            self._put(replace(found, **changes))

    def _drop_holds(self, booking_id: str) -> None:
        self._rows = [r for r in self._rows if r.hold_of != booking_id]

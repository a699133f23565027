"""What booking needs from wherever bookings are kept: the store protocol and its values.

The booking path asks the store a :class:`Question` (:meth:`BookingStore.ask`, a read),
then makes a :class:`Claim` (:meth:`BookingStore.claim`, one write that the store
arbitrates: first claim wins), then confirms or fails it. Two stores implement it: the
project's database (:mod:`calendar_backend.sql_store`) and process memory
(:mod:`calendar_backend.memory_store`); :mod:`calendar_backend.batching` is an optional
layer around the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from calendar_backend.interval import Interval
from storage.booking_tables import LIVE_STATUSES, BookingStatus

__all__ = [
    "WRITE_TIMEOUT", "BookingRecord", "BookingStatus", "BookingStore", "Claim", "Question",
    "Standing", "idempotency_key",
]

# The longest a booking's calendar write may take, counted from its claim: the booking
# fails when it runs out. A claim still pending after that belongs to a process that died
# mid-booking: it no longer blocks offers, and reconciliation asks the calendar whether
# the event exists (confirmed) or not (released).
WRITE_TIMEOUT = timedelta(seconds=60)


@dataclass(frozen=True)
class BookingRecord:
    """A booking as stored (read model for the dialogue, the harness and the CLI).

    ``blocked`` is the slot widened by the campaign's buffers: the range it keeps from
    other bookings while live.
    """

    id: str
    call_id: str
    calendar_id: str
    campaign: str
    slot: Interval
    blocked: Interval
    status: BookingStatus
    attendee_email: str
    attendee_name: str | None
    subject: str
    event_id: str | None
    online_meeting_url: str | None
    # The pool member it was assigned to (``None`` off a pool).
    member: str | None = None

    @property
    def live(self) -> bool:
        """Whether its blocked range is taken (pending, confirmed or held)."""
        return self.status in LIVE_STATUSES


@dataclass(frozen=True)
class Question:
    """One call asking the store about one slot: ``start`` booked for ``email``, with the
    live ranges in ``span`` (the look-ahead, to offer alternatives from)."""

    call_id: str
    start: datetime
    email: str
    span: Interval


@dataclass(frozen=True)
class Claim:
    """A booking to hold as ``pending`` on the store's calendar.

    ``span``: the range whose live bookings a losing claim is told about (the look-ahead,
    to offer alternatives from). ``revive``: ``id`` is the call's failed booking of this
    slot, brought back instead of a new one so the calendar write keeps its key.
    """

    id: str
    call_id: str
    campaign: str
    attendee_email: str
    attendee_name: str | None
    subject: str
    slot: Interval
    blocked: Interval
    span: Interval
    revive: bool = False
    member: str | None = None

    @property
    def question(self) -> Question:
        """Where the claiming call stands: what a lost claim is answered with."""
        return Question(self.call_id, self.slot.start, self.attendee_email, self.span)


@dataclass(frozen=True)
class Standing:
    """The store's answer to a :class:`Question` (a read: nothing is held).

    ``existing`` is the call's live booking on the calendar; ``failed_id`` its latest
    failed booking of the same start for the same attendee, whose id a retry reuses so
    the calendar write keeps its key; ``booked`` the blocked ranges of the live bookings
    in the asked-about span.
    """

    existing: BookingRecord | None
    failed_id: str | None
    booked: list[Interval]

    @classmethod
    def of(
        cls, question: Question, own: Sequence[BookingRecord], booked: list[Interval]
    ) -> Standing:
        """The answer from the call's own bookings (oldest first) and the live ranges."""
        existing = next((b for b in own if b.live), None)
        failed = [b.id for b in own if b.status == BookingStatus.FAILED
                  and b.slot.start == question.start and b.attendee_email == question.email]
        return cls(existing, failed[-1] if failed else None, booked)


def idempotency_key(booking_id: str) -> str:
    """The calendar write key of a booking: stable for as long as the booking id is."""
    return f"booking-{booking_id}"


class BookingStore(Protocol):
    """The bookings of one calendar, and the judge between calls racing for a slot.

    The asynchronous methods make up the booking path. :meth:`records` is synchronous
    because the CLI and the harness list bookings outside an event loop.
    """

    @property
    def calendar_id(self) -> str:
        """The calendar whose bookings these are."""
        ...

    async def ask(self, question: Question) -> Standing:
        """Read where the asking call stands (nothing is written)."""
        ...

    async def claim(self, claim: Claim) -> Standing | None:
        """Hold ``claim.blocked`` as ``pending`` (``None``), unless a live booking overlaps
        it or the call already has a live booking: then the answer to ``claim.question``,
        read with the refusal, so the loser offers what is still free without asking again."""
        ...

    async def confirm(self, booking_id: str, event_id: str, url: str | None) -> bool:
        """The calendar has the event: the booking is confirmed. False if it is no longer
        pending (reconciliation released it meanwhile)."""
        ...

    async def fail(self, booking_id: str, reason: str) -> None:
        """The calendar write failed: the pending booking is failed and its slot released."""
        ...

    async def cancel(self, booking_id: str) -> None:
        """The event is cancelled: so is the booking, and its slot is released."""
        ...

    async def booking(self, booking_id: str) -> BookingRecord | None:
        """A booking of this calendar by id, or ``None``."""
        ...

    async def claim_move(self, booking: BookingRecord, slot: Interval, blocked: Interval) -> bool:
        """Move the booking's claim to ``slot``/``blocked`` while still holding its old range
        (until :meth:`finish_move` or :meth:`undo_move`); False if the new range is taken."""
        ...

    async def finish_move(self, booking_id: str, event_id: str, url: str | None) -> None:
        """The calendar moved the event: release the old range."""
        ...

    async def undo_move(self, booking: BookingRecord) -> None:
        """The calendar refused the move: ``booking`` (as it was) goes back to its old time."""
        ...

    async def live_ranges(
        self, span: Interval, excluding: str | None = None
    ) -> tuple[Interval | None, list[Interval]]:
        """The slot of booking ``excluding`` (if given and found), and the blocked ranges of
        the other live bookings overlapping ``span``."""
        ...

    def records(self, call_id: str | None = None) -> list[BookingRecord]:
        """Bookings on this calendar (of one call, if given), by start time."""
        ...

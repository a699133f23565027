"""Round-robin booking on a pool of members, each on its own calendar (or on none).

A campaign whose ``booking.pool`` names members books through :class:`PoolBookingService`,
which answers the booking tools exactly as :class:`~calendar_backend.booking.BookingService`
does and is made of one ``BookingService`` per member: each member's calendar keeps its own
claims (first confirm wins per member calendar, the database decides, as for one calendar).

- A slot is offered when at least one member is free at it (the member's busy time from its
  calendar, plus the live bookings on that calendar). A member with no calendar is free
  whenever the campaign's weekly hours say; a member whose calendar cannot be opened or read
  is left out of the call, with the reason logged; with none left, booking is off.
- At confirmation the free members are ordered by :func:`assignment_order` (least recently
  booked in the campaign first, read from the bookings table; ties by pool order) and tried in
  turn: each try re-checks that member's calendar and claims the slot on it, so a member who
  became busy, or whose calendar another caller just claimed, passes the slot to the next.
- The event lands on the chosen member's calendar, and the booking records the member.

A booking stays with its member: moving it offers and claims on that member's calendar only
(the event is there), and cancelling cancels it there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from weakref import WeakKeyDictionary

from calendar_backend.batching import Batches
from calendar_backend.booking import (
    ALTERNATIVES,
    BookingFailed,
    BookingRecord,
    BookingResult,
    BookingService,
    Cancelled,
    NotAllowed,
    SlotTaken,
    already_booked,
)
from calendar_backend.booking_settings import BookingSettings, Recipient
from calendar_backend.interval import Interval
from calendar_backend.provider import (
    Attendee,
    BusyTime,
    CalendarProvider,
    CalendarUnavailable,
    CreatedEvent,
    NewEvent,
)
from calendar_backend.slots import SlotRules, is_offerable
from calendar_backend.sql_store import PoolQuestion, PoolStanding, pool_standings
from storage.database import Database

__all__ = [
    "NO_CALENDAR_PREFIX", "AnyBookingService", "MemberService", "NoCalendar", "PoolBookingService",
    "PoolMemberCalendar", "assignment_order", "is_no_calendar", "no_calendar_id",
]

log = logging.getLogger(__name__)

# Claims of a member with no calendar are kept under an id of this form (they still need a
# calendar id of their own: first confirm wins per member).
NO_CALENDAR_PREFIX = "pool:"
_TICK = timedelta(microseconds=1)
# Far enough to hold any look-ahead: "after this start" is bounded by the rules themselves.
_FAR = timedelta(days=366)
_OUTSIDE_RULES = "that time is not one the campaign offers (window, notice or range)"
_NO_SUCH_BOOKING = "there is no such booking on this calendar"


def no_calendar_id(campaign: str, member: str, organisation_id: str | None = None) -> str:
    """The calendar id under which a calendar-less member's bookings are claimed."""
    scope = f"{organisation_id}:" if organisation_id is not None else ""
    return f"{NO_CALENDAR_PREFIX}{scope}{campaign}/{member}"


def is_no_calendar(calendar_id: str) -> bool:
    """Whether ``calendar_id`` is a calendar-less pool member's (see :func:`no_calendar_id`)."""
    return calendar_id.startswith(NO_CALENDAR_PREFIX)


@dataclass(frozen=True)
class PoolMemberCalendar:
    """One pool member as a call opens it.

    ``reference`` is the member's calendar reference (``None``: no calendar) and
    ``calendar_id`` the id its claims are kept under. ``provider`` is its opened calendar;
    ``None`` with a reference means it could not be opened, and ``reason`` says why.
    """

    name: str
    reference: str | None
    calendar_id: str
    provider: CalendarProvider | None
    reason: str | None = None

    @property
    def usable(self) -> bool:
        """Whether the member can take bookings on this call."""
        return self.reference is None or self.provider is not None


class NoCalendar:
    """The calendar of a member who has none: never busy (the campaign's weekly hours are
    the member's availability), and every write succeeds without going anywhere.

    Its "event id" is derived from the booking's key, so a retried write gives the same one.
    """

    async def busy_times(self, start: datetime, end: datetime) -> list[BusyTime]:
        """Nothing is ever busy."""
        return []

    async def create_event(self, event: NewEvent) -> CreatedEvent:
        """No event to write: the booking itself is the record."""
        return CreatedEvent(event_id=f"no-calendar:{event.idempotency_key}")

    async def find_event(
        self, idempotency_key: str, start: datetime, end: datetime
    ) -> CreatedEvent | None:
        """``None``: a claim whose process died before confirming was never heard as booked
        by its caller, so reconciliation releases it."""
        return None

    async def move_event(self, event_id: str, start: datetime, end: datetime) -> CreatedEvent:
        """Nothing to move elsewhere: the booking's new time is the record."""
        return CreatedEvent(event_id=event_id)

    async def cancel_event(self, event_id: str, message: str) -> None:
        """Nothing to cancel elsewhere."""

    async def time_zone(self) -> str | None:
        """No zone of its own: the campaign's weekly hours state theirs."""
        return None

    async def can_add_online_meeting(self) -> bool:
        """No calendar, so no online-meeting link."""
        return False


def assignment_order(
    members: Sequence[str], free: Collection[str], last_booked: Mapping[str, datetime]
) -> list[str]:
    """The members to try for a slot, in turn: only those in ``free``, the least recently
    booked first (never booked before anyone booked), ties in pool order (``members``)."""
    position = {name: index for index, name in enumerate(members)}
    candidates = [name for name in members if name in free]
    return sorted(candidates, key=lambda name: (
        name in last_booked, last_booked.get(name, datetime.min.replace(tzinfo=UTC)),
        position[name],
    ))


@dataclass(frozen=True)
class MemberService:
    """One member of a pool on a call: its name, the calendar id its claims are kept
    under, and the booking service on its calendar (recording ``name`` on its bookings)."""

    name: str
    calendar_id: str
    service: BookingService


class PoolBookingService:
    """Booking round-robin on a pool of members for one campaign; one instance per call,
    answering the booking tools as :class:`~calendar_backend.booking.BookingService` does.

    Calls open it with :meth:`on_database`; ``members`` may also be given directly (the
    race benchmark shares stores and calendars between its callers that way).
    """

    def __init__(
        self, database: Database, members: Sequence[MemberService], booking: BookingSettings, *,
        campaign_name: str,
    ) -> None:
        self._database = database
        self._members = list(members)
        self._calendars = {m.name: m.calendar_id for m in self._members}
        self._rules = SlotRules.from_settings(booking, None)
        self._campaign = campaign_name

    @classmethod
    def on_database(
        cls, database: Database, members: Sequence[PoolMemberCalendar],
        booking: BookingSettings, *, campaign_name: str,
    ) -> PoolBookingService:
        """The pool of ``members`` whose calendars can be used, keeping their bookings in
        ``database``; raises :class:`CalendarUnavailable` (with every reason) if none can."""
        usable: list[MemberService] = []
        reasons: list[str] = []
        for member in members:
            if not member.usable:
                reason = member.reason or "its calendar cannot be opened"
                log.warning("pool member %r left out of the call: %s", member.name, reason)
                reasons.append(f"{member.name}: {reason}")
                continue
            provider: CalendarProvider = member.provider or NoCalendar()
            service = BookingService.on_database(
                database, provider, booking, calendar_id=member.calendar_id,
                campaign_name=campaign_name, member=member.name)
            usable.append(MemberService(member.name, member.calendar_id, service))
        if not usable:
            raise CalendarUnavailable(_nobody(reasons))
        return cls(database, usable, booking, campaign_name=campaign_name)

    @property
    def members(self) -> list[str]:
        """The names of the members taking bookings on this call, in pool order."""
        return [m.name for m in self._members]

    # -- availability ----------------------------------------------------------------

    async def load_availability(self, now: datetime) -> None:
        """Read each member's busy time once; a member whose calendar fails is left out
        (logged); :class:`CalendarUnavailable` if every one failed."""
        outcomes = await asyncio.gather(
            *(m.service.load_availability(now) for m in self._members), return_exceptions=True
        )
        kept, reasons = [], []
        for member, outcome in zip(self._members, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                if not isinstance(outcome, Exception):
                    raise outcome
                reason = getattr(outcome, "reason", None) or type(outcome).__name__
                log.warning("pool member %r left out of the call: %s", member.name, reason)
                reasons.append(f"{member.name}: {reason}")
            else:
                kept.append(member)
        if not kept:
            raise CalendarUnavailable(_nobody(reasons))
        self._members = kept

    async def free_slots(
        self, now: datetime, *, limit: int | None = None, within: Interval | None = None,
        excluding_booking: str | None = None,
    ) -> list[Interval]:
        """Slots at which at least one member is free (see ``BookingService.free_slots``).

        Offering a move (``excluding_booking``): the slots of the booking's own member.
        """
        if excluding_booking is not None:
            owner = await self._owner(excluding_booking)
            if owner is not None:
                return await owner.service.free_slots(
                    now, limit=limit, within=within, excluding_booking=excluding_booking)
        # Each member's first ``limit`` hold the union's first ``limit``.
        found = await asyncio.gather(*(
            m.service.free_slots(now, limit=limit, within=within) for m in self._members))
        merged = sorted({slot for slots in found for slot in slots},
                        key=lambda slot: (slot.start, slot.end))
        return merged if limit is None else merged[:limit]

    async def _alternatives(
        self, start: datetime, now: datetime, heard: Mapping[str, list[Interval]]
    ) -> list[Interval]:
        """Up to three slots after ``start`` at which some member is free, else the earliest
        ones: ``heard`` holds what the members tried answered (read with their refusals),
        the others are asked now."""
        asked = [m for m in self._members if m.name not in heard]
        found = await asyncio.gather(*(
            m.service.free_slots(now, limit=ALTERNATIVES,
                                 within=Interval(start + _TICK, start + _FAR))
            for m in asked))
        union = sorted({slot for slots in [*heard.values(), *found] for slot in slots},
                       key=lambda slot: (slot.start, slot.end))
        after = [slot for slot in union if slot.start > start]
        if after:
            return after[:ALTERNATIVES]
        return (await self.free_slots(now, limit=ALTERNATIVES))

    # -- booking ----------------------------------------------------------------------

    async def book(
        self, *, start: datetime, attendee: Attendee, recipient: Recipient, call_id: str,
        now: datetime,
    ) -> BookingResult:
        """Book ``start`` for this call with the least recently booked member free at it.

        Members are tried in :func:`assignment_order`; each try re-checks the member's
        calendar and claims the slot on it, and a member found busy or claimed by another
        caller passes the slot on to the next. When none is left: :class:`SlotTaken`.
        """
        start = start.astimezone(UTC)
        if not is_offerable(self._rules, start, (), now):
            return NotAllowed(_OUTSIDE_RULES)
        slot = self._rules.slot(start)
        reads = _shared_reads(self._database, self._campaign, self._calendars)
        standing = await reads.submit(PoolQuestion(call_id, self._rules.blocked(start)))
        if standing.existing is not None:
            return already_booked(standing.existing, slot)
        # Free: the member's calendar (as read for this call) allows it and no live booking
        # on it is in the way; the try itself re-checks the calendar and claims.
        allows = await asyncio.gather(
            *(m.service.calendar_allows(start, now) for m in self._members))
        free = {m.name for m, ok in zip(self._members, allows, strict=True)
                if ok and m.calendar_id not in standing.taken}
        by_name = {m.name: m for m in self._members}
        heard: dict[str, list[Interval]] = {}
        for name in assignment_order(self.members, free, standing.last_booked):
            result = await by_name[name].service.book(
                start=start, attendee=attendee, recipient=recipient, call_id=call_id, now=now)
            if isinstance(result, SlotTaken):
                heard[name] = result.alternatives
                log.info("pool member %r is no longer free at %s; trying the next", name,
                         start.isoformat())
                continue
            if isinstance(result, BookingFailed) and result.before_claim:
                # Nothing was claimed or written: the slot can still go to another member.
                log.warning("pool member %r could not be re-checked (%s); trying the next",
                            name, result.reason)
                continue
            return result
        return SlotTaken(slot, await self._alternatives(start, now, heard))

    async def move(
        self, booking_id: str, *, start: datetime, call_id: str, now: datetime
    ) -> BookingResult:
        """Move this call's booking to ``start`` on its member's calendar."""
        owner = await self._owner(booking_id)
        if owner is None:
            return NotAllowed(_NO_SUCH_BOOKING)
        return await owner.service.move(booking_id, start=start, call_id=call_id, now=now)

    async def cancel(
        self, booking_id: str, *, call_id: str, message: str
    ) -> Cancelled | NotAllowed | BookingFailed:
        """Cancel this call's booking on its member's calendar."""
        owner = await self._owner(booking_id)
        if owner is None:
            return NotAllowed(_NO_SUCH_BOOKING)
        return await owner.service.cancel(booking_id, call_id=call_id, message=message)

    async def _owner(self, booking_id: str) -> MemberService | None:
        found = await asyncio.gather(*(m.service.booking(booking_id) for m in self._members))
        return next((m for m, record in zip(self._members, found, strict=True)
                     if record is not None), None)

    async def can_add_online_meeting(self) -> bool:
        """Whether every member's events can carry an online-meeting link (the caller is
        told before knowing which member the meeting goes to)."""
        answers = await asyncio.gather(
            *(m.service.can_add_online_meeting() for m in self._members))
        return all(answers)

    # -- reading ------------------------------------------------------------------------

    def bookings_for_call(self, call_id: str) -> list[BookingRecord]:
        """This call's bookings on the members' calendars, by start time (any status)."""
        return _by_start(r for m in self._members for r in m.service.bookings_for_call(call_id))

    def bookings(self) -> list[BookingRecord]:
        """Every booking on the members' calendars, by start time (any status)."""
        return _by_start(r for m in self._members for r in m.service.bookings())


_PoolKey = tuple[Database, str, frozenset[tuple[str, str]]]
_READS: WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[_PoolKey, Batches[PoolQuestion, PoolStanding]]
] = WeakKeyDictionary()


def _shared_reads(
    database: Database, campaign: str, members: dict[str, str]
) -> Batches[PoolQuestion, PoolStanding]:
    """The running loop's reader of where calls stand on this pool, shared by every call
    on it, so that callers confirming together are answered by one read."""
    reads = _READS.setdefault(asyncio.get_running_loop(), {})
    key = (database, campaign, frozenset(members.items()))
    found = reads.get(key)
    if found is None:
        async def read(questions: list[PoolQuestion]) -> list[PoolStanding]:
            return await database.run(pool_standings, database, campaign, members, questions)
        found = reads[key] = Batches(read)
    return found


def _by_start(records: Iterable[BookingRecord]) -> list[BookingRecord]:
    return sorted(records, key=lambda r: r.slot.start)


def _nobody(reasons: Sequence[str]) -> str:
    return "no member of the booking pool can take bookings (" + "; ".join(reasons) + ")"


# What a call books through: one calendar, or a pool of them.
AnyBookingService = BookingService | PoolBookingService

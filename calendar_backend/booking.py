"""Booking a slot on a calendar during a call: first confirm wins, nothing double-booked.

``book()`` reads top to bottom, one call per step: check the start against the
campaign's rules, ask the store where this call stands, re-check just that slot on the
calendar (an event the owner added after the call began must block), claim it in the
store as ``pending`` (the store decides between racing callers, see
:mod:`calendar_backend.sql_store`), write the event, then confirm the booking — or fail
it, which releases the slot. Losers hear :class:`SlotTaken` with the next free slots.

The store is given to :class:`BookingService`: the database in production
(:meth:`BookingService.on_database`), memory where no database is the point
(:class:`~calendar_backend.memory_store.MemoryBookingStore`).

Calendar writes are idempotent: the event's key is derived from the booking id, and a
call retrying its failed booking of the same slot reuses that booking's id, so an event
the calendar created without our hearing back is found again instead of duplicated.

A write must finish within :data:`~calendar_backend.booking_store.WRITE_TIMEOUT` of its
claim, or the booking fails: a claim older than that is treated as abandoned by a dead
process, and :mod:`calendar_backend.reconcile` settles it by the event's key.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from calendar_backend.batching import shared_store
from calendar_backend.booking_settings import BookingSettings, Recipient
from calendar_backend.booking_store import (
    WRITE_TIMEOUT,
    BookingRecord,
    BookingStatus,
    BookingStore,
    Claim,
    Question,
    idempotency_key,
)
from calendar_backend.interval import Interval, without
from calendar_backend.provider import (
    Attendee,
    CalendarProvider,
    CalendarUnavailable,
    CreatedEvent,
    EventNotFound,
    NewEvent,
)
from calendar_backend.slots import SlotRules, free_slots, is_offerable
from storage.database import Database

__all__ = [
    "ALTERNATIVES", "WITHDRAW_MESSAGE", "Booked", "BookingFailed", "BookingRecord", "BookingResult",
    "BookingService", "BookingStatus", "BookingStore", "Cancelled", "NotAllowed", "SlotTaken",
    "idempotency_key",
]

log = logging.getLogger(__name__)

ALTERNATIVES = 3
_TICK = timedelta(microseconds=1)
_OUTSIDE_RULES = "that time is not one the campaign offers (window, notice or range)"
# Sent to the attendee with the cancellation of an event whose booking was not confirmed.
WITHDRAW_MESSAGE = "This meeting could not be confirmed and has been withdrawn."
_TOO_SLOW = "the calendar did not answer in time"


@dataclass(frozen=True)
class Booked:
    """The meeting is on the calendar (``moved_from`` is set when it was moved)."""

    booking_id: str
    slot: Interval
    event_id: str
    online_meeting_url: str | None
    moved_from: Interval | None = None
    # The pool member whose calendar has the meeting (``None`` off a pool).
    member: str | None = None


@dataclass(frozen=True)
class SlotTaken:
    """Someone else holds the slot; ``alternatives`` are the next free slots to offer."""

    slot: Interval
    alternatives: list[Interval]


@dataclass(frozen=True)
class BookingFailed:
    """The calendar did not answer or refused; nothing is booked and the slot is released.

    ``before_claim``: it failed at the re-check, before anything was claimed or written
    (a pool may then try another member).
    """

    reason: str
    # Not part of what happened to the caller's request, so not compared.
    before_claim: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class NotAllowed:
    """The request breaks a rule (not this call's booking, slot outside the rules, ...)."""

    reason: str


@dataclass(frozen=True)
class Cancelled:
    """The booking is cancelled and its slot released."""

    booking_id: str


BookingResult = Booked | SlotTaken | BookingFailed | NotAllowed


def _failure_reason(exc: Exception) -> str:
    # Only our own port's reason is known to be safe to repeat; other errors may carry
    # request details, so just their type is kept.
    if isinstance(exc, CalendarUnavailable):
        return exc.reason
    if isinstance(exc, EventNotFound):
        return "the event is no longer on the calendar"
    if isinstance(exc, TimeoutError):
        return _TOO_SLOW
    return f"the calendar failed ({type(exc).__name__})"


def already_booked(existing: BookingRecord, slot: Interval) -> Booked | NotAllowed:
    """A call asking again for its own booking gets it; for another time it must move."""
    if existing.slot == slot and existing.status == BookingStatus.CONFIRMED and existing.event_id:
        return Booked(existing.id, slot, existing.event_id, existing.online_meeting_url,
                      member=existing.member)
    if existing.status == BookingStatus.PENDING:
        return NotAllowed("this call's booking is still being written to the calendar")
    return NotAllowed(
        f"this call already has a meeting at {existing.slot.start.isoformat()};"
        " move that one instead of booking a second"
    )


class BookingService:
    """Booking on one calendar for one campaign, in ``store``; one instance per call (it
    caches the calendar's busy time)."""

    def __init__(
        self, store: BookingStore, provider: CalendarProvider, booking: BookingSettings, *,
        campaign_name: str, calendar_zone: str | None = None, member: str | None = None,
    ) -> None:
        self._store = store
        self._member = member
        self._provider = provider
        self._settings = booking
        self._rules = SlotRules.from_settings(booking, calendar_zone)
        self._campaign = campaign_name
        self._busy: list[Interval] | None = None

    @classmethod
    def on_database(
        cls, database: Database, provider: CalendarProvider, booking: BookingSettings, *,
        calendar_id: str, campaign_name: str, calendar_zone: str | None = None,
        member: str | None = None,
    ) -> BookingService:
        """A service keeping ``calendar_id``'s bookings in ``database``, as calls do: in the
        store every call on that calendar shares, batching the claims that race.
        ``member``: the pool member whose calendar this is (recorded on its bookings)."""
        return cls(shared_store(database, calendar_id), provider, booking,
                   campaign_name=campaign_name, calendar_zone=calendar_zone, member=member)

    # -- availability ----------------------------------------------------------------

    def _horizon(self, now: datetime) -> Interval:
        """Everything any offerable slot's blocked range can touch, seen from ``now``."""
        rules = self._rules
        return Interval(
            now + rules.minimum_notice - rules.buffer_before,
            now + rules.look_ahead + rules.length + rules.buffer_after,
        )

    async def load_availability(self, now: datetime) -> None:
        """Read the calendar's busy time once for the whole look-ahead and keep it."""
        horizon = self._horizon(now)
        busy = await self._provider.busy_times(horizon.start, horizon.end)
        self._busy = [b.interval() for b in busy]

    async def _calendar_busy(self, now: datetime) -> list[Interval]:
        if self._busy is None:
            await self.load_availability(now)
        assert self._busy is not None
        return self._busy

    async def free_slots(
        self, now: datetime, *, limit: int | None = None, within: Interval | None = None,
        excluding_booking: str | None = None,
    ) -> list[Interval]:
        """Slots to offer: the cached calendar busy time plus live bookings read fresh.

        ``within`` keeps only starts inside that range ("Wednesday afternoon");
        ``excluding_booking`` ignores that booking's own time (offering a move).
        """
        calendar_busy = await self._calendar_busy(now)
        own, booked = await self._store.live_ranges(self._horizon(now), excluding_booking)
        busy = without(calendar_busy, own) + booked
        if within is None:
            return free_slots(self._rules, busy, now, limit=limit)
        return self._slots_from(busy, now, within.start, limit=limit, before=within.end)

    def _slots_from(
        self, busy: Sequence[Interval], now: datetime, earliest: datetime, *,
        limit: int | None, before: datetime | None = None,
    ) -> list[Interval]:
        """Free slots starting at or after ``earliest`` (and before ``before``)."""
        # The engine starts at now + minimum_notice: start it later by moving "now", then
        # drop what the moved look-ahead let through. Both cuts remove only a tail of the
        # sorted answer, so taking ``limit`` first is still right.
        rules = self._rules
        shifted = max(now, earliest.astimezone(UTC) - rules.minimum_notice)
        until = now + rules.look_ahead
        if before is not None:
            until = min(until, before)
        found = free_slots(rules, busy, shifted, limit=limit)
        return [slot for slot in found if slot.start < until]

    async def _alternatives(
        self, start: datetime, now: datetime, fresh_busy: Iterable[Interval],
        booked: Iterable[Interval],
    ) -> list[Interval]:
        """Up to three free slots after ``start``, else the earliest ones overall."""
        busy = [*await self._calendar_busy(now), *fresh_busy, *booked]
        after = self._slots_from(busy, now, start + _TICK, limit=ALTERNATIVES)
        return after or free_slots(self._rules, busy, now, limit=ALTERNATIVES)

    async def calendar_allows(self, start: datetime, now: datetime) -> bool:
        """Whether ``start`` is offerable as far as the calendar's busy time read for this
        call goes (bookings in the store not counted: the claim decides those)."""
        return is_offerable(self._rules, start, await self._calendar_busy(now), now)

    async def _recheck(self, blocked: Interval) -> list[Interval] | BookingFailed:
        """What the calendar itself has inside ``blocked``, read after this request (or why
        it could not be read)."""
        try:
            busy = await self._provider.busy_times(blocked.start, blocked.end)
        except Exception as exc:
            log.warning("calendar re-check failed: %s", _failure_reason(exc))
            return BookingFailed(_failure_reason(exc), before_claim=True)
        return [b.interval() for b in busy]

    # -- booking ----------------------------------------------------------------------

    async def book(
        self, *, start: datetime, attendee: Attendee, recipient: Recipient, call_id: str,
        now: datetime,
    ) -> BookingResult:
        """Book ``start`` for this call, if it is offerable and nobody confirmed it first."""
        start = start.astimezone(UTC)
        if not is_offerable(self._rules, start, (), now):
            return NotAllowed(_OUTSIDE_RULES)
        slot, blocked = self._rules.slot(start), self._rules.blocked(start)
        question = Question(call_id, start, attendee.email, self._horizon(now))
        standing = await self._store.ask(question)
        if standing.existing is not None:
            return already_booked(standing.existing, slot)
        fresh = await self._recheck(blocked)
        if isinstance(fresh, BookingFailed):
            return fresh
        if standing.failed_id is not None:
            # A retry: the event of the failed attempt, made by the calendar without our
            # hearing back, must not block it (the write will find that event by its key).
            fresh = without(fresh, slot)
        if any(busy.overlaps(blocked) for busy in fresh):
            return SlotTaken(slot, await self._alternatives(start, now, fresh, standing.booked))

        subject = self._settings.render(self._settings.title_template, recipient, self._campaign)
        claim = Claim(
            id=standing.failed_id or str(uuid.uuid4()), call_id=call_id,
            campaign=self._campaign, attendee_email=attendee.email,
            attendee_name=attendee.name, subject=subject, slot=slot, blocked=blocked,
            span=question.span, revive=standing.failed_id is not None, member=self._member,
        )
        # Once claimed, a confirmation runs to the end even if the call drops meanwhile:
        # the caller did confirm, and a half-done booking would hold the slot until stale.
        return await _to_the_end(
            self._claim_and_write(claim, attendee, recipient, now, fresh)
        )

    async def _claim_and_write(
        self, claim: Claim, attendee: Attendee, recipient: Recipient, now: datetime,
        fresh: list[Interval],
    ) -> BookingResult:
        """Claim the slot, write the event, confirm: the part of ``book()`` that must finish."""
        slot = claim.slot
        # The write time-out counts from before the claim, so the write is over before the
        # claim (stamped when written) looks abandoned to reconciliation.
        deadline = asyncio.get_running_loop().time() + WRITE_TIMEOUT.total_seconds()
        lost = await self._store.claim(claim)
        if lost is not None:
            # Lost the race: the store said who holds what, to offer what is still free.
            if lost.existing is not None:
                return already_booked(lost.existing, slot)
            return SlotTaken(slot, await self._alternatives(slot.start, now, fresh, lost.booked))
        try:
            async with asyncio.timeout_at(deadline):
                created = await self._write_event(claim, attendee, recipient)
        except Exception as exc:
            reason = _failure_reason(exc)
            log.warning("booking %s failed, slot released: %s", claim.id, reason)
            await self._store.fail(claim.id, reason)
            return BookingFailed(reason)
        if not await self._store.confirm(claim.id, created.event_id, created.online_meeting_url):
            return await self._withdraw(claim.id, created)
        return Booked(claim.id, slot, created.event_id, created.online_meeting_url,
                      member=self._member)

    async def _withdraw(self, booking_id: str, created: CreatedEvent) -> BookingFailed:
        """The claim was released while its event was being written (reconciliation found no
        event yet): the slot may be another's now, so the late event is cancelled."""
        log.error("booking %s was released before its event was written; withdrawing it",
                  booking_id)
        try:
            await self._provider.cancel_event(created.event_id, WITHDRAW_MESSAGE)
        except Exception as exc:
            log.warning("withdrawing the event of booking %s failed: %s", booking_id,
                        _failure_reason(exc))
        return BookingFailed(_TOO_SLOW)

    async def _write_event(
        self, claim: Claim, attendee: Attendee, recipient: Recipient
    ) -> CreatedEvent:
        """Create the booking's event (keyed by the booking id, so a retry finds it)."""
        settings = self._settings
        meeting_type = settings.meeting_type
        location = {"in_person": settings.address, "phone": recipient.phone}.get(meeting_type)
        online = meeting_type == "video" and await self._provider.can_add_online_meeting()
        return await self._provider.create_event(NewEvent(
            idempotency_key=idempotency_key(claim.id), subject=claim.subject,
            body=settings.render(settings.description_template, recipient, self._campaign),
            start=claim.slot.start, end=claim.slot.end, attendees=[attendee],
            location=location, online_meeting=online,
        ))

    async def move(
        self, booking_id: str, *, start: datetime, call_id: str, now: datetime
    ) -> BookingResult:
        """Move this call's booking to ``start``; its old time stays held until the calendar
        has moved the event, and comes back if the calendar refuses."""
        record = await self._store.booking(booking_id)
        refused = _refuse(record, call_id, "move")
        if refused is not None:
            return refused
        assert record is not None and record.event_id is not None  # confirmed: has its event
        start = start.astimezone(UTC)
        if start == record.slot.start:
            return Booked(record.id, record.slot, record.event_id, record.online_meeting_url,
                          member=record.member)
        if not is_offerable(self._rules, start, (), now):
            return NotAllowed(_OUTSIDE_RULES)
        slot, blocked = self._rules.slot(start), self._rules.blocked(start)
        recheck = await self._recheck(blocked)
        if isinstance(recheck, BookingFailed):
            return recheck
        fresh = without(recheck, record.slot)
        if any(busy.overlaps(blocked) for busy in fresh):
            return await self._move_taken(record.id, slot, now, fresh)
        return await _to_the_end(self._move_claimed(record, slot, blocked, now, fresh))

    async def _move_claimed(
        self, record: BookingRecord, slot: Interval, blocked: Interval, now: datetime,
        fresh: list[Interval],
    ) -> BookingResult:
        if not await self._store.claim_move(record, slot, blocked):
            return await self._move_taken(record.id, slot, now, fresh)
        assert record.event_id is not None  # move() refused bookings that are not confirmed
        try:
            moved = await self._provider.move_event(record.event_id, slot.start, slot.end)
        except Exception as exc:
            reason = _failure_reason(exc)
            log.warning("move of booking %s failed, kept its old time: %s", record.id, reason)
            await self._store.undo_move(record)
            return BookingFailed(reason)
        url = moved.online_meeting_url or record.online_meeting_url
        await self._store.finish_move(record.id, moved.event_id, url)
        return Booked(record.id, slot, moved.event_id, url, moved_from=record.slot,
                      member=record.member)

    async def _move_taken(
        self, booking_id: str, slot: Interval, now: datetime, fresh: list[Interval]
    ) -> SlotTaken:
        _, booked = await self._store.live_ranges(self._horizon(now), booking_id)
        return SlotTaken(slot, await self._alternatives(slot.start, now, fresh, booked))

    async def cancel(
        self, booking_id: str, *, call_id: str, message: str
    ) -> Cancelled | NotAllowed | BookingFailed:
        """Cancel this call's booking on the calendar (telling the attendee) and release it."""
        record = await self._store.booking(booking_id)
        if (record is not None and record.status == BookingStatus.CANCELLED
                and record.call_id == call_id):
            return Cancelled(record.id)
        refused = _refuse(record, call_id, "cancel")
        if refused is not None:
            return refused
        assert record is not None and record.event_id is not None  # confirmed: has its event
        try:
            await self._provider.cancel_event(record.event_id, message)
        except EventNotFound:
            pass  # already gone from the calendar: release our side too
        except Exception as exc:
            return BookingFailed(_failure_reason(exc))
        await self._store.cancel(record.id)
        return Cancelled(record.id)

    # -- reading ------------------------------------------------------------------------

    async def booking(self, booking_id: str) -> BookingRecord | None:
        """A booking on this calendar by id (any status), or ``None``."""
        return await self._store.booking(booking_id)

    async def can_add_online_meeting(self) -> bool:
        """Whether events booked here can carry an online-meeting link."""
        return await self._provider.can_add_online_meeting()

    def bookings_for_call(self, call_id: str) -> list[BookingRecord]:
        """This call's bookings on this calendar, by start time (any status)."""
        return self._store.records(call_id)

    def bookings(self) -> list[BookingRecord]:
        """Every booking on this calendar, by start time (any status)."""
        return self._store.records()


_RUNNING: set[asyncio.Task[BookingResult]] = set()


async def _to_the_end(work: Awaitable[BookingResult]) -> BookingResult:
    """Run ``work`` to completion even if the awaiting caller is cancelled."""
    task = asyncio.ensure_future(work)
    _RUNNING.add(task)  # a task nobody references may be collected mid-way
    task.add_done_callback(_RUNNING.discard)
    return await asyncio.shield(task)


def _refuse(record: BookingRecord | None, call_id: str, verb: str) -> NotAllowed | None:
    if record is None:
        return NotAllowed("there is no such booking on this calendar")
    if record.call_id != call_id:
        return NotAllowed(f"only the call that booked this meeting can {verb} it")
    if record.status != BookingStatus.CONFIRMED:
        return NotAllowed(f"this booking is {record.status} and cannot be changed")
    return None

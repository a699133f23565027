"""Booking a slot on a calendar during a call: first confirm wins, nothing double-booked.

``book()`` checks the start against the campaign's rules, re-checks just that slot on
the calendar (an event the owner added after the call began must block), claims it in
the database as ``pending`` (the database decides between racing callers, see
:mod:`calendar_backend.booking_store`), writes the event, then marks the booking
``confirmed`` — or ``failed``, which releases the slot. Losers hear :class:`SlotTaken`
with the next free slots.

Calendar writes are idempotent: the event's key is derived from the booking id, and a
call retrying its failed booking of the same slot reuses that booking's id, so an event
the calendar created without our hearing back is found again instead of duplicated.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Row

from calendar_backend.batching import Batches, shared_batches
from calendar_backend.booking_settings import BookingSettings, Recipient
from calendar_backend.booking_store import (
    BookingRecord,
    BookingStatus,
    BookingStore,
    Claim,
    idempotency_key,
)
from calendar_backend.interval import Interval, without
from calendar_backend.provider import (
    Attendee,
    CalendarProvider,
    CalendarUnavailable,
    EventNotFound,
    NewEvent,
)
from calendar_backend.slots import SlotRules, free_slots, is_offerable
from storage.database import Database

__all__ = [
    "ALTERNATIVES", "Booked", "BookingFailed", "BookingRecord", "BookingResult",
    "BookingService", "BookingStatus", "Cancelled", "NotAllowed", "SlotTaken", "idempotency_key",
]

log = logging.getLogger(__name__)

ALTERNATIVES = 3
_TICK = timedelta(microseconds=1)
_OUTSIDE_RULES = "that time is not one the campaign offers (window, notice or range)"


@dataclass(frozen=True)
class Booked:
    """The meeting is on the calendar (``moved_from`` is set when it was moved)."""

    booking_id: str
    slot: Interval
    event_id: str
    online_meeting_url: str | None
    moved_from: Interval | None = None


@dataclass(frozen=True)
class SlotTaken:
    """Someone else holds the slot; ``alternatives`` are the next free slots to offer."""

    slot: Interval
    alternatives: list[Interval]


@dataclass(frozen=True)
class BookingFailed:
    """The calendar did not answer or refused; nothing is booked and the slot is released."""

    reason: str


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
    return f"the calendar failed ({type(exc).__name__})"


def _already_booked(existing: BookingRecord, slot: Interval) -> Booked | NotAllowed:
    """A call asking again for its own booking gets it; for another time it must move."""
    if existing.slot == slot and existing.status == BookingStatus.CONFIRMED and existing.event_id:
        return Booked(existing.id, slot, existing.event_id, existing.online_meeting_url)
    if existing.status == BookingStatus.PENDING:
        return NotAllowed("this call's booking is still being written to the calendar")
    return NotAllowed(
        f"this call already has a meeting at {existing.slot.start.isoformat()};"
        " move that one instead of booking a second"
    )


class BookingService:
    """Booking on one calendar for one campaign; one instance per call (it caches the calendar's busy time)."""  # noqa: E501

    def __init__(
        self, database: Database, provider: CalendarProvider, booking: BookingSettings, *,
        calendar_id: str, campaign_name: str, calendar_zone: str | None = None,
    ) -> None:
        self._store = BookingStore(database, calendar_id)
        self._provider = provider
        self._settings = booking
        self._rules = SlotRules.from_settings(booking, calendar_zone)
        self.calendar_id = calendar_id
        self.campaign_name = campaign_name
        self._busy: list[Interval] | None = None
        # (call, start, e-mail) -> id of a booking that failed here: a retry reuses it.
        self._failed: dict[tuple[str, datetime, str], str] = {}

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
        own, booked = await asyncio.to_thread(
            self._store.live_ranges, self._horizon(now), excluding_booking
        )
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

    async def _recheck(self, blocked: Interval) -> list[Interval]:
        """What the calendar itself has inside ``blocked``, read after this request."""
        # One queue per calendar: a slow calendar never holds up re-checks on another.
        reads = shared_batches(("busy-reads", self.calendar_id), lambda: Batches(_read_busy))
        found: list[Interval] = await reads.submit((self._provider, blocked))
        return found

    # -- booking ----------------------------------------------------------------------

    async def book(
        self, *, start: datetime, attendee: Attendee, recipient: Recipient, call_id: str,
        now: datetime,
    ) -> BookingResult:
        """Book ``start`` for this call, if it is offerable and nobody confirmed it first."""
        start = start.astimezone(UTC)
        if not is_offerable(self._rules, start, (), now):
            return NotAllowed(_OUTSIDE_RULES)
        slot, blocked, horizon = (
            self._rules.slot(start), self._rules.blocked(start), self._horizon(now)
        )
        try:
            fresh = await self._recheck(blocked)
        except Exception as exc:
            log.warning("calendar re-check failed: %s", _failure_reason(exc))
            return BookingFailed(_failure_reason(exc))
        retry = self._failed.get((call_id, start, attendee.email))
        if retry is None and any(busy.overlaps(blocked) for busy in fresh):
            # Busy on the calendar: maybe by this call's own booking, or by the event of
            # its failed attempt that the calendar made without our hearing back.
            seen = await self._store.claim(
                Claim(call_id, start, attendee.email, blocked, horizon)
            )
            if seen.existing is not None:
                return _already_booked(seen.existing, slot)
            retry = seen.failed_id
            if retry is None:
                return SlotTaken(slot, await self._alternatives(start, now, fresh, seen.booked))
        if retry is not None:
            fresh = without(fresh, slot)
            if any(busy.overlaps(blocked) for busy in fresh):
                booked = (await self._store.claim(
                    Claim(call_id, start, attendee.email, blocked, horizon)
                )).booked
                return SlotTaken(slot, await self._alternatives(start, now, fresh, booked))

        # Once claimed, a confirmation runs to the end even if the call drops meanwhile:
        # the caller did confirm, and a half-done booking would hold the slot until stale.
        return await _to_the_end(self._claim_and_write(
            slot, blocked, horizon, attendee, recipient, call_id, now, retry, fresh
        ))

    async def _claim_and_write(
        self, slot: Interval, blocked: Interval, horizon: Interval, attendee: Attendee,
        recipient: Recipient, call_id: str, now: datetime, retry: str | None,
        fresh: list[Interval],
    ) -> BookingResult:
        start = slot.start
        render = self._settings.render
        subject = render(self._settings.title_template, recipient, self.campaign_name)
        body = render(self._settings.description_template, recipient, self.campaign_name)
        booking_id = retry or str(uuid.uuid4())
        values = {
            "id": booking_id, "calendar_id": self.calendar_id,
            "call_id": call_id, "campaign": self.campaign_name,
            "attendee_email": attendee.email, "attendee_name": attendee.name,
            "subject": subject, "start": slot.start, "end": slot.end,
            "blocked_start": blocked.start, "blocked_end": blocked.end,
            "status": BookingStatus.PENDING,
        }
        claim = await self._store.claim(Claim(
            call_id, start, attendee.email, blocked, horizon, values, reuse=retry is not None
        ))
        if claim.existing is not None:
            return _already_booked(claim.existing, slot)
        if not claim.claimed:
            return SlotTaken(slot, await self._alternatives(start, now, fresh, claim.booked))

        meeting_type = self._settings.meeting_type
        location = {"in_person": self._settings.address, "phone": recipient.phone}.get(
            meeting_type
        )
        try:
            online = meeting_type == "video" and await self._provider.can_add_online_meeting()
            created = await self._provider.create_event(NewEvent(
                idempotency_key=idempotency_key(booking_id), subject=subject, body=body,
                start=slot.start, end=slot.end, attendees=[attendee], location=location,
                online_meeting=online,
            ))
        except Exception as exc:
            reason = _failure_reason(exc)
            log.warning("booking %s failed, slot released: %s", booking_id, reason)
            await asyncio.to_thread(self._store.fail, booking_id, reason)
            self._failed[(call_id, start, attendee.email)] = booking_id
            return BookingFailed(reason)
        await asyncio.to_thread(
            self._store.confirm, booking_id, created.event_id, created.online_meeting_url
        )
        self._failed.pop((call_id, start, attendee.email), None)
        return Booked(booking_id, slot, created.event_id, created.online_meeting_url)

    async def move(
        self, booking_id: str, *, start: datetime, call_id: str, now: datetime
    ) -> BookingResult:
        """Move this call's booking to ``start``; its old time stays held until the calendar
        has moved the event, and comes back if the calendar refuses."""
        row = await asyncio.to_thread(self._store.row, booking_id)
        refused = _refuse(row, call_id, "move")
        if refused is not None:
            return refused
        assert row is not None
        start = start.astimezone(UTC)
        old_slot = Interval(row.start, row.end)
        if start == old_slot.start:
            return Booked(row.id, old_slot, row.event_id, row.online_meeting_url)
        if not is_offerable(self._rules, start, (), now):
            return NotAllowed(_OUTSIDE_RULES)
        slot, blocked = self._rules.slot(start), self._rules.blocked(start)
        try:
            fresh = without(await self._recheck(blocked), old_slot)
        except Exception as exc:
            return BookingFailed(_failure_reason(exc))
        if any(busy.overlaps(blocked) for busy in fresh):
            return await self._move_taken(row.id, slot, now, fresh)
        return await _to_the_end(self._move_claimed(row, slot, blocked, now, fresh))

    async def _move_claimed(
        self, row: Row, slot: Interval, blocked: Interval, now: datetime, fresh: list[Interval]
    ) -> BookingResult:
        if not await asyncio.to_thread(self._store.claim_move, row, slot, blocked):
            return await self._move_taken(row.id, slot, now, fresh)
        try:
            moved = await self._provider.move_event(row.event_id, slot.start, slot.end)
        except Exception as exc:
            reason = _failure_reason(exc)
            log.warning("move of booking %s failed, kept its old time: %s", row.id, reason)
            await asyncio.to_thread(self._store.undo_move, row)
            return BookingFailed(reason)
        url = moved.online_meeting_url or row.online_meeting_url
        await asyncio.to_thread(self._store.finish_move, row.id, moved.event_id, url)
        return Booked(row.id, slot, moved.event_id, url, moved_from=Interval(row.start, row.end))

    async def _move_taken(
        self, booking_id: str, slot: Interval, now: datetime, fresh: list[Interval]
    ) -> SlotTaken:
        _, booked = await asyncio.to_thread(
            self._store.live_ranges, self._horizon(now), booking_id
        )
        return SlotTaken(slot, await self._alternatives(slot.start, now, fresh, booked))

    async def cancel(
        self, booking_id: str, *, call_id: str, message: str
    ) -> Cancelled | NotAllowed | BookingFailed:
        """Cancel this call's booking on the calendar (telling the attendee) and release it."""
        row = await asyncio.to_thread(self._store.row, booking_id)
        if row is not None and row.status == BookingStatus.CANCELLED and row.call_id == call_id:
            return Cancelled(row.id)
        refused = _refuse(row, call_id, "cancel")
        if refused is not None:
            return refused
        assert row is not None
        try:
            await self._provider.cancel_event(row.event_id, message)
        except EventNotFound:
            pass  # already gone from the calendar: release our side too
        except Exception as exc:
            return BookingFailed(_failure_reason(exc))
        await asyncio.to_thread(self._store.cancelled, row.id)
        return Cancelled(row.id)

    # -- reading ------------------------------------------------------------------------

    def bookings_for_call(self, call_id: str) -> list[BookingRecord]:
        """This call's bookings on this calendar, by start time (any status)."""
        return self._store.records(call_id)

    def bookings(self) -> list[BookingRecord]:
        """Every booking on this calendar, by start time (any status)."""
        return self._store.records()


_RUNNING: set[asyncio.Task[BookingResult]] = set()


async def _to_the_end(work: Coroutine[Any, Any, BookingResult]) -> BookingResult:
    """Run ``work`` to completion even if the awaiting caller is cancelled."""
    task = asyncio.ensure_future(work)
    _RUNNING.add(task)  # a task nobody references may be collected mid-way
    task.add_done_callback(_RUNNING.discard)
    return await asyncio.shield(task)


async def _read_busy(
    requests: list[tuple[CalendarProvider, Interval]],
) -> list[list[Interval] | BaseException]:
    """Answer re-checks that arrived together with one busy-time read per calendar.

    Callers racing for slots re-check them at the same instant; one read over the span of
    their slots answers them all, each with what overlaps its own slot.
    """
    by_provider: dict[int, tuple[CalendarProvider, list[Interval]]] = {}
    for provider, span in requests:
        by_provider.setdefault(id(provider), (provider, []))[1].append(span)

    async def read(provider: CalendarProvider, spans: list[Interval]) -> list[Interval]:
        start, end = min(s.start for s in spans), max(s.end for s in spans)
        return [b.interval() for b in await provider.busy_times(start, end)]

    answers = await asyncio.gather(
        *(read(provider, spans) for provider, spans in by_provider.values()),
        return_exceptions=True,
    )
    busy = dict(zip(by_provider, answers, strict=True))
    results: list[list[Interval] | BaseException] = []
    for provider, span in requests:
        found = busy[id(provider)]
        results.append(found if isinstance(found, BaseException)
                       else [b for b in found if b.overlaps(span)])
    return results


def _refuse(row: Row | None, call_id: str, verb: str) -> NotAllowed | None:
    if row is None:
        return NotAllowed("there is no such booking on this calendar")
    if row.call_id != call_id:
        return NotAllowed(f"only the call that booked this meeting can {verb} it")
    if row.status != BookingStatus.CONFIRMED:
        return NotAllowed(f"this booking is {row.status} and cannot be changed")
    return None

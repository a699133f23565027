"""Booking a slot on a calendar during a call: first confirm wins, nothing double-booked.

Who confirmed first is decided by the database, never by a check in Python followed by
a write: on PostgreSQL an exclusion constraint refuses a second live booking whose
blocked range (slot plus buffers) overlaps one on the same calendar; on SQLite the
overlap query and the write run in one serialising transaction (BEGIN IMMEDIATE).

A booking is claimed as ``pending`` before the calendar is written, then becomes
``confirmed`` or ``failed`` (which releases the slot). A pending row is only left behind
when the process dies between the two; such a row older than :data:`STALE_PENDING` is
treated as abandoned and released when a new claim runs into it. Releasing it is safe
even if the dead process did create the event: every booking re-checks its slot
against the calendar itself first, and that event shows there as busy.

Calendar writes are idempotent: the event's key is derived from the booking id, and a
call retrying a failed booking of the same slot reuses that booking's id, so an event
the calendar created without our hearing back is found again instead of duplicated.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from calendar_backend.booking_settings import BookingSettings, Recipient
from calendar_backend.interval import Interval
from calendar_backend.provider import (
    Attendee,
    CalendarProvider,
    CalendarUnavailable,
    EventNotFound,
    NewEvent,
)
from calendar_backend.slots import SlotRules, free_slots, is_offerable
from storage.booking_tables import LIVE_STATUSES, BookingRow
from storage.database import Database

log = logging.getLogger(__name__)

BOOKINGS: Table = BookingRow.__table__  # type: ignore[assignment]
# A pending claim older than this belongs to a process that died mid-booking: a calendar
# write (with the adapter's own retries) finishes well within it.
STALE_PENDING = timedelta(minutes=5)
ALTERNATIVES = 3
_EXCLUSION_VIOLATION = "23P01"
_ONE_LIVE_PER_CALL = "uq_bookings_one_live_per_call"
_TICK = timedelta(microseconds=1)


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


@dataclass(frozen=True)
class BookingRecord:
    """A booking as stored (read model for the dialogue, the harness and the CLI)."""

    id: str
    call_id: str
    calendar_id: str
    slot: Interval
    status: str
    attendee_email: str
    attendee_name: str | None
    subject: str
    event_id: str | None
    online_meeting_url: str | None


def _record(row: Row) -> BookingRecord:
    return BookingRecord(
        id=row.id, call_id=row.call_id, calendar_id=row.calendar_id,
        slot=Interval(row.start, row.end), status=row.status,
        attendee_email=row.attendee_email, attendee_name=row.attendee_name,
        subject=row.subject, event_id=row.event_id, online_meeting_url=row.online_meeting_url,
    )


def idempotency_key(booking_id: str) -> str:
    """The calendar write key of a booking: stable for as long as the booking id is."""
    return f"booking-{booking_id}"


def subtract(whole: Interval, part: Interval) -> list[Interval]:
    """The pieces of ``whole`` not covered by ``part`` (zero, one or two)."""
    pieces = []
    if whole.start < part.start:
        pieces.append(Interval(whole.start, min(whole.end, part.start)))
    if part.end < whole.end:
        pieces.append(Interval(max(whole.start, part.end), whole.end))
    return pieces


def _failure_reason(exc: Exception) -> str:
    # Only our own port's reason is known to be safe to repeat; other errors may carry
    # request details, so just their type is kept.
    if isinstance(exc, CalendarUnavailable):
        return exc.reason
    if isinstance(exc, EventNotFound):
        return "the event is no longer on the calendar"
    return f"the calendar failed ({type(exc).__name__})"


class _Conflict(Exception):
    """A live booking already holds part of the range being claimed."""


@dataclass(frozen=True)
class _Claim:
    """What claiming a slot came to: a booking id, or this call's existing booking."""

    booking_id: str | None = None
    existing: BookingRecord | None = None


class BookingService:
    """Booking on one calendar for one campaign; one instance per call (it caches the calendar's busy time)."""  # noqa: E501

    def __init__(
        self, database: Database, provider: CalendarProvider, booking: BookingSettings, *,
        calendar_id: str, campaign_name: str, calendar_zone: str | None = None,
    ) -> None:
        self._db = database
        self._provider = provider
        self._settings = booking
        self._rules = SlotRules.from_settings(booking, calendar_zone)
        self.calendar_id = calendar_id
        self.campaign_name = campaign_name
        self._busy: list[Interval] | None = None

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
            self._booked_busy, self._horizon(now), excluding_booking
        )
        busy = _without(calendar_busy, own) + booked
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
        excluding_booking: str | None = None,
    ) -> list[Interval]:
        """Up to three free slots after ``start``, else the earliest ones overall."""
        calendar_busy = await self._calendar_busy(now)
        booked = await asyncio.to_thread(self._live_ranges, self._horizon(now), excluding_booking)
        busy = [*calendar_busy, *fresh_busy, *booked]
        after = self._slots_from(busy, now, start + _TICK, limit=ALTERNATIVES)
        return after or free_slots(self._rules, busy, now, limit=ALTERNATIVES)

    async def _recheck(self, blocked: Interval, own_slot: Interval | None) -> list[Interval]:
        """What the calendar itself now has inside ``blocked`` (minus our own event)."""
        busy = await self._provider.busy_times(blocked.start, blocked.end)
        found = [b.interval() for b in busy]
        return _without(found, own_slot) if own_slot else found

    # -- booking ----------------------------------------------------------------------

    async def book(
        self, *, start: datetime, attendee: Attendee, recipient: Recipient, call_id: str,
        now: datetime,
    ) -> BookingResult:
        """Book ``start`` for this call, if it is offerable and nobody confirmed it first."""
        start = start.astimezone(UTC)
        if not is_offerable(self._rules, start, (), now):
            return NotAllowed("that time is not one the campaign offers (window, notice or range)")
        slot, blocked = self._rules.slot(start), self._rules.blocked(start)
        existing, retry = await asyncio.to_thread(self._call_state, call_id, slot, attendee.email)
        if existing is not None:
            return _already_booked(existing, slot)
        try:
            fresh = await self._recheck(blocked, slot if retry else None)
        except Exception as exc:
            log.warning("calendar re-check failed: %s", _failure_reason(exc))
            return BookingFailed(_failure_reason(exc))
        if any(busy.overlaps(blocked) for busy in fresh):
            return SlotTaken(slot, await self._alternatives(start, now, fresh))

        subject = self._settings.render(
            self._settings.title_template, recipient, self.campaign_name
        )
        body = self._settings.render(
            self._settings.description_template, recipient, self.campaign_name
        )
        values = {
            "id": retry or str(uuid.uuid4()), "calendar_id": self.calendar_id,
            "call_id": call_id, "campaign": self.campaign_name,
            "attendee_email": attendee.email, "attendee_name": attendee.name,
            "subject": subject, "start": slot.start, "end": slot.end,
            "blocked_start": blocked.start, "blocked_end": blocked.end, "status": "pending",
        }
        claim = await asyncio.to_thread(self._claim, values, bool(retry))
        if claim is None:
            return SlotTaken(slot, await self._alternatives(start, now, fresh))
        if claim.existing is not None:
            return _already_booked(claim.existing, slot)
        booking_id = claim.booking_id
        assert booking_id is not None

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
            await asyncio.to_thread(self._set_status, booking_id, "failed", reason)
            return BookingFailed(reason)
        await asyncio.to_thread(
            self._confirm, booking_id, created.event_id, created.online_meeting_url
        )
        return Booked(booking_id, slot, created.event_id, created.online_meeting_url)

    async def move(
        self, booking_id: str, *, start: datetime, call_id: str, now: datetime
    ) -> BookingResult:
        """Move this call's booking to ``start``; the old time stays held until the calendar agrees."""  # noqa: E501
        row = await asyncio.to_thread(self._row, booking_id)
        refused = self._refuse(row, call_id, "move")
        if refused is not None:
            return refused
        assert row is not None
        start = start.astimezone(UTC)
        old_slot = Interval(row.start, row.end)
        if start == old_slot.start:
            return Booked(row.id, old_slot, row.event_id, row.online_meeting_url)
        if not is_offerable(self._rules, start, (), now):
            return NotAllowed("that time is not one the campaign offers (window, notice or range)")
        slot, blocked = self._rules.slot(start), self._rules.blocked(start)
        try:
            fresh = await self._recheck(blocked, old_slot)
        except Exception as exc:
            return BookingFailed(_failure_reason(exc))
        if not any(busy.overlaps(blocked) for busy in fresh):
            claimed = await asyncio.to_thread(self._claim_move, row, slot, blocked)
        else:
            claimed = False
        if not claimed:
            alternatives = await self._alternatives(start, now, fresh, excluding_booking=row.id)
            return SlotTaken(slot, alternatives)
        try:
            moved = await self._provider.move_event(row.event_id, slot.start, slot.end)
        except Exception as exc:
            reason = _failure_reason(exc)
            log.warning("move of booking %s failed, kept its old time: %s", row.id, reason)
            await asyncio.to_thread(self._undo_move, row)
            return BookingFailed(reason)
        url = moved.online_meeting_url or row.online_meeting_url
        await asyncio.to_thread(self._finish_move, row.id, moved.event_id, url)
        return Booked(row.id, slot, moved.event_id, url, moved_from=old_slot)

    async def cancel(
        self, booking_id: str, *, call_id: str, message: str
    ) -> Cancelled | NotAllowed | BookingFailed:
        """Cancel this call's booking on the calendar (telling the attendee) and release it."""
        row = await asyncio.to_thread(self._row, booking_id)
        if row is not None and row.status == "cancelled" and row.call_id == call_id:
            return Cancelled(row.id)
        refused = self._refuse(row, call_id, "cancel")
        if refused is not None:
            return refused
        assert row is not None
        try:
            await self._provider.cancel_event(row.event_id, message)
        except EventNotFound:
            pass  # already gone from the calendar: release our side too
        except Exception as exc:
            return BookingFailed(_failure_reason(exc))
        await asyncio.to_thread(self._set_status, row.id, "cancelled", None)
        return Cancelled(row.id)

    def _refuse(self, row: Row | None, call_id: str, verb: str) -> NotAllowed | None:
        if row is None or row.calendar_id != self.calendar_id or row.hold_of is not None:
            return NotAllowed("there is no such booking on this calendar")
        if row.call_id != call_id:
            return NotAllowed(f"only the call that booked this meeting can {verb} it")
        if row.status != "confirmed":
            return NotAllowed(f"this booking is {row.status} and cannot be changed")
        return None

    # -- reading ------------------------------------------------------------------------

    def bookings_for_call(self, call_id: str) -> list[BookingRecord]:
        """This call's bookings on this calendar, oldest first (any status)."""
        return self._records(BOOKINGS.c.call_id == call_id)

    def bookings(self) -> list[BookingRecord]:
        """Every booking on this calendar, by start time."""
        return self._records()

    def _records(self, *where: Any) -> list[BookingRecord]:
        query = select(BOOKINGS).where(
            BOOKINGS.c.calendar_id == self.calendar_id, BOOKINGS.c.hold_of.is_(None), *where
        ).order_by(BOOKINGS.c.start, BOOKINGS.c.created_at)
        with self._db.session() as session:
            return [_record(row) for row in session.execute(query)]

    # -- database work (runs in worker threads) ---------------------------------------------

    def _row(self, booking_id: str) -> Row | None:
        with self._db.session() as session:
            return session.execute(select(BOOKINGS).where(BOOKINGS.c.id == booking_id)).first()

    def _booked_busy(
        self, span: Interval, excluding: str | None
    ) -> tuple[Interval | None, list[Interval]]:
        """The excluded booking's own slot, and every other live booking's blocked range."""
        row = self._row(excluding) if excluding is not None else None
        own = Interval(row.start, row.end) if row is not None else None
        return own, self._live_ranges(span, excluding)

    def _live_ranges(self, span: Interval, excluding: str | None = None) -> list[Interval]:
        """Blocked ranges of live bookings on this calendar overlapping ``span``."""
        query = select(BOOKINGS.c.blocked_start, BOOKINGS.c.blocked_end).where(
            *self._overlapping(span)
        )
        if excluding is not None:
            query = query.where(
                BOOKINGS.c.id != excluding,
                or_(BOOKINGS.c.hold_of.is_(None), BOOKINGS.c.hold_of != excluding),
            )
        with self._db.session() as session:
            return [Interval(r.blocked_start, r.blocked_end) for r in session.execute(query)]

    def _overlapping(self, span: Interval) -> tuple[Any, ...]:
        return (
            BOOKINGS.c.calendar_id == self.calendar_id,
            BOOKINGS.c.status.in_(LIVE_STATUSES),
            BOOKINGS.c.blocked_start < span.end,
            BOOKINGS.c.blocked_end > span.start,
        )

    def _call_state(
        self, call_id: str, slot: Interval, email: str
    ) -> tuple[BookingRecord | None, str | None]:
        """This call's live booking, and the id of its failed booking of ``slot`` for
        ``email`` (a retry reuses it, and with it the calendar write's key)."""
        mine = (BOOKINGS.c.calendar_id == self.calendar_id, BOOKINGS.c.call_id == call_id,
                BOOKINGS.c.hold_of.is_(None))
        with self._db.session() as session:
            live = session.execute(select(BOOKINGS).where(
                *mine, BOOKINGS.c.status.in_(("pending", "confirmed"))
            )).first()
            if live is not None:
                return _record(live), None
            failed = session.execute(select(BOOKINGS.c.id).where(
                *mine, BOOKINGS.c.status == "failed", BOOKINGS.c.start == slot.start,
                BOOKINGS.c.attendee_email == email,
            ).order_by(BOOKINGS.c.created_at.desc()).limit(1)).scalar_one_or_none()
        return None, failed

    def _arbitrate(self, session: Session, blocked: Interval, own_id: str | None) -> None:
        """On SQLite (inside BEGIN IMMEDIATE) raise _Conflict if ``blocked`` is taken.

        PostgreSQL needs no query: its exclusion constraint refuses the write itself.
        """
        if self._db.dialect != "sqlite":
            return
        query = select(BOOKINGS.c.id).where(*self._overlapping(blocked)).limit(1)
        if own_id is not None:
            query = query.where(BOOKINGS.c.id != own_id)
        if session.execute(query).first() is not None:
            raise _Conflict

    def _claim(self, values: dict[str, Any], reuse: bool) -> _Claim | None:
        """Claim the slot as a pending booking; ``None`` when another booking holds it."""
        blocked = Interval(values["blocked_start"], values["blocked_end"])
        for attempt in (1, 2):
            try:
                with self._db.session(serial=True) as session:
                    existing = session.execute(select(BOOKINGS).where(
                        BOOKINGS.c.calendar_id == self.calendar_id,
                        BOOKINGS.c.call_id == values["call_id"],
                        BOOKINGS.c.status.in_(("pending", "confirmed")),
                        BOOKINGS.c.hold_of.is_(None),
                    )).first()
                    if existing is not None:
                        return _Claim(existing=_record(existing))
                    self._arbitrate(session, blocked, values["id"] if reuse else None)
                    now = datetime.now(UTC)
                    if reuse:
                        session.execute(update(BOOKINGS).where(
                            BOOKINGS.c.id == values["id"], BOOKINGS.c.status == "failed"
                        ).values(status="pending", failure_reason=None, updated_at=now))
                    else:
                        session.execute(insert(BOOKINGS).values(
                            **values, idempotency_key=idempotency_key(values["id"]),
                            created_at=now, updated_at=now,
                        ))
                return _Claim(booking_id=values["id"])
            except _Conflict:
                pass
            except IntegrityError as exc:
                if _ONE_LIVE_PER_CALL in str(exc.orig):
                    continue  # this call's concurrent book() won: report that booking
                if getattr(exc.orig, "sqlstate", None) != _EXCLUSION_VIOLATION:
                    raise
            if attempt == 2 or not self._release_stale(blocked):
                return None
        return None

    def _release_stale(self, blocked: Interval) -> bool:
        """Fail abandoned claims (see STALE_PENDING) overlapping ``blocked``; any released?"""
        cutoff = datetime.now(UTC) - STALE_PENDING
        with self._db.session(serial=True) as session:
            released = session.execute(
                update(BOOKINGS)
                .where(
                    *self._overlapping(blocked),
                    BOOKINGS.c.status.in_(("pending", "held")),
                    BOOKINGS.c.updated_at < cutoff,
                )
                .values(status="failed", failure_reason="abandoned", updated_at=datetime.now(UTC))
            ).rowcount
        if released:
            log.warning("released %d abandoned claim(s) on %s", released, self.calendar_id)
        return bool(released)

    def _claim_move(self, row: Row, slot: Interval, blocked: Interval) -> bool:
        """Move the booking's claim to ``blocked``, holding its old range; False if taken."""
        old_blocked = Interval(row.blocked_start, row.blocked_end)
        for attempt in (1, 2):
            try:
                with self._db.session(serial=True) as session:
                    self._arbitrate(session, blocked, row.id)
                    now = datetime.now(UTC)
                    # The same row moves, so it is never arbitrated against itself.
                    session.execute(update(BOOKINGS).where(BOOKINGS.c.id == row.id).values(
                        start=slot.start, end=slot.end, blocked_start=blocked.start,
                        blocked_end=blocked.end, updated_at=now,
                    ))
                    # Until the calendar has moved the event, its old time stays taken.
                    for piece in subtract(old_blocked, blocked):
                        session.execute(insert(BOOKINGS).values(
                            id=str(uuid.uuid4()), calendar_id=row.calendar_id,
                            call_id=row.call_id, campaign=row.campaign,
                            attendee_email=row.attendee_email, attendee_name=row.attendee_name,
                            subject=row.subject, start=piece.start, end=piece.end,
                            blocked_start=piece.start, blocked_end=piece.end, status="held",
                            hold_of=row.id, created_at=now, updated_at=now,
                        ))
                return True
            except _Conflict:
                pass
            except IntegrityError as exc:
                if getattr(exc.orig, "sqlstate", None) != _EXCLUSION_VIOLATION:
                    raise
            if attempt == 2 or not self._release_stale(blocked):
                return False
        return False

    def _undo_move(self, row: Row) -> None:
        with self._db.session(serial=True) as session:
            # Drop the holds first: they cover the old range the booking returns to.
            session.execute(delete(BOOKINGS).where(BOOKINGS.c.hold_of == row.id))
            session.execute(update(BOOKINGS).where(BOOKINGS.c.id == row.id).values(
                start=row.start, end=row.end, blocked_start=row.blocked_start,
                blocked_end=row.blocked_end, updated_at=datetime.now(UTC),
            ))

    def _finish_move(self, booking_id: str, event_id: str, url: str | None) -> None:
        with self._db.session() as session:
            session.execute(delete(BOOKINGS).where(BOOKINGS.c.hold_of == booking_id))
            session.execute(update(BOOKINGS).where(BOOKINGS.c.id == booking_id).values(
                event_id=event_id, online_meeting_url=url, updated_at=datetime.now(UTC)
            ))

    def _confirm(self, booking_id: str, event_id: str, url: str | None) -> None:
        with self._db.session() as session:
            session.execute(update(BOOKINGS).where(BOOKINGS.c.id == booking_id).values(
                status="confirmed", event_id=event_id, online_meeting_url=url,
                updated_at=datetime.now(UTC),
            ))

    def _set_status(self, booking_id: str, status: str, reason: str | None) -> None:
        with self._db.session() as session:
            session.execute(update(BOOKINGS).where(BOOKINGS.c.id == booking_id).values(
                status=status, failure_reason=reason, updated_at=datetime.now(UTC)
            ))


def _already_booked(existing: BookingRecord, slot: Interval) -> Booked | NotAllowed:
    """A call asking again for its own booking gets it; for another time it must move."""
    if existing.slot == slot and existing.status == "confirmed" and existing.event_id:
        return Booked(existing.id, slot, existing.event_id, existing.online_meeting_url)
    if existing.status == "pending":
        return NotAllowed("this call's booking is still being written to the calendar")
    return NotAllowed(
        f"this call already has a meeting at {existing.slot.start.isoformat()};"
        " move that one instead of booking a second"
    )


def _without(busy: Iterable[Interval], own: Interval | None) -> list[Interval]:
    """``busy`` with our own event's time cut out (it must not block its own move)."""
    if own is None:
        return list(busy)
    return [
        piece
        for interval in busy
        for piece in (subtract(interval, own) if interval.overlaps(own) else [interval])
    ]

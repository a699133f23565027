"""The bookings table's side of booking: claims arbitrated by the database, and their life.

Who confirmed first is decided by the database, never by a read in one transaction and
a write in another: on PostgreSQL an exclusion constraint refuses a
second live booking whose blocked range overlaps one on the same calendar (claims use
``INSERT ... ON CONFLICT DO NOTHING``, which waits for a rival's transaction instead of
deadlocking with it); on SQLite the overlap read and the write run in one serialising
transaction (BEGIN IMMEDIATE).

Claims on one calendar that arrive together in this process are settled together (see
:mod:`calendar_backend.batching`): one transaction, on one worker thread, per batch, in
arrival order. Fifty callers racing for a slot thus cost a few transactions, not fifty.

Abandoned claims: a ``pending`` row (or a move's ``held`` row) is only left behind when
the process dies mid-booking. One whose last update is older than :data:`STALE_PENDING`
is released when a new claim runs into it. That is safe even if the dead process did
create the event: every booking re-checks its slot on the calendar first, where that
event shows as busy.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, delete, insert, or_, select, text, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from calendar_backend.batching import Batches, shared_batches
from calendar_backend.interval import Interval, subtract
from storage.booking_tables import LIVE_STATUSES, BookingRow, BookingStatus
from storage.database import Database

log = logging.getLogger(__name__)

BOOKINGS: Table = BookingRow.__table__  # type: ignore[assignment]
# A pending claim older than this belongs to a process that died mid-booking: a calendar
# write (with the adapter's own retries) finishes well within it.
STALE_PENDING = timedelta(minutes=5)
_EXCLUSION_VIOLATION = "23P01"
# Deadlock / serialisation failure: PostgreSQL aborted one side of a race; run it again.
_RETRY = ("40P01", "40001")
_OWN = (BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.FAILED)
# Rows that only claim a range while a write is under way: released once abandoned.
_CLAIMS = (BookingStatus.PENDING, BookingStatus.HELD)
_TEXT = ("id", "calendar_id", "call_id", "campaign", "attendee_email", "attendee_name",
         "subject", "status", "idempotency_key")
_TIMES = ("start", "end", "blocked_start", "blocked_end", "created_at", "updated_at")
_INSERT_COLUMNS = _TEXT + _TIMES
# PostgreSQL claims: one array per column, so the statement text is the same for any
# batch size (parsed and planned once) and a later row conflicting with an earlier one
# is skipped like any other conflict.
_QUOTED_COLUMNS = ", ".join(f'"{column}"' for column in _INSERT_COLUMNS)
_INSERT_MANY = text(
    f"INSERT INTO bookings ({_QUOTED_COLUMNS}) SELECT * FROM unnest("
    + ", ".join(f"CAST(:{c} AS text[])" for c in _TEXT) + ", "
    + ", ".join(f"CAST(:{c} AS timestamptz[])" for c in _TIMES)
    + ") ON CONFLICT DO NOTHING RETURNING id"
)


@dataclass(frozen=True)
class BookingRecord:
    """A booking as stored (read model for the dialogue, the harness and the CLI)."""

    id: str
    call_id: str
    calendar_id: str
    slot: Interval
    status: BookingStatus
    attendee_email: str
    attendee_name: str | None
    subject: str
    event_id: str | None
    online_meeting_url: str | None


def _record(row: Any) -> BookingRecord:
    return BookingRecord(
        id=row.id, call_id=row.call_id, calendar_id=row.calendar_id,
        slot=Interval(row.start, row.end), status=BookingStatus(row.status),
        attendee_email=row.attendee_email, attendee_name=row.attendee_name,
        subject=row.subject, event_id=row.event_id, online_meeting_url=row.online_meeting_url,
    )


def idempotency_key(booking_id: str) -> str:
    """The calendar write key of a booking: stable for as long as the booking id is."""
    return f"booking-{booking_id}"


@dataclass(frozen=True)
class Claim:
    """One call's request to the store about one slot.

    With ``values`` (the pending row to write) it claims the slot; without, it only
    looks. ``reuse`` means ``values["id"]`` is this call's failed booking of the slot,
    brought back so the calendar write keeps its key.
    """

    call_id: str
    start: datetime
    email: str
    blocked: Interval
    horizon: Interval
    values: dict[str, Any] | None = None
    reuse: bool = False


@dataclass(frozen=True)
class ClaimResult:
    """What the database said: claimed, or this call's live booking, or who holds what."""

    claimed: bool = False
    existing: BookingRecord | None = None
    failed_id: str | None = None  # this call's failed booking of the slot, same attendee
    booked: list[Interval] = field(default_factory=list)  # live ranges in the horizon


@dataclass(frozen=True)
class _Live:
    """A row as the settling transaction sees it."""

    record: BookingRecord
    hold_of: str | None
    blocked: Interval
    updated_at: datetime

    @property
    def live(self) -> bool:
        return self.record.status in LIVE_STATUSES

    def owned_by(self, call_id: str) -> bool:
        return self.record.call_id == call_id and self.hold_of is None


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


class BookingStore:
    """The bookings of one calendar in the database."""

    def __init__(self, database: Database, calendar_id: str) -> None:
        self.database = database
        self.calendar_id = calendar_id

    # -- asynchronous entry points -------------------------------------------------------

    async def claim(self, claim: Claim) -> ClaimResult:
        """Settle ``claim`` in the database, together with any claims arriving alongside."""
        batches = shared_batches(
            ("claims", self.database, self.calendar_id), lambda: Batches(self._settle_async)
        )
        result: ClaimResult = await batches.submit(claim)
        return result

    async def _settle_async(self, claims: list[Claim]) -> list[ClaimResult | BaseException]:
        return list(await asyncio.to_thread(self.settle, claims))

    # -- settling claims (runs in a worker thread) ------------------------------------------

    def settle(self, claims: list[Claim]) -> list[ClaimResult]:
        """Settle claims in arrival order in one transaction."""
        for _ in range(3):
            try:
                with self.database.session(serial=True) as session:
                    return self._settle(session, claims)
            except DBAPIError as exc:
                if _sqlstate(exc) not in _RETRY:
                    raise
                log.info("claim batch on %s hit a deadlock; running it again", self.calendar_id)
        raise RuntimeError("claims on one calendar kept deadlocking")

    def _settle(self, session: Session, claims: list[Claim]) -> list[ClaimResult]:
        won: set[str] = set()
        postgres = self.database.dialect == "postgresql"
        if postgres:
            # The constraint decides straight away; rows are read afterwards for the losers.
            fresh = [c.values for c in claims if c.values is not None and not c.reuse]
            won = self._insert(session, fresh)
        rows = self._read(session, claims)
        results = []
        for claim in claims:
            if claim.values is not None and claim.values["id"] in won:
                results.append(ClaimResult(claimed=True))
                continue
            result, rows = self._decide(session, claim, rows, postgres)
            results.append(result)
        return results

    def _decide(
        self, session: Session, claim: Claim, rows: list[_Live], postgres: bool
    ) -> tuple[ClaimResult, list[_Live]]:
        mine = [r for r in rows if r.owned_by(claim.call_id)]
        existing = next((r.record for r in mine if r.live), None)
        failed = [
            r.record.id for r in mine if r.record.status == BookingStatus.FAILED
            and r.record.slot.start == claim.start and r.record.attendee_email == claim.email
        ]
        failed_id = failed[-1] if failed else None
        if existing is not None:
            return ClaimResult(existing=existing, failed_id=failed_id), rows
        if claim.values is None:
            return ClaimResult(failed_id=failed_id, booked=_ranges(rows)), rows
        own_id = claim.values["id"]
        rivals = [r for r in rows if r.live and r.record.id != own_id
                  and r.blocked.overlaps(claim.blocked)]
        cutoff = datetime.now(UTC) - STALE_PENDING
        if rivals and all(r.record.status in _CLAIMS and r.updated_at < cutoff
                          for r in rivals):
            rows = self._release(session, rows, {r.record.id for r in rivals})
            rivals = []
        if rivals or not self._write(session, claim, postgres):
            return ClaimResult(failed_id=failed_id, booked=_ranges(rows)), rows
        rows = [r for r in rows if r.record.id != own_id] + [_pending(claim.values)]
        return ClaimResult(claimed=True), rows

    def _read(self, session: Session, claims: list[Claim]) -> list[_Live]:
        """Live rows in every claim's horizon, and the claiming calls' own bookings."""
        start = min(c.horizon.start for c in claims)
        end = max(c.horizon.end for c in claims)
        calls = sorted({c.call_id for c in claims})
        result = session.execute(select(BOOKINGS).where(
            BOOKINGS.c.calendar_id == self.calendar_id,
            or_(
                and_(*self._overlapping(Interval(start, end))),
                and_(BOOKINGS.c.call_id.in_(calls), BOOKINGS.c.hold_of.is_(None),
                     BOOKINGS.c.status.in_(_OWN)),
            ),
        ).order_by(BOOKINGS.c.created_at))
        return [
            _Live(_record(row), row.hold_of, Interval(row.blocked_start, row.blocked_end),
                  row.updated_at)
            for row in result
        ]

    def _insert(self, session: Session, values: list[dict[str, Any]]) -> set[str]:
        """PostgreSQL: write pending claims in order; the ids the constraints let through."""
        if not values:
            return set()
        now = datetime.now(UTC)
        rows = [{**v, "idempotency_key": idempotency_key(v["id"]), "created_at": now,
                 "updated_at": now} for v in values]
        columns = {name: [row[name] for row in rows] for name in _INSERT_COLUMNS}
        return set(session.execute(_INSERT_MANY, columns).scalars())

    def _write(self, session: Session, claim: Claim, postgres: bool) -> bool:
        """Write one claim the read found free; False if PostgreSQL's constraints refuse."""
        assert claim.values is not None
        if claim.reuse:
            revive = update(BOOKINGS).where(
                BOOKINGS.c.id == claim.values["id"], BOOKINGS.c.status == BookingStatus.FAILED
            ).values(
                status=BookingStatus.PENDING, failure_reason=None, updated_at=datetime.now(UTC)
            )
            if not postgres:
                return bool(session.execute(revive).rowcount)
            try:
                with session.begin_nested():
                    return bool(session.execute(revive).rowcount)
            except DBAPIError as exc:
                if _sqlstate(exc) != _EXCLUSION_VIOLATION:
                    raise
                return False
        if postgres:
            return bool(self._insert(session, [claim.values]))
        now = datetime.now(UTC)
        session.execute(insert(BOOKINGS).values(
            **claim.values, idempotency_key=idempotency_key(claim.values["id"]),
            created_at=now, updated_at=now,
        ))
        return True

    def _release(self, session: Session, rows: list[_Live], ids: set[str]) -> list[_Live]:
        """Fail abandoned claims (see STALE_PENDING)."""
        now = datetime.now(UTC)
        session.execute(update(BOOKINGS).where(BOOKINGS.c.id.in_(sorted(ids))).values(
            status=BookingStatus.FAILED, failure_reason="abandoned", updated_at=now
        ))
        log.warning("released %d abandoned claim(s) on %s", len(ids), self.calendar_id)
        return [
            replace(r, record=replace(r.record, status=BookingStatus.FAILED))
            if r.record.id in ids else r
            for r in rows
        ]

    # -- a booking's later life (worker threads) --------------------------------------------

    def confirm(self, booking_id: str, event_id: str, url: str | None) -> None:
        """The calendar has the event: the booking is confirmed."""
        self._set(
            booking_id, status=BookingStatus.CONFIRMED, event_id=event_id, online_meeting_url=url
        )

    def fail(self, booking_id: str, reason: str) -> None:
        """The calendar write failed: the booking is failed and its slot released."""
        self._set(booking_id, status=BookingStatus.FAILED, failure_reason=reason)

    def cancelled(self, booking_id: str) -> None:
        """The event is cancelled: so is the booking, and its slot is released."""
        self._set(booking_id, status=BookingStatus.CANCELLED)

    def _set(self, booking_id: str, **values: Any) -> None:
        with self.database.session() as session:
            session.execute(update(BOOKINGS).where(BOOKINGS.c.id == booking_id).values(
                **values, updated_at=datetime.now(UTC)
            ))

    def claim_move(self, row: Row, slot: Interval, blocked: Interval) -> bool:
        """Move the booking's claim to ``blocked``, holding its old range; False if taken.

        The same row moves, so it is never arbitrated against itself; the parts of its
        old range the new one does not cover stay claimed by ``held`` rows until the
        calendar has moved the event (:meth:`finish_move` / :meth:`undo_move`).
        """
        for attempt in range(4):
            try:
                with self.database.session(serial=True) as session:
                    if self._move_in(session, row, slot, blocked):
                        return True
            except DBAPIError as exc:
                if _sqlstate(exc) in _RETRY:
                    continue
                if _sqlstate(exc) != _EXCLUSION_VIOLATION:
                    raise
            if attempt or not self._release_stale(blocked):
                return False
        return False

    def _sqlite_rival(self, session: Session, blocked: Interval, own_id: str) -> bool:
        """SQLite, inside its serialising transaction: does another live booking (or hold)
        overlap ``blocked``? PostgreSQL's constraint answers that on the write itself."""
        if self.database.dialect != "sqlite":
            return False
        return session.execute(select(BOOKINGS.c.id).where(
            *self._overlapping(blocked), BOOKINGS.c.id != own_id,
            or_(BOOKINGS.c.hold_of.is_(None), BOOKINGS.c.hold_of != own_id),
        ).limit(1)).first() is not None

    def _move_in(self, session: Session, row: Row, slot: Interval, blocked: Interval) -> bool:
        if self._sqlite_rival(session, blocked, row.id):
            return False
        now = datetime.now(UTC)
        session.execute(update(BOOKINGS).where(BOOKINGS.c.id == row.id).values(
            start=slot.start, end=slot.end, blocked_start=blocked.start,
            blocked_end=blocked.end, updated_at=now,
        ))
        for piece in subtract(Interval(row.blocked_start, row.blocked_end), blocked):
            session.execute(insert(BOOKINGS).values(
                id=str(uuid.uuid4()), calendar_id=row.calendar_id, call_id=row.call_id,
                campaign=row.campaign, attendee_email=row.attendee_email,
                attendee_name=row.attendee_name, subject=row.subject, start=piece.start,
                end=piece.end, blocked_start=piece.start, blocked_end=piece.end,
                status=BookingStatus.HELD, hold_of=row.id, created_at=now, updated_at=now,
            ))
        return True

    def _release_stale(self, blocked: Interval) -> bool:
        """Fail abandoned claims overlapping ``blocked`` (see STALE_PENDING); any found?"""
        cutoff = datetime.now(UTC) - STALE_PENDING
        with self.database.session(serial=True) as session:
            released = session.execute(update(BOOKINGS).where(
                *self._overlapping(blocked), BOOKINGS.c.status.in_(_CLAIMS),
                BOOKINGS.c.updated_at < cutoff,
            ).values(
                status=BookingStatus.FAILED, failure_reason="abandoned",
                updated_at=datetime.now(UTC),
            ))
        return bool(released.rowcount)

    def undo_move(self, row: Row) -> None:
        """The calendar refused the move: back to the old time, which the holds kept."""
        old = Interval(row.blocked_start, row.blocked_end)
        taken = False
        try:
            with self.database.session(serial=True) as session:
                # Drop the holds first: they cover the old range the booking returns to.
                session.execute(delete(BOOKINGS).where(BOOKINGS.c.hold_of == row.id))
                taken = self._sqlite_rival(session, old, row.id)
                if not taken:
                    session.execute(update(BOOKINGS).where(BOOKINGS.c.id == row.id).values(
                        start=row.start, end=row.end, blocked_start=old.start,
                        blocked_end=old.end, updated_at=datetime.now(UTC),
                    ))
        except DBAPIError as exc:
            if _sqlstate(exc) != _EXCLUSION_VIOLATION:
                raise
            taken = True
            with self.database.session() as session:
                session.execute(delete(BOOKINGS).where(BOOKINGS.c.hold_of == row.id))
        if taken:
            # Only when the calendar took longer than STALE_PENDING and the holds were
            # released and taken meanwhile: keep the new time claimed, and say so.
            log.error("booking %s could not return to its old time (taken meanwhile);"
                      " it keeps the new time here while the calendar has the old", row.id)

    def finish_move(self, booking_id: str, event_id: str, url: str | None) -> None:
        """The calendar moved the event: release the old time."""
        with self.database.session() as session:
            session.execute(delete(BOOKINGS).where(BOOKINGS.c.hold_of == booking_id))
            session.execute(update(BOOKINGS).where(BOOKINGS.c.id == booking_id).values(
                event_id=event_id, online_meeting_url=url, updated_at=datetime.now(UTC)
            ))

    # -- reading (worker threads, or directly from the CLI) ---------------------------------

    def row(self, booking_id: str) -> Row | None:
        """The stored row of a booking of this calendar (not a hold), or ``None``."""
        with self.database.session() as session:
            return session.execute(select(BOOKINGS).where(
                BOOKINGS.c.id == booking_id, BOOKINGS.c.calendar_id == self.calendar_id,
                BOOKINGS.c.hold_of.is_(None),
            )).first()

    def records(self, call_id: str | None = None) -> list[BookingRecord]:
        """Bookings on this calendar (of one call, if given), by start time."""
        query = select(BOOKINGS).where(
            BOOKINGS.c.calendar_id == self.calendar_id, BOOKINGS.c.hold_of.is_(None)
        ).order_by(BOOKINGS.c.start, BOOKINGS.c.created_at)
        if call_id is not None:
            query = query.where(BOOKINGS.c.call_id == call_id)
        with self.database.session() as session:
            return [_record(row) for row in session.execute(query)]

    def live_ranges(
        self, span: Interval, excluding: str | None = None
    ) -> tuple[Interval | None, list[Interval]]:
        """The excluded booking's own slot, and the blocked ranges of the other live
        bookings (not its holds) overlapping ``span``."""
        query = select(
            BOOKINGS.c.id, BOOKINGS.c.hold_of, BOOKINGS.c.blocked_start, BOOKINGS.c.blocked_end
        ).where(*self._overlapping(span))
        own = None
        with self.database.session() as session:
            if excluding is not None:
                mine = session.execute(select(BOOKINGS.c.start, BOOKINGS.c.end).where(
                    BOOKINGS.c.id == excluding
                )).first()
                own = Interval(mine.start, mine.end) if mine is not None else None
            rows = session.execute(query).all()
        ranges = [
            Interval(row.blocked_start, row.blocked_end) for row in rows
            if excluding is None or excluding not in (row.id, row.hold_of)
        ]
        return own, ranges

    def _overlapping(self, span: Interval) -> tuple[Any, ...]:
        return (
            BOOKINGS.c.calendar_id == self.calendar_id,
            BOOKINGS.c.status.in_(LIVE_STATUSES),
            BOOKINGS.c.blocked_start < span.end,
            BOOKINGS.c.blocked_end > span.start,
        )


def _pending(values: dict[str, Any]) -> _Live:
    record = BookingRecord(
        id=values["id"], call_id=values["call_id"], calendar_id=values["calendar_id"],
        slot=Interval(values["start"], values["end"]), status=BookingStatus.PENDING,
        attendee_email=values["attendee_email"], attendee_name=values["attendee_name"],
        subject=values["subject"], event_id=None, online_meeting_url=None,
    )
    blocked = Interval(values["blocked_start"], values["blocked_end"])
    return _Live(record, None, blocked, datetime.now(UTC))


def _ranges(rows: list[_Live]) -> list[Interval]:
    return [r.blocked for r in rows if r.live]

"""The booking store in the project's database: the database decides who confirmed first.

A claim is one serialising transaction, never a read in one transaction and a write in
another. On PostgreSQL an exclusion constraint refuses a second live booking whose blocked
range overlaps one on the same calendar, and claims use ``INSERT ... ON CONFLICT DO
NOTHING``, which waits for a rival's transaction instead of failing on it. On SQLite the
overlap check and the insert share one ``BEGIN IMMEDIATE`` transaction.

Asks and claims also come by the list (:meth:`SqlBookingStore.ask_all`,
:meth:`SqlBookingStore.claim_all`): one query, or one transaction settling the claims in
order, however many there are. :mod:`calendar_backend.batching` uses that for calls
racing each other; a single ask or claim is a list of one.

Abandoned claims: a ``pending`` row (or a move's ``held`` row) is only left behind when
the process dies mid-booking. One whose last update is older than
:data:`~calendar_backend.booking_store.WRITE_TIMEOUT` no longer blocks offers, and is
released when a new claim runs into it. That is safe even if the dead process did create
the event: every booking re-checks its slot on the calendar first, where that event shows
as busy. Reconciliation (:mod:`calendar_backend.reconcile`) settles such claims for good
(:meth:`SqlBookingStore.stale_claims`, :meth:`SqlBookingStore.settle`).

Each asynchronous method runs its transaction through :meth:`Database.run` (a worker
thread on PostgreSQL).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

from sqlalchemy import (
    Table,
    Update,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from calendar_backend.booking_store import (
    WRITE_TIMEOUT,
    BookingRecord,
    Claim,
    Question,
    Standing,
    idempotency_key,
)
from calendar_backend.interval import Interval, subtract
from calendar_backend.provider import CreatedEvent
from storage.booking_tables import LIVE_STATUSES, BookingRow, BookingStatus
from storage.database import Database

log = logging.getLogger(__name__)

BOOKINGS: Table = BookingRow.__table__  # type: ignore[assignment]
# PostgreSQL refusing a write: a live booking overlaps (exclusion), or the call already
# has one (unique index).
_REFUSED = ("23P01", "23505")
# Deadlock / serialisation failure: PostgreSQL aborted one side of a race; run it again.
_RETRY = ("40P01", "40001")
_ATTEMPTS = 4
# A call's own bookings, as far as asking about a slot is concerned.
_OWN = (BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.FAILED)
# A call's live booking: at most one per calendar (holds belong to it).
_CALLS_LIVE = (BookingStatus.PENDING, BookingStatus.CONFIRMED)
# Rows that only claim a range while a write is under way: released once abandoned.
_CLAIMS = (BookingStatus.PENDING, BookingStatus.HELD)
_TEXT = ("id", "calendar_id", "call_id", "campaign", "attendee_email", "attendee_name",
         "subject", "status", "idempotency_key", "member")
_TIMES = ("start", "end", "blocked_start", "blocked_end", "created_at", "updated_at")
_INSERT_COLUMNS = _TEXT + _TIMES
# PostgreSQL claims: one array per column, so the statement text is the same for any
# number of claims (parsed and planned once); rows go in in the claims' order, and refused
# ones are skipped, not errors.
_QUOTED_COLUMNS = ", ".join(f'"{column}"' for column in _INSERT_COLUMNS)
_INSERT_ALL = text(
    f"INSERT INTO bookings ({_QUOTED_COLUMNS}) SELECT {_QUOTED_COLUMNS} FROM unnest("
    + ", ".join(f"CAST(:{c} AS text[])" for c in _TEXT) + ", "
    + ", ".join(f"CAST(:{c} AS timestamptz[])" for c in _TIMES)
    + f") WITH ORDINALITY AS claim({_QUOTED_COLUMNS}, turn) ORDER BY turn"
    " ON CONFLICT DO NOTHING RETURNING id"
)
# The statements of the booking path, built once: building one costs more CPU than
# running it, and fifty callers racing run them in step.
_LIVE_OVERLAPPING = and_(
    BOOKINGS.c.status.in_(LIVE_STATUSES), BOOKINGS.c.blocked_start < bindparam("span_end"),
    BOOKINGS.c.blocked_end > bindparam("span_start"),
)
_ASK = select(BOOKINGS).where(
    BOOKINGS.c.calendar_id == bindparam("calendar"),
    or_(_LIVE_OVERLAPPING, and_(
        BOOKINGS.c.call_id.in_(bindparam("calls", expanding=True)),
        BOOKINGS.c.hold_of.is_(None), BOOKINGS.c.status.in_(_OWN),
    )),
).order_by(BOOKINGS.c.created_at)
# SQLite's check before a claim or a move: another live booking (not one of the claimant's
# holds) in the way, or another live booking of the same call.
_RIVAL = select(BOOKINGS.c.id).where(
    BOOKINGS.c.calendar_id == bindparam("calendar"),
    or_(_LIVE_OVERLAPPING, and_(
        BOOKINGS.c.call_id == bindparam("call"), BOOKINGS.c.hold_of.is_(None),
        BOOKINGS.c.status.in_(_CALLS_LIVE),
    )),
    BOOKINGS.c.id != bindparam("own"),
    or_(BOOKINGS.c.hold_of.is_(None), BOOKINGS.c.hold_of != bindparam("own")),
).limit(1)
_LIVE_RANGES = select(
    BOOKINGS.c.id, BOOKINGS.c.hold_of, BOOKINGS.c.blocked_start, BOOKINGS.c.blocked_end,
    BOOKINGS.c.status, BOOKINGS.c.updated_at,
).where(BOOKINGS.c.calendar_id == bindparam("calendar"), _LIVE_OVERLAPPING)
_INSERT_ONE = insert(BOOKINGS)
_RECORDS = select(BOOKINGS).where(
    BOOKINGS.c.calendar_id == bindparam("calendar"), BOOKINGS.c.hold_of.is_(None)
).order_by(BOOKINGS.c.start, BOOKINGS.c.created_at)
_CALLS_RECORDS = _RECORDS.where(BOOKINGS.c.call_id == bindparam("call"))
_SLOT_OF = select(BOOKINGS.c.start, BOOKINGS.c.end).where(BOOKINGS.c.id == bindparam("booking"))
_RELEASE_STALE = update(BOOKINGS).where(
    BOOKINGS.c.calendar_id == bindparam("calendar"), _LIVE_OVERLAPPING,
    BOOKINGS.c.status.in_(_CLAIMS), BOOKINGS.c.updated_at < bindparam("cutoff"),
).values(status=BookingStatus.FAILED, failure_reason="abandoned", updated_at=bindparam("now"))
# Pending claims past their write time-out, oldest first (reconciliation settles them).
_STALE_CLAIMS = select(BOOKINGS).where(
    BOOKINGS.c.calendar_id == bindparam("calendar"),
    BOOKINGS.c.status == BookingStatus.PENDING, BOOKINGS.c.updated_at < bindparam("cutoff"),
).order_by(BOOKINGS.c.updated_at)
# A booking's later life: the bind names stand for the new values (``booking`` is the id).
# Confirming and failing apply only to a booking still pending: reconciliation may have
# settled it (confirming again with the event it found is harmless).
_CONFIRM = update(BOOKINGS).where(
    BOOKINGS.c.id == bindparam("booking"),
    BOOKINGS.c.status.in_((BookingStatus.PENDING, BookingStatus.CONFIRMED)),
).values(
    status=BookingStatus.CONFIRMED, event_id=bindparam("event"),
    online_meeting_url=bindparam("url"), updated_at=bindparam("now"),
)
_FAIL = update(BOOKINGS).where(
    BOOKINGS.c.id == bindparam("booking"), BOOKINGS.c.status == BookingStatus.PENDING,
).values(
    status=BookingStatus.FAILED, failure_reason=bindparam("reason"), updated_at=bindparam("now")
)
_CANCEL = update(BOOKINGS).where(BOOKINGS.c.id == bindparam("booking")).values(
    status=BookingStatus.CANCELLED, updated_at=bindparam("now")
)
_T = TypeVar("_T")


def booking_record(row: Row | BookingRow) -> BookingRecord:
    """The record of a stored booking row."""
    return BookingRecord(
        id=row.id, call_id=row.call_id, calendar_id=row.calendar_id, campaign=row.campaign,
        slot=Interval(row.start, row.end), blocked=Interval(row.blocked_start, row.blocked_end),
        status=BookingStatus(row.status), attendee_email=row.attendee_email,
        attendee_name=row.attendee_name, subject=row.subject, event_id=row.event_id,
        online_meeting_url=row.online_meeting_url, member=row.member,
    )


def _row(claim: Claim, calendar_id: str) -> dict[str, str | datetime | None]:
    now = datetime.now(UTC)
    return {
        "id": claim.id, "calendar_id": calendar_id, "call_id": claim.call_id,
        "campaign": claim.campaign, "attendee_email": claim.attendee_email,
        "attendee_name": claim.attendee_name, "subject": claim.subject,
        "status": BookingStatus.PENDING.value, "idempotency_key": idempotency_key(claim.id),
        "start": claim.slot.start, "end": claim.slot.end,
        "blocked_start": claim.blocked.start, "blocked_end": claim.blocked.end,
        "member": claim.member, "created_at": now, "updated_at": now,
    }


def _blocks_offers(row: Row, fresh_since: datetime) -> bool:
    """Whether a live row keeps its range from offers: a claim whose write time-out has
    passed does not (if its event exists, the calendar shows that as busy)."""
    return row.status == BookingStatus.CONFIRMED or row.updated_at >= fresh_since


def _fresh_since() -> datetime:
    return datetime.now(UTC) - WRITE_TIMEOUT


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


def _in_the_way(claim: Claim, other: Claim) -> bool:
    """Whether one of the two claims winning means the other must lose."""
    return claim.call_id == other.call_id or claim.blocked.overlaps(other.blocked)


def _unless_refused(session: Session, write: Callable[[], bool]) -> bool:
    """``write`` in a savepoint; False if PostgreSQL's constraints refused it (the
    transaction goes on without it)."""
    try:
        with session.begin_nested():
            return write()
    except DBAPIError as exc:
        if _sqlstate(exc) not in _REFUSED:
            raise
        return False


class SqlBookingStore:
    """The bookings of one calendar in the database (a :class:`BookingStore`)."""

    def __init__(self, database: Database, calendar_id: str) -> None:
        self.database = database
        self.calendar_id = calendar_id

    # -- the booking path -------------------------------------------------------------------

    async def ask(self, question: Question) -> Standing:
        """Read where the asking call stands (one query)."""
        [standing] = await self.ask_all([question])
        return standing

    async def ask_all(self, questions: Sequence[Question]) -> list[Standing]:
        """Answer the questions with one query, in order."""
        return await self.database.run(self._ask_all, questions)

    async def claim(self, claim: Claim) -> Standing | None:
        """Hold ``claim.blocked`` as ``pending`` if no live booking overlaps it (``None``);
        else where the call stands (:meth:`BookingStore.claim`)."""
        [lost] = await self.claim_all([claim])
        return lost

    async def claim_all(self, claims: Sequence[Claim]) -> list[Standing | None]:
        """Settle the claims in order in one transaction: ``None`` for each that won, the
        standing of each that lost, read in that transaction."""
        return await self.database.run(self._serially, lambda s: self._settle(s, claims))

    async def confirm(self, booking_id: str, event_id: str, url: str | None) -> bool:
        """The calendar has the event: the booking is confirmed. False if it is no longer
        pending (reconciliation released it meanwhile)."""
        return await self.database.run(
            self._update, _CONFIRM, {"booking": booking_id, "event": event_id, "url": url}
        )

    async def fail(self, booking_id: str, reason: str) -> None:
        """The calendar write failed: the pending booking is failed and its slot released."""
        await self.database.run(self._update, _FAIL, {"booking": booking_id, "reason": reason})

    async def cancel(self, booking_id: str) -> None:
        """The event is cancelled: so is the booking, and its slot is released."""
        await self.database.run(self._update, _CANCEL, {"booking": booking_id})

    async def booking(self, booking_id: str) -> BookingRecord | None:
        """A booking of this calendar (not a hold) by id, or ``None``."""
        return await self.database.run(self._booking, booking_id)

    async def claim_move(self, booking: BookingRecord, slot: Interval, blocked: Interval) -> bool:
        """Move the booking's claim to ``blocked``, holding its old range; False if taken.

        The same row moves, so it is never arbitrated against itself; the parts of its
        old range the new one does not cover stay claimed by ``held`` rows until the
        calendar has moved the event (:meth:`finish_move` / :meth:`undo_move`).
        """
        return await self.database.run(
            self._serially, lambda session: self._move(session, booking, slot, blocked)
        )

    async def finish_move(self, booking_id: str, event_id: str, url: str | None) -> None:
        """The calendar moved the event: release the old time."""
        await self.database.run(self._finish_move, booking_id, event_id, url)

    async def undo_move(self, booking: BookingRecord) -> None:
        """The calendar refused the move: back to the old time, which the holds kept."""
        await self.database.run(self._undo_move, booking)

    async def live_ranges(
        self, span: Interval, excluding: str | None = None
    ) -> tuple[Interval | None, list[Interval]]:
        """The excluded booking's own slot, and the blocked ranges of the other live
        bookings (not its holds) overlapping ``span``."""
        return await self.database.run(self._live_ranges, span, excluding)

    # -- reconciliation -----------------------------------------------------------------------

    async def stale_claims(self, now: datetime) -> list[BookingRecord]:
        """Pending bookings whose write time-out had passed at ``now``, oldest first."""
        return await self.database.run(self._stale_claims, now - WRITE_TIMEOUT)

    async def settle(self, booking_id: str, event: CreatedEvent | None, now: datetime) -> bool:
        """Settle a stale pending booking: confirmed with ``event`` if the calendar has it,
        else failed (its slot released). False if it was no longer a stale pending claim
        (its own process finished it, or another reconciler got there first)."""
        return await self.database.run(self._settle_stale, booking_id, event, now)

    # -- reading (directly from the CLI, or through Database.run) -----------------------

    def records(self, call_id: str | None = None) -> list[BookingRecord]:
        """Bookings on this calendar (of one call, if given), by start time."""
        query, parameters = (_RECORDS, {"calendar": self.calendar_id}) if call_id is None else (
            _CALLS_RECORDS, {"calendar": self.calendar_id, "call": call_id})
        with self.database.session() as session:
            return [booking_record(row) for row in session.execute(query, parameters)]

    def _ask_all(self, questions: Sequence[Question]) -> list[Standing]:
        with self.database.session() as session:
            return self._standings(session, questions)

    def _standings(self, session: Session, questions: Sequence[Question]) -> list[Standing]:
        # The live bookings in every question's span, and the asking calls' own bookings.
        if not questions:
            return []
        parameters = {
            "calendar": self.calendar_id, "calls": sorted({q.call_id for q in questions}),
            "span_start": min(q.span.start for q in questions),
            "span_end": max(q.span.end for q in questions),
        }
        fresh_since = _fresh_since()
        rows = [(booking_record(row), row.hold_of, _blocks_offers(row, fresh_since))
                for row in session.execute(_ASK, parameters)]
        return [
            Standing.of(
                question,
                [r for r, hold_of, _ in rows
                 if r.call_id == question.call_id and hold_of is None],
                [r.blocked for r, _, blocks in rows
                 if r.live and blocks and r.blocked.overlaps(question.span)],
            )
            for question in questions
        ]

    def _booking(self, booking_id: str) -> BookingRecord | None:
        with self.database.session() as session:
            row = session.execute(select(BOOKINGS).where(
                BOOKINGS.c.id == booking_id, BOOKINGS.c.calendar_id == self.calendar_id,
                BOOKINGS.c.hold_of.is_(None),
            )).first()
        return booking_record(row) if row is not None else None

    def _live_ranges(
        self, span: Interval, excluding: str | None
    ) -> tuple[Interval | None, list[Interval]]:
        own = None
        with self.database.session() as session:
            if excluding is not None:
                mine = session.execute(_SLOT_OF, {"booking": excluding}).first()
                own = Interval(mine.start, mine.end) if mine is not None else None
            rows = session.execute(_LIVE_RANGES, {
                "calendar": self.calendar_id, "span_start": span.start, "span_end": span.end
            }).all()
        fresh_since = _fresh_since()
        ranges = [
            Interval(row.blocked_start, row.blocked_end) for row in rows
            if (excluding is None or excluding not in (row.id, row.hold_of))
            and _blocks_offers(row, fresh_since)
        ]
        return own, ranges

    def _stale_claims(self, cutoff: datetime) -> list[BookingRecord]:
        with self.database.session() as session:
            rows = session.execute(_STALE_CLAIMS, {"calendar": self.calendar_id,
                                                   "cutoff": cutoff}).all()
        return [booking_record(row) for row in rows]

    # -- writing (through Database.run) ------------------------------------------------------

    def _serially(self, work: Callable[[Session], _T]) -> _T:
        """``work`` in one serialising transaction, run again if PostgreSQL aborted it as a
        deadlock (transactions writing several rows can wait on each other)."""
        for _ in range(_ATTEMPTS):
            try:
                with self.database.session(serial=True) as session:
                    return work(session)
            except DBAPIError as exc:
                if _sqlstate(exc) not in _RETRY:
                    raise
                log.info("writes on %s hit a deadlock; running them again", self.calendar_id)
        raise RuntimeError(f"writes on {self.calendar_id} kept deadlocking")

    def _settle(self, session: Session, claims: Sequence[Claim]) -> list[Standing | None]:
        won, refused = self._in_turn(session, claims)
        # Claims the database refused only for abandoned ones get a second go once those
        # are released (the claims won meanwhile are in the database now, in their way).
        if refused and self._release_stale(session, [c.blocked for c in refused]):
            won |= self._in_turn(session, [c for c in claims if c.id not in won])[0]
        lost = [c for c in claims if c.id not in won]
        answers = dict(zip((c.id for c in lost),
                           self._standings(session, [c.question for c in lost]), strict=True))
        return [answers.get(c.id) for c in claims]

    def _in_turn(self, session: Session, claims: Sequence[Claim]) -> tuple[set[str], list[Claim]]:
        """Settle the claims as if one at a time, in order: the ids that won, and the claims
        the database refused. A claim in the way of one that won before it (overlapping it,
        or of the same call) loses without the database being asked."""
        if self.database.dialect == "sqlite":
            # Inside BEGIN IMMEDIATE: each claim is checked, then written.
            winners: list[Claim] = []
            refused: list[Claim] = []
            for claim in claims:
                if any(_in_the_way(claim, winner) for winner in winners):
                    continue
                if (self._sqlite_rival(session, claim.id, claim.call_id, claim.blocked)
                        or not self._write_one(session, claim)):
                    refused.append(claim)
                else:
                    winners.append(claim)
            return {c.id for c in winners}, refused
        # Claims in the way of no earlier one go first: what the database says to them is
        # final, and when fifty race for one slot it is one row, not fifty. The others not in
        # the way of a winner follow, in order, in one statement.
        first: list[Claim] = []
        calls: set[str] = set()
        ranges: set[Interval] = set()  # racing claims share a few ranges: compare with those
        for claim in claims:
            if claim.call_id not in calls and not any(claim.blocked.overlaps(r) for r in ranges):
                first.append(claim)
            calls.add(claim.call_id)
            ranges.add(claim.blocked)
        won = self._write_claims(session, first)
        winners = [c for c in first if c.id in won]
        sent = {c.id for c in first}
        rest = [c for c in claims if c.id not in sent
                and not any(_in_the_way(c, winner) for winner in winners)]
        if rest:
            won |= self._write_claims(session, rest)
        return won, [c for c in [*first, *rest] if c.id not in won]

    def _write_claims(self, session: Session, claims: Sequence[Claim]) -> set[str]:
        """PostgreSQL: write the claims (new ones in order, then revived ones); the ids its
        constraints let through. A refused row is skipped, including one in the way of an
        earlier row of the same statement."""
        won = self._insert_all(session, [c for c in claims if not c.revive])
        for claim in claims:
            if claim.revive and _unless_refused(session, partial(self._revive, session, claim)):
                won.add(claim.id)
        return won

    def _write_one(self, session: Session, claim: Claim) -> bool:
        """SQLite: write one claim that its check found free."""
        if claim.revive:
            return self._revive(session, claim)
        session.execute(_INSERT_ONE, _row(claim, self.calendar_id))
        return True

    def _insert_all(self, session: Session, claims: Sequence[Claim]) -> set[str]:
        """PostgreSQL: insert the claims as one statement; the ids not refused."""
        if not claims:
            return set()
        rows = [_row(claim, self.calendar_id) for claim in claims]
        columns = {name: [row[name] for row in rows] for name in _INSERT_COLUMNS}
        return set(session.execute(_INSERT_ALL, columns).scalars())

    def _revive(self, session: Session, claim: Claim) -> bool:
        # The revived row keeps its id, so the calendar write keeps its key.
        return bool(session.execute(update(BOOKINGS).where(
            BOOKINGS.c.id == claim.id, BOOKINGS.c.status == BookingStatus.FAILED
        ).values(
            status=BookingStatus.PENDING, failure_reason=None, updated_at=datetime.now(UTC)
        )).rowcount)

    def _move(
        self, session: Session, booking: BookingRecord, slot: Interval, blocked: Interval
    ) -> bool:
        if _unless_refused(session, lambda: self._move_to(session, booking, slot, blocked)):
            return True
        # Refused only by abandoned claims: a second go once they are released.
        return self._release_stale(session, [blocked]) and _unless_refused(
            session, lambda: self._move_to(session, booking, slot, blocked)
        )

    def _move_to(
        self, session: Session, booking: BookingRecord, slot: Interval, blocked: Interval
    ) -> bool:
        if self._sqlite_rival(session, booking.id, booking.call_id, blocked):
            return False
        now = datetime.now(UTC)
        session.execute(update(BOOKINGS).where(BOOKINGS.c.id == booking.id).values(
            start=slot.start, end=slot.end, blocked_start=blocked.start,
            blocked_end=blocked.end, updated_at=now,
        ))
        for piece in subtract(booking.blocked, blocked):
            session.execute(insert(BOOKINGS).values(
                id=str(uuid.uuid4()), calendar_id=self.calendar_id, call_id=booking.call_id,
                campaign=booking.campaign, attendee_email=booking.attendee_email,
                attendee_name=booking.attendee_name, subject=booking.subject,
                start=piece.start, end=piece.end, blocked_start=piece.start,
                blocked_end=piece.end, status=BookingStatus.HELD, hold_of=booking.id,
                member=booking.member,
                created_at=now, updated_at=now,
            ))
        return True

    def _sqlite_rival(
        self, session: Session, own_id: str, call_id: str, blocked: Interval
    ) -> bool:
        """SQLite, inside its serialising transaction: does another live booking (not one of
        ``own_id``'s holds) overlap ``blocked``, or does the call have another live booking?
        PostgreSQL's constraints answer that on the write itself."""
        if self.database.dialect != "sqlite":
            return False
        return session.execute(_RIVAL, {
            "calendar": self.calendar_id, "call": call_id, "own": own_id,
            "span_start": blocked.start, "span_end": blocked.end,
        }).first() is not None

    def _release_stale(self, session: Session, ranges: Sequence[Interval]) -> bool:
        """Fail abandoned claims (older than WRITE_TIMEOUT) overlapping ``ranges``; any found?"""
        now = datetime.now(UTC)
        released = session.execute(_RELEASE_STALE, {
            "calendar": self.calendar_id, "span_start": min(r.start for r in ranges),
            "span_end": max(r.end for r in ranges), "cutoff": now - WRITE_TIMEOUT, "now": now,
        })
        if released.rowcount:
            log.warning("released %d abandoned claim(s) on %s", released.rowcount,
                        self.calendar_id)
        return bool(released.rowcount)

    def _update(self, statement: Update, values: dict[str, str | None]) -> bool:
        with self.database.session() as session:
            return bool(session.execute(statement, {**values, "now": datetime.now(UTC)}).rowcount)

    def _settle_stale(self, booking_id: str, event: CreatedEvent | None, now: datetime) -> bool:
        # One conditional UPDATE: it applies only while the claim is still pending and stale.
        still_stale = update(BOOKINGS).where(
            BOOKINGS.c.id == booking_id, BOOKINGS.c.calendar_id == self.calendar_id,
            BOOKINGS.c.status == BookingStatus.PENDING,
            BOOKINGS.c.updated_at < now - WRITE_TIMEOUT,
        )
        if event is not None:
            settled = still_stale.values(
                status=BookingStatus.CONFIRMED, event_id=event.event_id,
                online_meeting_url=event.online_meeting_url, updated_at=datetime.now(UTC))
        else:
            settled = still_stale.values(
                status=BookingStatus.FAILED, updated_at=datetime.now(UTC),
                failure_reason="abandoned mid-booking; no event on the calendar")
        with self.database.session() as session:
            return bool(session.execute(settled).rowcount)

    def _finish_move(self, booking_id: str, event_id: str, url: str | None) -> None:
        with self.database.session() as session:
            session.execute(delete(BOOKINGS).where(BOOKINGS.c.hold_of == booking_id))
            session.execute(update(BOOKINGS).where(BOOKINGS.c.id == booking_id).values(
                event_id=event_id, online_meeting_url=url, updated_at=datetime.now(UTC)
            ))

    def _undo_move(self, booking: BookingRecord) -> None:
        old = booking.blocked
        taken = False
        try:
            with self.database.session(serial=True) as session:
                # Drop the holds first: they cover the old range the booking returns to.
                session.execute(delete(BOOKINGS).where(BOOKINGS.c.hold_of == booking.id))
                taken = self._sqlite_rival(session, booking.id, booking.call_id, old)
                if not taken:
                    session.execute(update(BOOKINGS).where(BOOKINGS.c.id == booking.id).values(
                        start=booking.slot.start, end=booking.slot.end,
                        blocked_start=old.start, blocked_end=old.end,
                        updated_at=datetime.now(UTC),
                    ))
        except DBAPIError as exc:
            if _sqlstate(exc) not in _REFUSED:
                raise
            taken = True
            with self.database.session() as session:
                session.execute(delete(BOOKINGS).where(BOOKINGS.c.hold_of == booking.id))
        if taken:
            # Only when the calendar took longer than WRITE_TIMEOUT and the holds were
            # released and taken meanwhile: keep the new time claimed, and say so.
            log.error("booking %s could not return to its old time (taken meanwhile);"
                      " it keeps the new time here while the calendar has the old", booking.id)


def calendars_with_stale_claims(database: Database, now: datetime) -> list[str]:
    """The calendars holding pending bookings whose write time-out had passed at ``now``."""
    with database.session() as session:
        return list(session.scalars(select(BOOKINGS.c.calendar_id).where(
            BOOKINGS.c.status == BookingStatus.PENDING,
            BOOKINGS.c.updated_at < now - WRITE_TIMEOUT,
        ).distinct().order_by(BOOKINGS.c.calendar_id)))


# Statuses counting as "booked" for a pool's rotation: a member whose meeting was later
# cancelled was still booked then; a failed claim never was.
_BOOKED = (BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.CANCELLED)


@dataclass(frozen=True)
class PoolStanding:
    """Where a call stands on a pool, read before choosing a member (nothing is held).

    ``existing``: the call's live booking on any member's calendar; ``last_booked``: when
    each member was last booked in the campaign (members never booked are absent);
    ``taken``: the member calendars on which a live booking blocks the asked-about range.
    """

    existing: BookingRecord | None
    last_booked: dict[str, datetime]
    taken: set[str]


@dataclass(frozen=True)
class PoolQuestion:
    """One call asking a pool about the blocked range of one slot."""

    call_id: str
    blocked: Interval


def pool_standings(
    database: Database, campaign: str, members: dict[str, str],
    questions: Sequence[PoolQuestion],
) -> list[PoolStanding]:
    """For calls on a campaign booking on a pool (``members``: member name -> its calendar
    id), each asking about a range: see :class:`PoolStanding`. One session, three reads
    however many questions (calls racing on one pool ask together)."""
    if not questions:
        return []
    calendars = sorted(set(members.values()))
    fresh_since = _fresh_since()
    with database.session() as session:
        in_the_way = session.execute(
            select(BOOKINGS.c.calendar_id, BOOKINGS.c.status, BOOKINGS.c.updated_at,
                   BOOKINGS.c.blocked_start, BOOKINGS.c.blocked_end).where(
                BOOKINGS.c.calendar_id.in_(calendars), _LIVE_OVERLAPPING),
            {"span_start": min(q.blocked.start for q in questions),
             "span_end": max(q.blocked.end for q in questions)}).all()
        live = session.execute(select(BOOKINGS).where(
            BOOKINGS.c.calendar_id.in_(calendars),
            BOOKINGS.c.call_id.in_(sorted({q.call_id for q in questions})),
            BOOKINGS.c.hold_of.is_(None), BOOKINGS.c.status.in_(_CALLS_LIVE),
        ).order_by(BOOKINGS.c.created_at)).all()
        # Scoped to the members' calendars too: another organisation's campaign of the same
        # name never counts.
        latest = session.execute(select(
            BOOKINGS.c.member, func.max(BOOKINGS.c.created_at),
        ).where(
            BOOKINGS.c.campaign == campaign, BOOKINGS.c.member.in_(sorted(members)),
            BOOKINGS.c.calendar_id.in_(calendars), BOOKINGS.c.hold_of.is_(None),
            BOOKINGS.c.status.in_(_BOOKED),
        ).group_by(BOOKINGS.c.member)).all()
    last_booked = {member: at for member, at in latest}
    existing: dict[str, BookingRecord] = {}
    for row in live:
        existing.setdefault(row.call_id, booking_record(row))
    blocking = [(row.calendar_id, Interval(row.blocked_start, row.blocked_end))
                for row in in_the_way if _blocks_offers(row, fresh_since)]
    return [PoolStanding(
        existing=existing.get(q.call_id), last_booked=last_booked,
        taken={calendar for calendar, blocked in blocking if blocked.overlaps(q.blocked)},
    ) for q in questions]

"""The embedded local calendar: a CalendarProvider kept in this project's own database.

It needs no account and no network, so the agent books out of the box; operators seed
existing commitments with :meth:`LocalCalendar.add_busy`. Video meetings booked here
carry no join link (there is no meeting service behind it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row

from calendar_backend.interval import Interval
from calendar_backend.provider import Attendee, BusyTime, CreatedEvent, EventNotFound, NewEvent
from storage.booking_tables import BLOCKING_SHOW_AS, SHOW_AS, LocalEventRow
from storage.database import Database

EVENTS: Table = LocalEventRow.__table__  # type: ignore[assignment]
# The statements a booking runs, built once (values come as parameters): building one with
# its values inlined costs more than running it.
_BUSY = select(EVENTS.c.start, EVENTS.c.end, EVENTS.c.show_as).where(
    EVENTS.c.calendar_id == bindparam("calendar"), EVENTS.c.cancelled.is_(False),
    EVENTS.c.show_as.in_(BLOCKING_SHOW_AS), EVENTS.c.start < bindparam("span_end"),
    EVENTS.c.end > bindparam("span_start"),
).order_by(EVENTS.c.start)
# The unique (calendar_id, idempotency_key) constraint decides: a repeated key inserts
# nothing, and the event stored the first time is returned.
_CREATE = {
    dialect: insert(EVENTS).on_conflict_do_nothing(
        index_elements=["calendar_id", "idempotency_key"])
    for dialect, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}
_KEYED = select(EVENTS.c.id).where(
    EVENTS.c.calendar_id == bindparam("calendar"), EVENTS.c.idempotency_key == bindparam("key")
)


@dataclass(frozen=True)
class LocalEvent:
    """One event on the local calendar, as the harness and the CLI list it."""

    id: str
    subject: str
    body: str
    start: datetime
    end: datetime
    attendees: list[Attendee]
    location: str | None
    show_as: str
    cancelled: bool
    cancel_message: str | None

    @property
    def status(self) -> str:
        """``"cancelled"`` or ``"scheduled"``."""
        return "cancelled" if self.cancelled else "scheduled"


def _event(row: Row) -> LocalEvent:
    return LocalEvent(
        id=row.id,
        subject=row.subject,
        body=row.body,
        start=row.start,
        end=row.end,
        attendees=[Attendee.model_validate(a) for a in row.attendees],
        location=row.location,
        show_as=row.show_as,
        cancelled=row.cancelled,
        cancel_message=row.cancel_message,
    )


class LocalCalendar:
    """A calendar stored in the project's database, implementing ``CalendarProvider``.

    ``calendar_id`` separates several local calendars in one database; ``zone`` is the
    owner's IANA zone it reports (``None``: the campaign's availability zone must say).
    """

    def __init__(self, database: Database, calendar_id: str = "local", zone: str | None = None):
        self.database = database
        self.calendar_id = calendar_id
        self.zone = zone

    # -- CalendarProvider ---------------------------------------------------------------

    async def busy_times(self, start: datetime, end: datetime) -> list[BusyTime]:
        """Busy, tentative and out-of-office events overlapping ``[start, end)``."""
        span = Interval(start, end)
        return await self.database.run(self._busy_times, span)

    async def create_event(self, event: NewEvent) -> CreatedEvent:
        """Create the event; the same ``idempotency_key`` returns the event made the first time."""
        return await self.database.run(self._create, event)

    async def find_event(
        self, idempotency_key: str, start: datetime, end: datetime
    ) -> CreatedEvent | None:
        """The live event created with ``idempotency_key`` (the key alone finds it here)."""
        return await self.database.run(self._find, idempotency_key)

    async def move_event(self, event_id: str, start: datetime, end: datetime) -> CreatedEvent:
        """Move one of this calendar's live events to ``[start, end)``."""
        span = Interval(start, end)
        return await self.database.run(self._move, event_id, span)

    async def cancel_event(self, event_id: str, message: str) -> None:
        """Mark the event cancelled, keeping ``message`` (cancelling twice is harmless)."""
        await self.database.run(self._cancel, event_id, message)

    async def time_zone(self) -> str | None:
        """The owner's zone as configured, or ``None``."""
        return self.zone

    async def can_add_online_meeting(self) -> bool:
        """Never: the local calendar has no meeting service to make a join link."""
        return False

    # -- seeding and listing --------------------------------------------------------------

    def add_busy(
        self, start: datetime, end: datetime, show_as: str = "busy", subject: str = "Busy"
    ) -> str:
        """Put an existing commitment on the calendar; returns its event id."""
        if show_as not in SHOW_AS:
            raise ValueError(f"show_as must be one of {', '.join(SHOW_AS)}, got {show_as!r}")
        span = Interval(start, end)
        event_id = str(uuid.uuid4())
        with self.database.session() as session:
            session.execute(
                EVENTS.insert().values(
                    self._new_row(event_id, None, subject, "", span, [], None, show_as)
                )
            )
        return event_id

    def events(
        self, start: datetime | None = None, end: datetime | None = None,
        *, include_cancelled: bool = True,
    ) -> list[LocalEvent]:
        """Events overlapping ``[start, end)`` (unbounded when omitted), by start time."""
        query = select(EVENTS).where(EVENTS.c.calendar_id == self.calendar_id)
        if start is not None:
            query = query.where(EVENTS.c.end > start)
        if end is not None:
            query = query.where(EVENTS.c.start < end)
        if not include_cancelled:
            query = query.where(EVENTS.c.cancelled.is_(False))
        with self.database.session() as session:
            rows = session.execute(query.order_by(EVENTS.c.start, EVENTS.c.id)).all()
        return [_event(row) for row in rows]

    # -- database work (through Database.run: a worker thread on PostgreSQL) --------------

    def _new_row(
        self, event_id: str, key: str | None, subject: str, body: str, span: Interval,
        attendees: list[Attendee], location: str | None, show_as: str,
    ) -> dict[str, object]:
        now = datetime.now(UTC)
        return {
            "id": event_id, "calendar_id": self.calendar_id, "idempotency_key": key,
            "subject": subject, "body": body, "start": span.start, "end": span.end,
            "attendees": [a.model_dump() for a in attendees], "location": location,
            "show_as": show_as, "cancelled": False, "cancel_message": None,
            "created_at": now, "updated_at": now,
        }

    def _busy_times(self, span: Interval) -> list[BusyTime]:
        with self.database.session() as session:
            rows = session.execute(_BUSY, {
                "calendar": self.calendar_id, "span_start": span.start, "span_end": span.end,
            }).all()
        return [BusyTime(start=r.start, end=r.end, show_as=r.show_as) for r in rows]

    def _create(self, event: NewEvent) -> CreatedEvent:
        values = self._new_row(
            str(uuid.uuid4()), event.idempotency_key, event.subject, event.body,
            Interval(event.start, event.end), event.attendees, event.location, "busy",
        )
        with self.database.session() as session:
            session.execute(_CREATE[self.database.dialect], values)
            event_id = session.execute(
                _KEYED, {"calendar": self.calendar_id, "key": event.idempotency_key}
            ).scalar_one()
        return CreatedEvent(event_id=event_id, online_meeting_url=None)

    def _find(self, idempotency_key: str) -> CreatedEvent | None:
        with self.database.session() as session:
            event_id = session.execute(select(EVENTS.c.id).where(
                EVENTS.c.calendar_id == self.calendar_id,
                EVENTS.c.idempotency_key == idempotency_key, EVENTS.c.cancelled.is_(False),
            )).scalar()
        return CreatedEvent(event_id=event_id) if event_id is not None else None

    def _move(self, event_id: str, span: Interval) -> CreatedEvent:
        with self.database.session() as session:
            moved = session.execute(
                update(EVENTS)
                .where(
                    EVENTS.c.id == event_id,
                    EVENTS.c.calendar_id == self.calendar_id,
                    EVENTS.c.cancelled.is_(False),
                )
                .values(start=span.start, end=span.end, updated_at=datetime.now(UTC))
            ).rowcount
        if not moved:
            raise EventNotFound(f"no live event {event_id!r} on local calendar")
        return CreatedEvent(event_id=event_id, online_meeting_url=None)

    def _cancel(self, event_id: str, message: str) -> None:
        # Read then write: serial, so SQLite takes its write lock before the read.
        with self.database.session(serial=True) as session:
            found = session.execute(
                select(EVENTS.c.cancelled).where(
                    EVENTS.c.id == event_id, EVENTS.c.calendar_id == self.calendar_id
                )
            ).first()
            if found is None:
                raise EventNotFound(f"no event {event_id!r} on local calendar")
            if not found.cancelled:
                session.execute(
                    update(EVENTS)
                    .where(EVENTS.c.id == event_id)
                    .values(cancelled=True, cancel_message=message,
                            updated_at=datetime.now(UTC))
                )

"""What the Outlook and Google syncs share: the synced copy of a booking calendar's events
(written a round at a time, read by calls while fresh), the bookings following a round, and
where a sync stands.

A provider's sync module keeps only its protocol (Graph delta rounds, Google sync tokens):
it reads each item of a round into a :class:`SeenEvent` and hands the round to
:func:`apply_round`, inside :meth:`SyncedCopy.run`; its :class:`SyncedCopy` holds its two
tables.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from calendar_backend import owner_changes
from calendar_backend.interval import Interval
from calendar_backend.owner_changes import SyncResult
from calendar_backend.provider import BusyTime, CalendarUnavailable, SyncedBusy
from storage.database import Database
from storage.google_sync_tables import GoogleSyncedEventRow, GoogleSyncStateRow
from storage.outlook_sync_tables import OutlookSyncedEventRow, OutlookSyncStateRow

_CHUNK = 500

EventRowT = TypeVar("EventRowT", OutlookSyncedEventRow, GoogleSyncedEventRow)
StateRowT = TypeVar("StateRowT", OutlookSyncStateRow, GoogleSyncStateRow)


class SyncedConnection(Protocol):
    """A provider's connection, as a sync sees it."""

    @property
    def id(self) -> str: ...

    @property
    def ref(self) -> str: ...

    @property
    def calendar_id(self) -> str: ...

    @property
    def usable(self) -> bool: ...


@dataclass(frozen=True)
class SeenEvent:
    """One item of a round (or of a look-up), read the same way for any provider."""

    id: str
    gone: bool = False  # reported deleted (or, for Outlook, out of the window)
    times: Interval | None = None  # None: its times cannot be read
    cancelled: bool = False  # still on the calendar, but cancelled
    attendees: list[dict[str, str]] = field(default_factory=list)
    # The provider's own columns of the synced copy (subject, show_as, join_url, ...).
    columns: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SyncedEvent:
    """An event of the booking calendar as the last sync saw it."""

    event_id: str
    subject: str
    start: datetime
    end: datetime
    show_as: str
    is_all_day: bool
    is_cancelled: bool  # Google's copy keeps no cancelled events
    join_url: str | None
    attendees: list[dict[str, str]]


@dataclass(frozen=True)
class SyncStatus:
    """Where a connection's sync stands (``None`` fields: never happened)."""

    synced_at: datetime | None
    full_synced_at: datetime | None
    last_error: str | None
    notifications_expire_at: datetime | None  # the subscription's or the channel's


@dataclass(frozen=True)
class Round:
    """One round as the provider read it: its items in order, whether it was a full one (the
    synced events it does not list are gone), and the window it covers (``end`` None: open)."""

    items: Sequence[SeenEvent]
    full: bool
    start: datetime
    end: datetime | None = None


@dataclass(frozen=True)
class Following:
    """How a provider's round reads to bookings: whether an event the round reports gone is
    surely deleted (Google) or may only have left the window (Outlook, looked up first),
    and the note a cancelled booking gets."""

    gone_is_deleted: bool
    deleted: str
    cancelled: str


# Finds an event the round did not list: ``None`` when it no longer exists.
LookUp = Callable[[str], Awaitable[SeenEvent | None]]

# One sync per connection at a time (per event loop: asyncio locks belong to one).
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = \
    weakref.WeakKeyDictionary()


def _sync_lock(connection_id: str) -> asyncio.Lock:
    per_loop = _locks.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault(connection_id, asyncio.Lock())


class SyncedCopy(Generic[EventRowT, StateRowT]):
    """A provider's synced copy (its events table and its sync-state table): the syncs that
    write it, one at a time, and what it holds."""

    def __init__(self, events: type[EventRowT], states: type[StateRowT],
                 find_connection: Callable[[Database, str], SyncedConnection],
                 notified_until: Callable[[StateRowT], datetime | None]) -> None:
        """``notified_until`` reads from a state when its notifications (subscription,
        channel) stop."""
        self.events, self.states = events, states
        self._find_connection = find_connection
        self._notified_until = notified_until

    async def run(self, database: Database, connection: SyncedConnection,
                  sync: Callable[[], Awaitable[SyncResult]]) -> SyncResult:
        """Run ``sync`` for the connection: refused while it needs reconnecting, one at a
        time, and a failure (:class:`CalendarUnavailable`) recorded before it is raised (the
        next sync retries)."""
        if not connection.usable:
            raise CalendarUnavailable(f"{connection.ref} needs reconnecting before it can sync",
                                      needs_reconnect=True)
        async with _sync_lock(connection.id):
            try:
                return await sync()
            except CalendarUnavailable as exc:
                await database.run(self.save_error, database, connection.id, exc.reason)
                raise

    def state(self, database: Database, connection_id: str) -> StateRowT | None:
        """The connection's sync state, if it was ever synced."""
        with database.session() as session:
            return session.get(self.states, connection_id)

    def store(self, database: Database, connection_id: str, present: dict[str, SeenEvent],
              gone: set[str], full: bool) -> tuple[dict[str, list[dict[str, str]]], set[str]]:
        """Write the round into the synced copy; returns the attendees the copy had for the
        touched events (to tell a new decline from an old one) and every event gone from it
        (in a full round, also those the round did not list)."""
        rows = self.events
        now = datetime.now(UTC)
        removed = set(gone)
        with database.session(serial=True) as session:
            if full:
                known = set(session.scalars(select(rows.event_id).where(
                    rows.connection_id == connection_id)))
                removed |= known - set(present)
            previous: dict[str, list[dict[str, str]]] = {}
            for chunk in _chunks(set(present) | removed):
                for row in session.execute(select(rows.event_id, rows.attendees).where(
                        rows.connection_id == connection_id, rows.event_id.in_(chunk))):
                    previous[row.event_id] = list(row.attendees or [])
                session.execute(delete(rows).where(rows.connection_id == connection_id,
                                                   rows.event_id.in_(chunk)))
            session.add_all([
                rows(connection_id=connection_id, event_id=event.id, start=event.times.start,
                     end=event.times.end, attendees=event.attendees, synced_at=now,
                     **event.columns)
                for event in present.values() if event.times is not None])
        return previous, removed

    def copy_ids(self, database: Database, connection_id: str) -> set[str]:
        """The ids of the events the copy holds."""
        with database.session() as session:
            return set(session.scalars(select(self.events.event_id).where(
                self.events.connection_id == connection_id)))

    def save_state(self, database: Database, connection: SyncedConnection, window_start: datetime,
                   full: bool, position: Callable[[StateRowT], None]) -> int:
        """Store where the sync stands (``position`` writes the provider's own: its delta
        link or sync token); returns how many events the synced copy holds."""
        now = datetime.now(UTC)
        with database.session() as session:
            state = self._state_row(session, connection.id)
            position(state)
            state.calendar_id, state.window_start = connection.calendar_id, window_start
            state.synced_at, state.last_error = now, None
            if full:
                state.full_synced_at = now
            session.flush()
            return len(session.scalars(select(self.events.event_id).where(
                self.events.connection_id == connection.id)).all())

    def save_error(self, database: Database, connection_id: str, reason: str) -> None:
        """Record why the last sync failed (the next one retries)."""
        with database.session() as session:
            self._state_row(session, connection_id).last_error = reason

    def _state_row(self, session: Session, connection_id: str) -> StateRowT:
        state = session.get(self.states, connection_id)
        if state is None:
            state = self.states(connection_id=connection_id)
            session.add(state)
        return state

    def synced_events(self, database: Database, calendar_ref: str, *,
                      start: datetime | None = None,
                      end: datetime | None = None) -> list[SyncedEvent]:
        """The synced copy of the connection's booking calendar (events overlapping
        ``[start, end)`` if given), by start time. Raises ``ConnectionNotFound``."""
        connection = self._find_connection(database, calendar_ref)
        rows = self.events
        query = select(rows).where(rows.connection_id == connection.id)
        if start is not None:
            query = query.where(rows.end > start)
        if end is not None:
            query = query.where(rows.start < end)
        with database.session() as session:
            return [SyncedEvent(r.event_id, r.subject, r.start, r.end, r.show_as, r.is_all_day,
                                # Google's copy has no such column: it keeps no cancelled events.
                                getattr(r, "is_cancelled", False), r.join_url,
                                list(r.attendees or []))
                    for r in session.scalars(query.order_by(rows.start, rows.event_id))]

    def status(self, database: Database, calendar_ref: str) -> SyncStatus:
        """Where the connection's sync stands. Raises ``ConnectionNotFound``."""
        connection = self._find_connection(database, calendar_ref)
        state = self.state(database, connection.id)
        if state is None:
            return SyncStatus(None, None, None, None)
        return SyncStatus(state.synced_at, state.full_synced_at, state.last_error,
                          self._notified_until(state))


def synced_busy(database: Database, connection: SyncedConnection, fresh_seconds: float,
                fresh_busy_times: Callable[..., list[BusyTime] | None]) -> SyncedBusy | None:
    """A call's first availability read, from the provider's synced copy when it is at most
    ``fresh_seconds`` old (``fresh_busy_times`` reads it); ``None`` when the copy is not
    used (``fresh_seconds`` 0)."""
    if fresh_seconds <= 0:
        return None
    max_age = timedelta(seconds=fresh_seconds)

    async def read(start: datetime, end: datetime) -> list[BusyTime] | None:
        return await database.run(fresh_busy_times, database, connection.id,
                                  connection.calendar_id, max_age, start, end)
    return read


async def apply_round(database: Database, copy: SyncedCopy[Any, Any],
                      connection: SyncedConnection, sync_round: Round, look_up: LookUp,
                      following: Following, result: SyncResult) -> None:
    """Write the round into the synced copy and bring the bookings it touched in line."""
    # The last word on an event wins (a round may list one twice).
    latest = {event.id: event for event in sync_round.items}
    present = {i: e for i, e in latest.items() if not e.gone and e.times is not None}
    gone = {i for i, e in latest.items() if e.gone}
    result.full = sync_round.full
    previous, removed = await database.run(copy.store, database, connection.id, present,
                                           gone, sync_round.full)
    result.changed, result.removed = len(present), len(removed)
    held = await database.run(copy.copy_ids, database, connection.id)
    ref = connection.ref
    # The bookings whose events the round touched, and those of the window whose events
    # the synced copy does not hold: an event created and deleted between two rounds is
    # never reported removed, and a full round lists only what exists (or began before
    # the booking was made).
    candidates = [b for b in await database.run(owner_changes.following, database, ref)
                  if b.event_id in present or b.event_id in removed
                  or (b.event_id not in held and _in_window(b.slot, sync_round))]
    for booking in candidates:
        event = present.get(booking.event_id)
        if event is None and not (following.gone_is_deleted and booking.event_id in gone):
            # Missing from the round, or only moved out of the window: look before cancelling.
            event = await look_up(booking.event_id)
        if event is None or event.cancelled:
            why = following.cancelled if event is not None else following.deleted
            if await database.run(owner_changes.cancel_by_owner, database, ref, booking.id,
                                  why):
                result.cancelled.append(booking.id)
            continue
        if event.times is None:
            continue  # the next round may read it; the booking stays as it is meanwhile
        outcome = await database.run(owner_changes.move_by_owner, database, booking,
                                     event.times)
        if outcome == "moved":
            result.moved.append(booking.id)
        elif outcome == "conflict":
            result.conflicts.append(booking.id)
        before = {a.get("email"): a.get("response")
                  for a in previous.get(booking.event_id, [])}
        for attendee in event.attendees:
            if attendee["email"] == booking.attendee_email.lower() \
                    and attendee["response"] == "declined" \
                    and before.get(attendee["email"]) != "declined":
                await database.run(owner_changes.record_decline, database, ref, booking.id,
                                   attendee["email"])
                result.declined.append(booking.id)


def _in_window(slot: Interval, sync_round: Round) -> bool:
    if sync_round.end is None:
        return slot.end > sync_round.start
    return slot.overlaps(Interval(sync_round.start, sync_round.end))


def _chunks(values: Iterable[str]) -> list[list[str]]:
    items = list(values)
    return [items[i:i + _CHUNK] for i in range(0, len(items), _CHUNK)]

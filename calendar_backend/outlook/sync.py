"""Delta sync of a connection's booking calendar: the synced copy of its events, and bookings
following what the owner did in Outlook.

``calendarView/delta`` over a window around now (:data:`WINDOW_PAST` back,
:data:`WINDOW_AHEAD` ahead) is the source of truth. The first round (and any round after
Graph answers 410 ``syncStateNotFound``, or once the window has slid a day) is a full one:
every event of the window, and synced events missing from it are gone. Later rounds follow
the stored ``@odata.deltaLink`` and get only what changed. Runs on a change notification,
on a schedule (the fallback when notifications cannot reach the server) and on demand
(``booking-agent outlook sync NAME``).

Bookings follow through :mod:`calendar_backend.owner_changes`. An event of ours reported
removed (or missing from a full round) is looked up once before its booking is cancelled:
"removed" also means "moved out of the window", and a full round may have started before
a booking made during it.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

from pydantic import ValidationError
from sqlalchemy import delete, select

from calendar_backend import owner_changes
from calendar_backend.interval import Interval
from calendar_backend.meeting_links import join_link
from calendar_backend.outlook.config import OutlookConfig
from calendar_backend.outlook.connections import (
    Connection,
    ConnectionTokens,
    find_connection,
    list_connections,
)
from calendar_backend.outlook.graph_client import GraphClient, GraphError
from calendar_backend.outlook.models import DeltaItem
from calendar_backend.owner_changes import SyncResult as SyncResult
from calendar_backend.provider import CalendarUnavailable
from storage.database import Database
from storage.outlook_sync_tables import OutlookSyncedEventRow, OutlookSyncStateRow

log = logging.getLogger(__name__)

WINDOW_PAST = timedelta(days=1)
WINDOW_AHEAD = timedelta(days=90)
# A window older than this is replaced by a full round over a fresh one.
WINDOW_SLIDES_AFTER = timedelta(days=1)
DEFAULT_PAGE_SIZE = 200
# No live caller waits on a sync: a long budget rides out throttling.
SYNC_BUDGET_SECONDS = 30.0
_CHUNK = 500


@dataclass(frozen=True)
class SyncedEvent:
    """An event of the booking calendar as the last sync saw it."""

    event_id: str
    subject: str
    start: datetime
    end: datetime
    show_as: str
    is_all_day: bool
    is_cancelled: bool
    join_url: str | None
    attendees: list[dict[str, str]]


# One sync per connection at a time (per event loop: asyncio locks belong to one).
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = \
    weakref.WeakKeyDictionary()


def _sync_lock(connection_id: str) -> asyncio.Lock:
    per_loop = _locks.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault(connection_id, asyncio.Lock())


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Rounds:
    """The Graph side of a sync: delta pages, counted."""

    def __init__(self, graph: GraphClient, connection: Connection, page_size: int) -> None:
        self.graph = graph
        self.connection = connection
        self.headers = {"Prefer": f'outlook.timezone="UTC", odata.maxpagesize={page_size}'}
        self.requests = 0
        self._host = urlsplit(graph.base_url).netloc

    async def run(self, link: str | None, start: datetime,
                  end: datetime) -> tuple[list[DeltaItem], str]:
        """Every item of one round, and the round's deltaLink."""
        if link is None:
            path = f"/me/calendars/{quote(self.connection.calendar_id, safe='')}" \
                   "/calendarView/delta"
            page = await self._get(path, {"startDateTime": _utc(start),
                                          "endDateTime": _utc(end)})
        else:
            page = await self._get(link, None)
        items: list[DeltaItem] = []
        while True:
            try:
                items += [DeltaItem.model_validate(item) for item in page.get("value", [])]
            except ValidationError:
                raise CalendarUnavailable("Graph sent an event the sync cannot read") from None
            next_link = page.get("@odata.nextLink")
            if next_link:
                page = await self._get(next_link, None)
                continue
            delta_link = page.get("@odata.deltaLink")
            if not delta_link:
                raise CalendarUnavailable("Graph ended a delta round without a deltaLink")
            return items, delta_link

    async def _get(self, path: str, params: dict[str, str] | None) -> dict[str, object]:
        if path.startswith("http") and urlsplit(path).netloc != self._host:
            raise CalendarUnavailable("Graph paged to an unexpected host")
        self.requests += 1
        return await self.graph.get(path, params=params, headers=self.headers,
                                    budget_seconds=SYNC_BUDGET_SECONDS)

    async def still_there(self, event_id: str) -> DeltaItem | None:
        """The event, if it still exists (it may only have left the window)."""
        self.requests += 1
        try:
            item = await self.graph.get(
                f"/me/events/{quote(event_id, safe='')}",
                params={"$select": "id,subject,start,end,showAs,isAllDay,isCancelled,"
                                   "transactionId,changeKey,onlineMeeting,location,attendees"},
                headers=self.headers, budget_seconds=SYNC_BUDGET_SECONDS)
        except GraphError as exc:
            if exc.status == 404 or exc.code in ("ErrorItemNotFound", "ErrorInvalidIdMalformed"):
                return None
            raise CalendarUnavailable(f"Graph refused the look-up ({exc.code})") from None
        try:
            return DeltaItem.model_validate(item)
        except ValidationError:
            raise CalendarUnavailable("Graph sent an event the sync cannot read") from None


async def sync_calendar(database: Database, config: OutlookConfig, calendar_ref: str, *,
                        now: datetime | None = None,
                        page_size: int = DEFAULT_PAGE_SIZE) -> SyncResult:
    """Bring the synced copy of the connection's booking calendar up to date, and the
    bookings on it in line with the owner's changes.

    Raises :class:`ConnectionNotFound` for an unknown name and :class:`CalendarUnavailable`
    when the connection is not usable or Graph does not answer (the next sync retries).
    """
    connection = find_connection(database, calendar_ref)
    if not connection.usable:
        raise CalendarUnavailable(f"{connection.ref} needs reconnecting before it can sync",
                                  needs_reconnect=True)
    async with _sync_lock(connection.id):
        tokens = ConnectionTokens(database, config, connection)
        graph = GraphClient(config.graph_base_url, tokens, mailbox=connection.home_account_id,
                            budget_seconds=SYNC_BUDGET_SECONDS)
        rounds = _Rounds(graph, connection, page_size)
        try:
            return await _sync(database, connection, rounds, now or datetime.now(UTC))
        except CalendarUnavailable as exc:
            await database.run(_save_error, database, connection.id, exc.reason)
            raise
        finally:
            log.debug("sync of %s: %d Graph requests", connection.ref, rounds.requests)


async def _sync(database: Database, connection: Connection, rounds: _Rounds,
                now: datetime) -> SyncResult:
    result = SyncResult(connection.ref)
    state = await database.run(_state, database, connection.id)
    link = None
    start, end = now - WINDOW_PAST, now + WINDOW_AHEAD
    if (state is not None and state.delta_link and state.calendar_id == connection.calendar_id
            and state.window_start is not None and state.window_end is not None
            and now - WINDOW_PAST - state.window_start < WINDOW_SLIDES_AFTER):
        link, start, end = state.delta_link, state.window_start, state.window_end
    try:
        items, delta_link = await rounds.run(link, start, end)
    except GraphError as exc:
        if exc.status != 410:
            raise CalendarUnavailable(f"Graph refused the sync ({exc.code})") from None
        # The sync state expired: start over with a full round; nothing is lost, since a
        # full round compares the whole window with the synced copy.
        log.info("delta link of %s expired (%s): full resync", connection.ref, exc.code)
        result.resynced_after_410 = True
        link, start, end = None, now - WINDOW_PAST, now + WINDOW_AHEAD
        items, delta_link = await rounds.run(None, start, end)
    result.full = link is None
    # The last word on an event wins (a round may list one twice).
    latest: dict[str, DeltaItem] = {}
    for item in items:
        latest[item.id] = item
    present = {i: item for i, item in latest.items()
               if item.removed is None and _readable(item, connection.ref)}
    removed = {i for i, item in latest.items() if item.removed is not None}
    previous, removed = await database.run(_store, database, connection.id, present,
                                           removed, result.full)
    result.changed, result.removed = len(present), len(removed)
    await _follow(database, connection, rounds, present, removed, previous, result,
                  Interval(start, end))
    result.events = await database.run(_save_state, database, connection, delta_link, start,
                                       end, result.full)
    result.requests = rounds.requests
    return result


async def _follow(database: Database, connection: Connection, rounds: _Rounds,
                  present: dict[str, DeltaItem], removed: set[str],
                  previous: dict[str, list[dict[str, str]]], result: SyncResult,
                  window: Interval) -> None:
    """Apply the round to the bookings whose events it touched."""
    ref = connection.ref
    copy = await database.run(_copy_ids, database, connection.id)
    # The bookings whose events the round touched, and those of the window whose events
    # the synced copy does not hold: an event created and deleted between two rounds is
    # never reported removed, and a full round lists only what exists.
    candidates = [b for b in await database.run(owner_changes.following, database, ref)
                  if b.event_id in present or b.event_id in removed
                  or (b.event_id not in copy and b.slot.overlaps(window))]
    for booking in candidates:
        event = present.get(booking.event_id)
        if event is None:
            # Deleted, or only moved out of the window (or made after the round began).
            event = await rounds.still_there(booking.event_id)
        if event is None or event.is_cancelled or event.start is None or event.end is None:
            why = "the event was cancelled in Outlook" if event is not None \
                else "the event was deleted in Outlook"
            if await database.run(owner_changes.cancel_by_owner, database, ref, booking.id,
                                  why):
                result.cancelled.append(booking.id)
            continue
        if not _readable(event, ref):
            continue  # the next round may read it; the booking stays as it is meanwhile
        slot = Interval(event.start.instant(), event.end.instant())
        outcome = await database.run(owner_changes.move_by_owner, database, booking, slot)
        if outcome == "moved":
            result.moved.append(booking.id)
        elif outcome == "conflict":
            result.conflicts.append(booking.id)
        before = {a.get("email"): a.get("response")
                  for a in previous.get(booking.event_id, [])}
        for attendee in _attendees(event):
            if attendee["email"] == booking.attendee_email.lower() \
                    and attendee["response"] == "declined" \
                    and before.get(attendee["email"]) != "declined":
                await database.run(owner_changes.record_decline, database, ref, booking.id,
                                   attendee["email"])
                result.declined.append(booking.id)


def _readable(item: DeltaItem, ref: str) -> bool:
    """Whether the event's times can be read (an all-day event in a zone no one knows
    cannot); one that cannot is left out of the round rather than stopping it."""
    try:
        if item.start is None or item.end is None:
            return False
        item.start.instant(), item.end.instant()
    except (ValueError, OverflowError) as exc:  # overflow: year 1 or 9999 shifted to UTC
        log.warning("sync of %s skipped event %s: %s", ref, item.id, exc)
        return False
    return True


def _attendees(item: DeltaItem) -> list[dict[str, str]]:
    return [{"email": (a.email_address.address or "").lower(),
             "response": a.status.response or "none"}
            for a in item.attendees if a.email_address.address]


def _state(database: Database, connection_id: str) -> OutlookSyncStateRow | None:
    with database.session() as session:
        return session.get(OutlookSyncStateRow, connection_id)


def _store(database: Database, connection_id: str, present: dict[str, DeltaItem],
           removed: set[str], full: bool) -> tuple[dict[str, list[dict[str, str]]], set[str]]:
    """Write the round into the synced copy; returns the attendees the copy had for the
    touched events (to tell a new decline from an old one) and every event gone from it
    (in a full round, also those the round did not list)."""
    rows = OutlookSyncedEventRow
    now = datetime.now(UTC)
    with database.session(serial=True) as session:
        if full:
            known = set(session.scalars(select(rows.event_id).where(
                rows.connection_id == connection_id)))
            removed = removed | (known - set(present))
        previous: dict[str, list[dict[str, str]]] = {}
        for chunk in _chunks(set(present) | removed):
            for row in session.execute(select(rows.event_id, rows.attendees).where(
                    rows.connection_id == connection_id, rows.event_id.in_(chunk))):
                previous[row.event_id] = list(row.attendees or [])
            session.execute(delete(rows).where(rows.connection_id == connection_id,
                                               rows.event_id.in_(chunk)))
        session.add_all([
            rows(connection_id=connection_id, event_id=item.id, subject=item.subject or "",
                 start=item.start.instant(), end=item.end.instant(),
                 is_all_day=item.is_all_day, show_as=(item.show_as or "busy").lower(),
                 is_cancelled=item.is_cancelled, join_url=_join_url(item),
                 transaction_id=item.transaction_id, change_key=item.change_key,
                 attendees=_attendees(item), synced_at=now)
            for item in present.values() if item.start is not None and item.end is not None])
    return previous, removed


def _copy_ids(database: Database, connection_id: str) -> set[str]:
    with database.session() as session:
        return set(session.scalars(select(OutlookSyncedEventRow.event_id).where(
            OutlookSyncedEventRow.connection_id == connection_id)))


def _join_url(item: DeltaItem) -> str | None:
    link = join_link(item.online_meeting.join_url if item.online_meeting else None,
                     item.location.display_name if item.location else None,
                     item.body.content if item.body else None)
    return link.url if link else None


def _save_state(database: Database, connection: Connection, delta_link: str,
                start: datetime, end: datetime, full: bool) -> int:
    """Store where the sync stands; returns how many events the synced copy holds."""
    now = datetime.now(UTC)
    with database.session() as session:
        state = session.get(OutlookSyncStateRow, connection.id)
        if state is None:
            state = OutlookSyncStateRow(connection_id=connection.id)
            session.add(state)
        state.delta_link, state.calendar_id = delta_link, connection.calendar_id
        state.window_start, state.window_end = start, end
        state.synced_at, state.last_error = now, None
        if full:
            state.full_synced_at = now
        session.flush()
        return len(session.scalars(select(OutlookSyncedEventRow.event_id).where(
            OutlookSyncedEventRow.connection_id == connection.id)).all())


def _save_error(database: Database, connection_id: str, reason: str) -> None:
    with database.session() as session:
        state = session.get(OutlookSyncStateRow, connection_id)
        if state is None:
            state = OutlookSyncStateRow(connection_id=connection_id)
            session.add(state)
        state.last_error = reason


def synced_events(database: Database, calendar_ref: str, *, start: datetime | None = None,
                  end: datetime | None = None) -> list[SyncedEvent]:
    """The synced copy of the connection's booking calendar (events overlapping
    ``[start, end)`` if given), by start time. Raises ``ConnectionNotFound``."""
    connection = find_connection(database, calendar_ref)
    rows = OutlookSyncedEventRow
    query = select(rows).where(rows.connection_id == connection.id)
    if start is not None:
        query = query.where(rows.end > start)
    if end is not None:
        query = query.where(rows.start < end)
    with database.session() as session:
        return [SyncedEvent(r.event_id, r.subject, r.start, r.end, r.show_as, r.is_all_day,
                            r.is_cancelled, r.join_url, list(r.attendees or []))
                for r in session.scalars(query.order_by(rows.start, rows.event_id))]


@dataclass(frozen=True)
class SyncStatus:
    """Where a connection's sync stands (``None`` fields: never happened)."""

    synced_at: datetime | None
    full_synced_at: datetime | None
    last_error: str | None
    subscription_expires_at: datetime | None


def sync_status(database: Database, calendar_ref: str) -> SyncStatus:
    """Where the connection's sync stands. Raises ``ConnectionNotFound``."""
    connection = find_connection(database, calendar_ref)
    state = _state(database, connection.id)
    if state is None:
        return SyncStatus(None, None, None, None)
    return SyncStatus(state.synced_at, state.full_synced_at, state.last_error,
                      state.subscription_expires_at if state.subscription_id else None)


async def sync_all(database: Database, config: OutlookConfig) -> list[SyncResult]:
    """Sync every usable connection (the scheduled fallback); a failing one is logged and
    left for the next run."""
    results = []
    for connection in list_connections(database):
        if not connection.usable:
            continue
        try:
            results.append(await sync_calendar(database, config, connection.ref))
        except CalendarUnavailable as exc:
            log.warning("sync of %s failed: %s", connection.ref, exc.reason)
    return results


def _chunks(values: Iterable[str]) -> list[list[str]]:
    items = list(values)
    return [items[i:i + _CHUNK] for i in range(0, len(items), _CHUNK)]

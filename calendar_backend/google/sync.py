"""Incremental sync of a Google connection's booking calendar: the synced copy of its events,
and bookings following what the owner did in Google Calendar.

The first round (and any round after Google answers 410 ``fullSyncRequired``, after the
connection moved to another calendar, or once the window has slid a day) is a full one:
``events.list`` from :data:`WINDOW_PAST` back, every page, and synced events missing from it
are gone. Its last page's ``nextSyncToken`` is stored; later rounds send it as ``syncToken``
and get only what changed since, deleted events included as ``status: "cancelled"``. Runs on
a push notification, on a schedule (the fallback when notifications cannot reach the server)
and on demand (``booking-agent google sync NAME``).

Bookings follow through :mod:`calendar_backend.owner_changes`, as Outlook's do. An event of
ours missing from a full round (not reported cancelled) is looked up once before its booking
is cancelled: the round may have started before a booking made during it.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import delete, select

from calendar_backend import owner_changes
from calendar_backend.google.api_client import CalendarApiClient, GoogleApiError
from calendar_backend.google.config import GoogleConfig
from calendar_backend.google.connections import (
    Connection,
    ConnectionTokens,
    find_connection,
    list_connections,
)
from calendar_backend.google.models import ListedTime, SyncedItem, SyncPage, rfc3339
from calendar_backend.interval import Interval
from calendar_backend.meeting_links import join_link
from calendar_backend.owner_changes import SyncResult
from calendar_backend.provider import CalendarUnavailable
from storage.database import Database
from storage.google_sync_tables import GoogleSyncedEventRow, GoogleSyncStateRow

log = logging.getLogger(__name__)

WINDOW_PAST = timedelta(days=1)
# A window older than this is replaced by a full round from a fresh one (which also drops
# the past events the copy no longer needs).
WINDOW_SLIDES_AFTER = timedelta(days=1)
DEFAULT_PAGE_SIZE = 250
# No live caller waits on a sync: a long budget rides out throttling.
SYNC_BUDGET_SECONDS = 30.0
_CHUNK = 500
_GONE = frozenset({404, 410})


@dataclass(frozen=True)
class SyncedEvent:
    """An event of the booking calendar as the last sync saw it."""

    event_id: str
    subject: str
    start: datetime
    end: datetime
    show_as: str
    is_all_day: bool
    join_url: str | None
    attendees: list[dict[str, str]]


# One sync per connection at a time (per event loop: asyncio locks belong to one).
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = \
    weakref.WeakKeyDictionary()


def _sync_lock(connection_id: str) -> asyncio.Lock:
    per_loop = _locks.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault(connection_id, asyncio.Lock())


class _Rounds:
    """The Google side of a sync: events.list pages, counted."""

    def __init__(self, api: CalendarApiClient, connection: Connection, page_size: int) -> None:
        self.api = api
        self.connection = connection
        self.path = f"/calendars/{quote(connection.calendar_id, safe='')}/events"
        self.page_size = page_size
        self.requests = 0

    async def run(self, sync_token: str | None,
                  start: datetime) -> tuple[list[SyncedItem], str]:
        """Every item of one round (full from ``start`` when ``sync_token`` is None), and
        the round's nextSyncToken. Raises :class:`GoogleApiError` (410: token expired)."""
        params = {"singleEvents": "true", "maxResults": str(self.page_size)}
        if sync_token is None:
            params["timeMin"] = rfc3339(start)
        else:
            params["syncToken"] = sync_token
        items: list[SyncedItem] = []
        page_token: str | None = None
        while True:
            page = await self._get({**params, "pageToken": page_token} if page_token
                                   else params)
            items += page.items
            if page.next_page_token:
                page_token = page.next_page_token
                continue
            if not page.next_sync_token:
                raise CalendarUnavailable("Google ended a sync round without a sync token")
            return items, page.next_sync_token

    async def _get(self, params: dict[str, str]) -> SyncPage:
        self.requests += 1
        data = await self.api.get(self.path, params=params,
                                  budget_seconds=SYNC_BUDGET_SECONDS)
        try:
            return SyncPage.model_validate(data)
        except ValidationError:
            raise CalendarUnavailable("Google sent an event the sync cannot read") from None

    async def still_there(self, event_id: str) -> SyncedItem | None:
        """The event, unless it was deleted (cancelled events count as gone)."""
        self.requests += 1
        try:
            data = await self.api.get(f"{self.path}/{quote(event_id, safe='')}",
                                      budget_seconds=SYNC_BUDGET_SECONDS)
        except GoogleApiError as exc:
            if exc.status in _GONE:
                return None
            raise CalendarUnavailable(f"Google refused the look-up ({exc.reason})") from None
        try:
            item = SyncedItem.model_validate(data)
        except ValidationError:
            raise CalendarUnavailable("Google sent an event the sync cannot read") from None
        return None if item.status == "cancelled" else item


async def sync_calendar(database: Database, config: GoogleConfig, calendar_ref: str, *,
                        now: datetime | None = None,
                        page_size: int = DEFAULT_PAGE_SIZE) -> SyncResult:
    """Bring the synced copy of the connection's booking calendar up to date, and the
    bookings on it in line with the owner's changes.

    Raises :class:`ConnectionNotFound` for an unknown name and :class:`CalendarUnavailable`
    when the connection is not usable or Google does not answer (the next sync retries).
    """
    connection = find_connection(database, calendar_ref)
    if not connection.usable:
        raise CalendarUnavailable(f"{connection.ref} needs reconnecting before it can sync",
                                  needs_reconnect=True)
    async with _sync_lock(connection.id):
        api = CalendarApiClient(config.calendar_base_url,
                                ConnectionTokens(database, config, connection),
                                budget_seconds=SYNC_BUDGET_SECONDS, request_timeout=10.0)
        rounds = _Rounds(api, connection, page_size)
        try:
            return await _sync(database, connection, rounds, now or datetime.now(UTC))
        except CalendarUnavailable as exc:
            await database.run(_save_error, database, connection.id, exc.reason)
            raise
        except GoogleApiError as exc:
            reason = f"Google refused the sync ({exc.reason})"
            await database.run(_save_error, database, connection.id, reason)
            raise CalendarUnavailable(reason) from None
        finally:
            log.debug("sync of %s: %d Google requests", connection.ref, rounds.requests)


async def _sync(database: Database, connection: Connection, rounds: _Rounds,
                now: datetime) -> SyncResult:
    result = SyncResult(connection.ref)
    state = await database.run(_state, database, connection.id)
    token = None
    start = now - WINDOW_PAST
    if (state is not None and state.sync_token and state.calendar_id == connection.calendar_id
            and state.window_start is not None
            and start - state.window_start < WINDOW_SLIDES_AFTER):
        token, start = state.sync_token, state.window_start
    try:
        items, next_token = await rounds.run(token, start)
    except GoogleApiError as exc:
        if exc.status != 410:
            raise
        # The token expired: start over with a full round; nothing is lost, since a full
        # round compares the whole window with the synced copy.
        log.info("sync token of %s expired (%s): full resync", connection.ref, exc.reason)
        result.resynced_after_410 = True
        token, start = None, now - WINDOW_PAST
        items, next_token = await rounds.run(None, start)
    result.full = token is None
    zone = ZoneInfo(connection.owner_zone or "UTC")
    # The last word on an event wins (a round may list one twice).
    latest: dict[str, SyncedItem] = {}
    for item in items:
        latest[item.id] = item
    present = {i: item for i, item in latest.items()
               if item.status != "cancelled" and _times(item, zone, connection.ref)}
    cancelled = {i for i, item in latest.items() if item.status == "cancelled"}
    previous, removed = await database.run(_store, database, connection.id, present,
                                           cancelled, result.full, zone)
    result.changed, result.removed = len(present), len(removed)
    await _follow(database, connection, rounds, present, cancelled, removed, previous,
                  result, start, zone)
    result.events = await database.run(_save_state, database, connection, next_token, start,
                                       result.full)
    result.requests = rounds.requests
    return result


async def _follow(database: Database, connection: Connection, rounds: _Rounds,
                  present: dict[str, SyncedItem], cancelled: set[str], removed: set[str],
                  previous: dict[str, list[dict[str, str]]], result: SyncResult,
                  window_start: datetime, zone: ZoneInfo) -> None:
    """Apply the round to the bookings whose events it touched."""
    ref = connection.ref
    copy = await database.run(_copy_ids, database, connection.id)
    # The bookings whose events the round touched, and those of the window whose events
    # the synced copy does not hold (made after the round began, or never seen).
    candidates = [b for b in await database.run(owner_changes.following, database, ref)
                  if b.event_id in present or b.event_id in removed
                  or (b.event_id not in copy and b.slot.end > window_start)]
    for booking in candidates:
        event = present.get(booking.event_id)
        if event is None and booking.event_id not in cancelled:
            # Missing from a full round, or not in the copy: look before cancelling.
            event = await rounds.still_there(booking.event_id)
        times = _times(event, zone, ref) if event is not None else None
        if event is None:
            if await database.run(owner_changes.cancel_by_owner, database, ref, booking.id,
                                  "the event was deleted in Google Calendar"):
                result.cancelled.append(booking.id)
            continue
        if times is None:
            continue  # the next round may read it; the booking stays as it is meanwhile
        outcome = await database.run(owner_changes.move_by_owner, database, booking,
                                     Interval(*times))
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


def _instant(value: ListedTime, zone: ZoneInfo) -> datetime:
    """A start or end as an aware instant (an all-day date: midnight in the owner's zone)."""
    if value.date_time is not None:
        moment = value.date_time if value.date_time.tzinfo else value.date_time.replace(
            tzinfo=zone)
        return moment.astimezone(UTC)
    if value.date is None:
        raise ValueError("neither dateTime nor date")
    return datetime.combine(date.fromisoformat(value.date), time(), zone).astimezone(UTC)


def _times(item: SyncedItem, zone: ZoneInfo, ref: str) -> tuple[datetime, datetime] | None:
    """The event's ``(start, end)``, or ``None`` when they cannot be read (the event is left
    out of the round rather than stopping it)."""
    try:
        if item.start is None or item.end is None:
            raise ValueError("no start or end")
        return _instant(item.start, zone), _instant(item.end, zone)
    except (ValueError, OverflowError) as exc:  # e.g. year 1 seen from east of UTC
        log.warning("sync of %s skipped event %s: %s", ref, item.id, exc)
        return None


def _show_as(item: SyncedItem) -> str:
    """``free`` when the event leaves the owner bookable (as freeBusy sees it: transparent,
    or an invitation the owner declined), else ``busy``."""
    declined = any(a.is_self and a.response_status == "declined" for a in item.attendees)
    return "free" if item.transparency == "transparent" or declined else "busy"


def _attendees(item: SyncedItem) -> list[dict[str, str]]:
    return [{"email": a.email.lower(), "response": a.response_status}
            for a in item.attendees if a.email]


def _state(database: Database, connection_id: str) -> GoogleSyncStateRow | None:
    with database.session() as session:
        return session.get(GoogleSyncStateRow, connection_id)


def _store(database: Database, connection_id: str, present: dict[str, SyncedItem],
           cancelled: set[str], full: bool,
           zone: ZoneInfo) -> tuple[dict[str, list[dict[str, str]]], set[str]]:
    """Write the round into the synced copy; returns the attendees the copy had for the
    touched events (to tell a new decline from an old one) and every event gone from it
    (in a full round, also those the round did not list)."""
    rows = GoogleSyncedEventRow
    now = datetime.now(UTC)
    removed = set(cancelled)
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
        added = []
        for item in present.values():
            assert item.start is not None and item.end is not None  # _times checked
            link = join_link(item.meet_url, item.location, item.description)
            added.append(rows(
                connection_id=connection_id, event_id=item.id, subject=item.summary,
                start=_instant(item.start, zone), end=_instant(item.end, zone),
                is_all_day=item.start.date_time is None,
                show_as=_show_as(item),
                join_url=link.url if link else None, attendees=_attendees(item),
                synced_at=now))
        session.add_all(added)
    return previous, removed


def _copy_ids(database: Database, connection_id: str) -> set[str]:
    with database.session() as session:
        return set(session.scalars(select(GoogleSyncedEventRow.event_id).where(
            GoogleSyncedEventRow.connection_id == connection_id)))


def _save_state(database: Database, connection: Connection, sync_token: str,
                start: datetime, full: bool) -> int:
    """Store where the sync stands; returns how many events the synced copy holds."""
    now = datetime.now(UTC)
    with database.session() as session:
        state = session.get(GoogleSyncStateRow, connection.id)
        if state is None:
            state = GoogleSyncStateRow(connection_id=connection.id)
            session.add(state)
        state.sync_token, state.calendar_id = sync_token, connection.calendar_id
        state.window_start = start
        state.synced_at, state.last_error = now, None
        if full:
            state.full_synced_at = now
        session.flush()
        return len(session.scalars(select(GoogleSyncedEventRow.event_id).where(
            GoogleSyncedEventRow.connection_id == connection.id)).all())


def _save_error(database: Database, connection_id: str, reason: str) -> None:
    with database.session() as session:
        state = session.get(GoogleSyncStateRow, connection_id)
        if state is None:
            state = GoogleSyncStateRow(connection_id=connection_id)
            session.add(state)
        state.last_error = reason


def synced_events(database: Database, calendar_ref: str, *, start: datetime | None = None,
                  end: datetime | None = None) -> list[SyncedEvent]:
    """The synced copy of the connection's booking calendar (events overlapping
    ``[start, end)`` if given), by start time. Raises ``ConnectionNotFound``."""
    connection = find_connection(database, calendar_ref)
    rows = GoogleSyncedEventRow
    query = select(rows).where(rows.connection_id == connection.id)
    if start is not None:
        query = query.where(rows.end > start)
    if end is not None:
        query = query.where(rows.start < end)
    with database.session() as session:
        return [SyncedEvent(r.event_id, r.subject, r.start, r.end, r.show_as, r.is_all_day,
                            r.join_url, list(r.attendees or []))
                for r in session.scalars(query.order_by(rows.start, rows.event_id))]


@dataclass(frozen=True)
class SyncStatus:
    """Where a connection's sync stands (``None`` fields: never happened)."""

    synced_at: datetime | None
    full_synced_at: datetime | None
    last_error: str | None
    channel_expires_at: datetime | None


def sync_status(database: Database, calendar_ref: str) -> SyncStatus:
    """Where the connection's sync stands. Raises ``ConnectionNotFound``."""
    connection = find_connection(database, calendar_ref)
    state = _state(database, connection.id)
    if state is None:
        return SyncStatus(None, None, None, None)
    return SyncStatus(state.synced_at, state.full_synced_at, state.last_error,
                      state.channel_expires_at if state.channel_id else None)


async def sync_all(database: Database, config: GoogleConfig) -> list[SyncResult]:
    """Sync every usable connection; a failing one is logged and left for the next run."""
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

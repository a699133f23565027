"""Incremental sync of a Google connection's booking calendar: the synced copy of its events,
and bookings following what the owner did in Google Calendar.

The first round (and any round after Google answers 410 ``fullSyncRequired``, after the
connection moved to another calendar, or once the window has slid a day) is a full one:
``events.list`` from :data:`WINDOW_PAST` back, every page, and synced events missing from it
are gone. Its last page's ``nextSyncToken`` is stored; later rounds send it as ``syncToken``
and get only what changed since, deleted events included as ``status: "cancelled"``. Runs on
a push notification, on a schedule (the fallback when notifications cannot reach the server)
and on demand (``booking-agent google sync NAME``).

The round is written and followed by :mod:`calendar_backend.calendar_sync`, as Outlook's
is; bookings follow through :mod:`calendar_backend.owner_changes`. An event of
ours missing from a full round (not reported cancelled) is looked up once before its booking
is cancelled: the round may have started before a booking made during it.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from calendar_backend import calendar_sync
from calendar_backend.google.api_client import CalendarApiClient, GoogleApiError
from calendar_backend.google.config import GoogleConfig
from calendar_backend.google.connections import Connection, ConnectionTokens, find_connection
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
_GONE = frozenset({404, 410})


def _notified_until(state: GoogleSyncStateRow) -> datetime | None:
    return state.channel_expires_at if state.channel_id else None


COPY = calendar_sync.SyncedCopy(GoogleSyncedEventRow, GoogleSyncStateRow, find_connection,
                                _notified_until)
# The synced copy and where the sync stands, under the names callers use.
synced_events = COPY.synced_events
sync_status = COPY.status

# An event Google reports cancelled is deleted: its booking is cancelled without a look-up.
FOLLOWING = calendar_sync.Following(gone_is_deleted=True,
                                    deleted="the event was deleted in Google Calendar",
                                    cancelled="the event was deleted in Google Calendar")


class _Rounds:
    """The Google side of a sync: events.list pages, counted."""

    def __init__(self, api: CalendarApiClient, connection: Connection, page_size: int) -> None:
        self.api = api
        self.connection = connection
        self.path = f"/calendars/{quote(connection.calendar_id, safe='')}/events"
        self.page_size = page_size
        self.zone = ZoneInfo(connection.owner_zone or "UTC")
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

    async def still_there(self, event_id: str) -> calendar_sync.SeenEvent | None:
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
        return None if item.status == "cancelled" else _seen(item, self.zone,
                                                              self.connection.ref)


async def sync_calendar(database: Database, config: GoogleConfig, calendar_ref: str, *,
                        now: datetime | None = None,
                        page_size: int = DEFAULT_PAGE_SIZE) -> SyncResult:
    """Bring the synced copy of the connection's booking calendar up to date, and the
    bookings on it in line with the owner's changes.

    Raises :class:`ConnectionNotFound` for an unknown name and :class:`CalendarUnavailable`
    when the connection is not usable or Google does not answer (the next sync retries).
    """
    connection = find_connection(database, calendar_ref)

    async def sync() -> SyncResult:
        api = CalendarApiClient(config.calendar_base_url,
                                ConnectionTokens(database, config, connection),
                                budget_seconds=SYNC_BUDGET_SECONDS, request_timeout=10.0)
        rounds = _Rounds(api, connection, page_size)
        try:
            return await _sync(database, connection, rounds, now or datetime.now(UTC))
        except GoogleApiError as exc:
            raise CalendarUnavailable(f"Google refused the sync ({exc.reason})") from None
        finally:
            log.debug("sync of %s: %d Google requests", connection.ref, rounds.requests)

    return await COPY.run(database, connection, sync)


async def _sync(database: Database, connection: Connection, rounds: _Rounds,
                now: datetime) -> SyncResult:
    result = SyncResult(connection.ref)
    state = await database.run(COPY.state, database, connection.id)
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
    seen = [_seen(item, rounds.zone, connection.ref) for item in items]
    sync_round = calendar_sync.Round(seen, token is None, start)
    await calendar_sync.apply_round(database, COPY, connection, sync_round, rounds.still_there,
                                    FOLLOWING, result)

    def position(state: GoogleSyncStateRow) -> None:
        state.sync_token = next_token

    result.events = await database.run(COPY.save_state, database, connection, start,
                                       result.full, position)
    result.requests = rounds.requests
    return result


def _seen(item: SyncedItem, zone: ZoneInfo, ref: str) -> calendar_sync.SeenEvent:
    """The item as the shared sync reads it (``cancelled`` in Google: deleted)."""
    if item.status == "cancelled":
        return calendar_sync.SeenEvent(item.id, gone=True)
    times = _times(item, zone, ref)
    if times is None:
        return calendar_sync.SeenEvent(item.id)
    assert item.start is not None  # _times checked
    link = join_link(item.meet_url, item.location, item.description)
    return calendar_sync.SeenEvent(
        item.id, times=Interval(*times), attendees=_attendees(item),
        columns={"subject": item.summary, "is_all_day": item.start.date_time is None,
                 "show_as": _show_as(item), "join_url": link.url if link else None})


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

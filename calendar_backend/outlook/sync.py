"""Delta sync of a connection's booking calendar: the synced copy of its events, and bookings
following what the owner did in Outlook.

``calendarView/delta`` over a window around now (:data:`WINDOW_PAST` back,
:data:`WINDOW_AHEAD` ahead) is the source of truth. The first round (and any round after
Graph answers 410 ``syncStateNotFound``, or once the window has slid a day) is a full one:
every event of the window, and synced events missing from it are gone. Later rounds follow
the stored ``@odata.deltaLink`` and get only what changed. Runs on a change notification,
on a schedule (the fallback when notifications cannot reach the server) and on demand
(``booking-agent outlook sync NAME``).

The round is written and followed by :mod:`calendar_backend.calendar_sync` (shared with
Google); bookings follow through :mod:`calendar_backend.owner_changes`. An event of ours reported
removed (or missing from a full round) is looked up once before its booking is cancelled:
"removed" also means "moved out of the window", and a full round may have started before
a booking made during it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

from pydantic import ValidationError

from calendar_backend import calendar_sync
from calendar_backend.interval import Interval
from calendar_backend.meeting_links import join_link
from calendar_backend.outlook.config import OutlookConfig
from calendar_backend.outlook.connections import Connection, ConnectionTokens, find_connection
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


def _notified_until(state: OutlookSyncStateRow) -> datetime | None:
    return state.subscription_expires_at if state.subscription_id else None


COPY = calendar_sync.SyncedCopy(OutlookSyncedEventRow, OutlookSyncStateRow, find_connection,
                                _notified_until)
# The synced copy and where the sync stands, under the names callers use.
synced_events = COPY.synced_events
sync_status = COPY.status

# An event Graph reports removed may only have left the window: it is looked up first.
FOLLOWING = calendar_sync.Following(gone_is_deleted=False,
                                    deleted="the event was deleted in Outlook",
                                    cancelled="the event was cancelled in Outlook")


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

    async def still_there(self, event_id: str) -> calendar_sync.SeenEvent | None:
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
            return _seen(DeltaItem.model_validate(item), self.connection.ref)
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

    async def sync() -> SyncResult:
        tokens = ConnectionTokens(database, config, connection)
        graph = GraphClient(config.graph_base_url, tokens, mailbox=connection.home_account_id,
                            budget_seconds=SYNC_BUDGET_SECONDS)
        rounds = _Rounds(graph, connection, page_size)
        try:
            return await _sync(database, connection, rounds, now or datetime.now(UTC))
        finally:
            log.debug("sync of %s: %d Graph requests", connection.ref, rounds.requests)

    return await COPY.run(database, connection, sync)


async def _sync(database: Database, connection: Connection, rounds: _Rounds,
                now: datetime) -> SyncResult:
    result = SyncResult(connection.ref)
    state = await database.run(COPY.state, database, connection.id)
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
    seen = [_seen(item, connection.ref) for item in items]
    sync_round = calendar_sync.Round(seen, link is None, start, end)
    await calendar_sync.apply_round(database, COPY, connection, sync_round, rounds.still_there,
                                    FOLLOWING, result)

    def position(state: OutlookSyncStateRow) -> None:
        state.delta_link, state.window_end = delta_link, end

    result.events = await database.run(COPY.save_state, database, connection, start,
                                       result.full, position)
    result.requests = rounds.requests
    return result


def _seen(item: DeltaItem, ref: str) -> calendar_sync.SeenEvent:
    """The item as the shared sync reads it (an event without times counts as cancelled)."""
    if item.removed is not None:
        return calendar_sync.SeenEvent(item.id, gone=True)
    cancelled = item.is_cancelled or item.start is None or item.end is None
    if not _readable(item, ref):
        return calendar_sync.SeenEvent(item.id, cancelled=cancelled)
    assert item.start is not None and item.end is not None  # _readable checked
    return calendar_sync.SeenEvent(
        item.id, times=Interval(item.start.instant(), item.end.instant()),
        cancelled=cancelled, attendees=_attendees(item),
        columns={"subject": item.subject or "", "is_all_day": item.is_all_day,
                 "show_as": (item.show_as or "busy").lower(),
                 "is_cancelled": item.is_cancelled, "join_url": _join_url(item),
                 "transaction_id": item.transaction_id, "change_key": item.change_key})


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


def _join_url(item: DeltaItem) -> str | None:
    link = join_link(item.online_meeting.join_url if item.online_meeting else None,
                     item.location.display_name if item.location else None,
                     item.body.content if item.body else None)
    return link.url if link else None

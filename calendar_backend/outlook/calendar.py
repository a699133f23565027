"""The Outlook calendar adapter: :class:`CalendarProvider` on one Graph calendar."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import quote

from calendar_backend.failed_creates import cancel_found
from calendar_backend.outlook.graph_client import GraphClient, GraphError, GraphUnavailable
from calendar_backend.outlook.models import (
    AttendeeOut,
    CancelBody,
    DateTimeTimeZone,
    EmailAddress,
    EventCreate,
    EventMove,
    GraphEvent,
    ItemBody,
    LocationOut,
    OnlineMeeting,
)
from calendar_backend.provider import (
    BusyTime,
    CalendarUnavailable,
    CreatedEvent,
    EventNotFound,
    NewEvent,
    SyncedBusy,
    UpcomingEvent,
)

UTC_PREFERENCE = {"Prefer": 'outlook.timezone="UTC"'}
# The mailbox's default calendar, where the owner's own meetings land.
DEFAULT_CALENDAR_PATH = "/me/calendar"
VIEW_FIELDS = "id,subject,start,end,showAs,isAllDay,isCancelled,type,seriesMasterId,transactionId"
# A call's availability is one calendarView; a page this large keeps it one round trip for
# all but the busiest calendars (Graph allows $top up to 1000).
# free and workingElsewhere leave the owner bookable; everything else blocks.
BLOCKING = frozenset({"busy", "tentative", "oof", "unknown"})
_GONE = frozenset({"ErrorItemNotFound", "ErrorInvalidIdMalformed"})
# Extra time to look for an event whose create may have landed unheard, before failing.
RECONCILE_SECONDS = 2.0
_TRANSACTION_NS = uuid.UUID("6f1d3c52-2a4e-4a8f-9d0e-6a1b7e0f3c11")


def transaction_id(idempotency_key: str) -> str:
    """Graph's ``transactionId`` for a booking's idempotency key (stable, fixed length)."""
    return str(uuid.uuid5(_TRANSACTION_NS, idempotency_key))


def _calendar_path(calendar_id: str) -> str:
    return f"/me/calendars/{quote(calendar_id, safe='')}"


def _utc_param(instant: datetime) -> str:
    if instant.tzinfo is None:
        raise ValueError("naive datetime refused")
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class OutlookCalendar:
    """One Outlook calendar reached through Graph.

    ``owner_zone`` is the owner's IANA zone (``None`` when the mailbox does not name a
    real zone); ``teams_allowed`` whether the calendar allows Teams meetings. The owner's
    busy time elsewhere blocks booking too: on the default calendar unless
    ``books_on_default`` (their own meetings live there), and on ``blocking_calendar_ids``.
    ``synced`` (optional) answers the first busy-time read of the booking calendar from the
    synced copy when fresh (a Graph request saved at call start); later reads, the re-check
    before booking among them, always ask Graph.
    """

    def __init__(self, graph: GraphClient, calendar_id: str, *, owner_zone: str | None,
                 teams_allowed: bool, page_size: int = 250, books_on_default: bool = True,
                 blocking_calendar_ids: Sequence[str] = (),
                 synced: SyncedBusy | None = None) -> None:
        self._graph = graph
        self._synced = synced
        self._calendar_path = _calendar_path(calendar_id)
        self._owner_zone = owner_zone
        self._teams_allowed = teams_allowed
        self._page_size = page_size
        others = [] if books_on_default else [DEFAULT_CALENDAR_PATH]
        others += [_calendar_path(c) for c in blocking_calendar_ids if c != calendar_id]
        self._blocking_paths = list(dict.fromkeys(others))

    async def _view(self, start: datetime, end: datetime, budget_seconds: float | None = None,
                    *, calendar_path: str | None = None) -> list[GraphEvent]:
        items = await self._graph.get_all(
            f"{calendar_path or self._calendar_path}/calendarView",
            params={"startDateTime": _utc_param(start), "endDateTime": _utc_param(end),
                    "$select": VIEW_FIELDS, "$top": str(self._page_size)},
            headers=UTC_PREFERENCE, budget_seconds=budget_seconds,
        )
        return [GraphEvent.model_validate(item) for item in items]

    async def _blocking_view(self, start: datetime, end: datetime,
                             calendar_path: str) -> list[GraphEvent]:
        try:
            return await self._view(start, end, calendar_path=calendar_path)
        except GraphError as exc:
            # Booking over time we could not read could double-book the owner.
            raise CalendarUnavailable(f"a calendar whose busy time blocks booking cannot be "
                                      f"read ({exc.code}); see: booking-agent outlook "
                                      "calendars") from None

    async def busy_times(self, start: datetime, end: datetime) -> list[BusyTime]:
        """Blocking events overlapping ``[start, end)`` on the booking calendar and on the
        calendars whose busy time also counts (recurring series come expanded)."""
        copied = None
        if self._synced is not None:
            synced, self._synced = self._synced, None  # the first read only
            copied = await synced(start, end)
        own = self._view(start, end) if copied is None else _no_events()
        views = await asyncio.gather(
            own, *(self._blocking_view(start, end, path) for path in self._blocking_paths))
        seen: set[str] = set()
        busy = list(copied or [])
        for event in (e for view in views for e in view):
            show_as = event.show_as.lower()
            if event.is_cancelled or show_as not in BLOCKING or event.id in seen:
                continue
            seen.add(event.id)  # the default calendar may be reached by two paths
            busy.append(BusyTime(start=event.start.instant(), end=event.end.instant(),
                                 show_as=show_as))  # type: ignore[arg-type]
        return sorted(busy, key=lambda b: (b.start, b.end))

    async def upcoming_events(self, start: datetime, end: datetime) -> list[UpcomingEvent]:
        """The booking calendar's events overlapping ``[start, end)`` by start (recurring
        series expanded, cancelled ones left out), for the operator's listing."""
        try:
            view = await self._view(start, end)
        except GraphError as exc:
            raise _translate(exc) from None
        events = [UpcomingEvent(id=e.id, subject=e.subject or "", start=e.start.instant(),
                                end=e.end.instant(), all_day=e.is_all_day,
                                show_as=e.show_as.lower())
                  for e in view if not e.is_cancelled]
        return sorted(events, key=lambda e: (e.start, e.id))

    async def create_event(self, event: NewEvent) -> CreatedEvent:
        """Create the event with the caller invited; a retry finds the first one again."""
        txid = transaction_id(event.idempotency_key)
        teams = event.online_meeting and self._teams_allowed
        body = EventCreate(
            subject=event.subject,
            body=ItemBody(content=event.body),
            start=DateTimeTimeZone.utc(event.start),
            end=DateTimeTimeZone.utc(event.end),
            attendees=[AttendeeOut(email_address=EmailAddress(address=a.email, name=a.name))
                       for a in event.attendees],
            location=LocationOut(display_name=event.location) if event.location else None,
            is_online_meeting=True if teams else None,
            online_meeting_provider="teamsForBusiness" if teams else None,
            transaction_id=txid,
        )
        try:
            response = await self._graph.request("POST", f"{self._calendar_path}/events",
                                                 json=body.graph(), headers=UTC_PREFERENCE)
        except GraphUnavailable as exc:
            if not exc.maybe_applied:
                raise
            # An attempt may have created the event unheard: report the booking failed only
            # if the calendar really has no such event.
            try:
                found = await self._find(txid, event.start, event.end, RECONCILE_SECONDS)
            except CalendarUnavailable:
                raise exc from None
            if found is None:
                raise
            return _created(found)
        except GraphError as exc:
            if exc.code != "ErrorDuplicateTransactionId":
                raise CalendarUnavailable(f"Graph refused the event ({exc.code})") from None
            # The first attempt made the event but its answer was lost: find it again.
            found = await self._find(txid, event.start, event.end)
            if found is None:
                raise CalendarUnavailable("Graph reports the event exists but it was not "
                                          "found") from None
            return _created(found)
        return _created(GraphEvent.model_validate(response.json()))

    async def _find(self, txid: str, start: datetime, end: datetime,
                    budget_seconds: float | None = None) -> GraphEvent | None:
        events = await self._view(start, end, budget_seconds)
        return next((e for e in events if e.transaction_id == txid), None)

    async def find_event(self, idempotency_key: str, start: datetime,
                         end: datetime) -> CreatedEvent | None:
        """The event created with ``idempotency_key``, found by its ``transactionId`` among
        the events of ``[start, end)``; ``None`` if the calendar has none."""
        try:
            found = await self._find(transaction_id(idempotency_key), start, end)
            if found is None or found.is_cancelled:
                return None
            if not self._teams_allowed:
                return _created(found)
            # calendarView leaves the join link out: the event itself has it.
            item = await self._graph.get(f"/me/events/{quote(found.id, safe='')}",
                                         params={"$select": "id,onlineMeeting"})
        except GraphError as exc:
            raise CalendarUnavailable(f"Graph refused the look-up ({exc.code})") from None
        meeting = item.get("onlineMeeting")
        url = OnlineMeeting.model_validate(meeting).join_url if meeting else None
        return CreatedEvent(event_id=found.id, online_meeting_url=url)

    async def withdraw(self, idempotency_key: str, start: datetime, end: datetime,
                       message: str) -> bool:
        """Cancel the event a create reported as failed may still have made; True if found."""
        found = await self._find(transaction_id(idempotency_key), start, end)
        return await cancel_found(found.id if found else None, self.cancel_event, message)

    async def move_event(self, event_id: str, start: datetime, end: datetime) -> CreatedEvent:
        """Move the event (attendees get the update)."""
        body = EventMove(start=DateTimeTimeZone.utc(start), end=DateTimeTimeZone.utc(end))
        try:
            response = await self._graph.request(
                "PATCH", f"/me/events/{quote(event_id, safe='')}", json=body.graph(),
                headers=UTC_PREFERENCE)
        except GraphError as exc:
            raise _translate(exc) from None
        return _created(GraphEvent.model_validate(response.json()))

    async def cancel_event(self, event_id: str, message: str) -> None:
        """Cancel the event; attendees get ``message`` with the cancellation."""
        try:
            await self._graph.request(
                "POST", f"/me/events/{quote(event_id, safe='')}/cancel",
                json=CancelBody(comment=message).graph())
        except GraphError as exc:
            raise _translate(exc) from None

    async def time_zone(self) -> str | None:
        """The owner's IANA zone from their mailbox settings, if it names a real zone."""
        return self._owner_zone

    async def can_add_online_meeting(self) -> bool:
        """Whether this calendar allows Teams meetings."""
        return self._teams_allowed


async def _no_events() -> list[GraphEvent]:
    return []


def _created(event: GraphEvent) -> CreatedEvent:
    url = event.online_meeting.join_url if event.online_meeting else None
    return CreatedEvent(event_id=event.id, online_meeting_url=url)


def _translate(exc: GraphError) -> Exception:
    if exc.code in _GONE:
        return EventNotFound(f"the event is no longer on the calendar ({exc.code})")
    return CalendarUnavailable(f"Graph refused the change ({exc.code})")

"""The Google calendar adapter: :class:`CalendarProvider` on one Google calendar."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from datetime import date, datetime, time, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from calendar_backend.failed_creates import cancel_found
from calendar_backend.google.api_client import (
    CalendarApiClient,
    GoogleApiError,
    GoogleUnavailable,
)
from calendar_backend.google.models import (
    ApiEvent,
    AttendeeOut,
    ConferenceDataOut,
    CreateConferenceRequest,
    EventDateTime,
    EventInsert,
    EventMove,
    EventNote,
    FreeBusyItem,
    FreeBusyQuery,
    FreeBusyResponse,
    ListedEvent,
    ListedTime,
    rfc3339,
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

# Every write tells the attendees (the invite, the new time, the cancellation).
SEND_UPDATES = {"sendUpdates": "all"}
# Extra time to look for an event whose insert may have landed unheard, before failing.
RECONCILE_SECONDS = 2.0
# Google usually creates a Meet conference at once; when it answers "pending", look again
# this many times (this far apart) before booking without a link in hand.
CONFERENCE_LOOKS = 2
CONFERENCE_LOOK_SECONDS = 0.3
_GONE = frozenset({404, 410})
# The longest span one freeBusy query may cover.
FREE_BUSY_SPAN = timedelta(days=90)


def event_id(idempotency_key: str) -> str:
    """The event id for a booking's idempotency key: stable, so a retried insert is a duplicate.

    Google accepts client-chosen ids of base32hex characters (a-v, 0-9), 5 to 1024 long.
    """
    digest = hashlib.sha256(idempotency_key.encode()).digest()
    return base64.b32hexencode(digest).decode().rstrip("=").lower()


class GoogleCalendar:
    """One Google calendar reached through Calendar API v3.

    ``owner_zone`` is the calendar's IANA zone (``None`` when unknown); ``meet_allowed``
    whether the calendar can carry Google Meet conferences. ``synced`` (optional) answers the
    first busy-time read from the synced copy when fresh (a freeBusy request saved at call
    start); later reads, the re-check before booking in particular, ask Google.
    """

    def __init__(self, api: CalendarApiClient, calendar_id: str, *, owner_zone: str | None,
                 meet_allowed: bool, synced: SyncedBusy | None = None) -> None:
        self._synced = synced
        self._api = api
        self._calendar_id = calendar_id
        self._events_path = f"/calendars/{quote(calendar_id, safe='')}/events"
        self._owner_zone = owner_zone
        self._meet_allowed = meet_allowed

    def _event_path(self, google_id: str) -> str:
        return f"{self._events_path}/{quote(google_id, safe='')}"

    async def busy_times(self, start: datetime, end: datetime) -> list[BusyTime]:
        """Busy periods overlapping ``[start, end)`` from freeBusy.

        Google leaves out transparent ("free") events and expands recurring ones itself; it
        answers at most 90 days per query, so a longer look-ahead asks once per 90 days.
        """
        if self._synced is not None:
            synced, self._synced = self._synced, None  # the first read only
            copied = await synced(start, end)
            if copied is not None:
                return copied
        busy: list[BusyTime] = []
        while start < end:
            until = min(end, start + FREE_BUSY_SPAN)
            busy += await self._free_busy(start, until)
            start = until
        return busy

    async def _free_busy(self, start: datetime, end: datetime) -> list[BusyTime]:
        query = FreeBusyQuery(time_min=rfc3339(start), time_max=rfc3339(end),
                              items=[FreeBusyItem(id=self._calendar_id)])
        try:
            response = await self._api.request("POST", "/freeBusy", json=query.google())
        except GoogleApiError as exc:
            raise CalendarUnavailable(f"Google refused the busy-time query ({exc.reason})") \
                from None
        answer = FreeBusyResponse.model_validate(response.json())
        found = answer.calendars.get(self._calendar_id)
        if found is None or found.errors:
            reason = found.errors[0].reason if found and found.errors else "missing"
            raise CalendarUnavailable(f"Google gave no busy times for the calendar ({reason})")
        return [BusyTime(start=period.start, end=period.end) for period in found.busy]

    async def create_event(self, event: NewEvent) -> CreatedEvent:
        """Insert the event with the caller invited; a retry finds the first one again."""
        google_id = event_id(event.idempotency_key)
        meet = event.online_meeting and self._meet_allowed
        body = EventInsert(
            id=google_id,
            summary=event.subject,
            description=event.body,
            start=EventDateTime.utc(event.start),
            end=EventDateTime.utc(event.end),
            attendees=[AttendeeOut(email=a.email, display_name=a.name) for a in event.attendees],
            location=event.location,
            conference_data=ConferenceDataOut(create_request=CreateConferenceRequest(
                request_id=google_id)) if meet else None,
        )
        params = {**SEND_UPDATES, "conferenceDataVersion": "1"}
        try:
            response = await self._api.request("POST", self._events_path, params=params,
                                               json=body.google())
        except GoogleUnavailable as exc:
            if not exc.maybe_applied:
                raise
            # An attempt may have inserted the event unheard: report the booking failed only
            # if the calendar really has no such event.
            try:
                found = await self._get(google_id, RECONCILE_SECONDS)
            except CalendarUnavailable:
                raise exc from None
            if found is None:
                raise
            return await self._created(found)
        except GoogleApiError as exc:
            if exc.status != 409:
                raise CalendarUnavailable(f"Google refused the event ({exc.reason})") from None
            # An earlier attempt inserted it but its answer was lost: that event is ours.
            found = await self._get(google_id)
            if found is None:
                raise CalendarUnavailable("Google reports the event exists but it was not "
                                          "found") from None
            return await self._created(found)
        return await self._created(ApiEvent.model_validate(response.json()))

    async def _get(self, google_id: str, budget_seconds: float | None = None) -> ApiEvent | None:
        """The live event with this id, or ``None`` (never made, or deleted)."""
        try:
            data = await self._api.get(self._event_path(google_id),
                                       budget_seconds=budget_seconds)
        except GoogleApiError as exc:
            if exc.status in _GONE:
                return None
            raise CalendarUnavailable(f"Google refused the lookup ({exc.reason})") from None
        found = ApiEvent.model_validate(data)
        return None if found.status == "cancelled" else found

    async def _created(self, event: ApiEvent) -> CreatedEvent:
        """What to keep of the event: its id and the Meet link Google actually gave it."""
        for _ in range(CONFERENCE_LOOKS):
            if not event.conference_pending:
                break
            await asyncio.sleep(CONFERENCE_LOOK_SECONDS)
            try:
                event = await self._get(event.id, CONFERENCE_LOOK_SECONDS * 2) or event
            except CalendarUnavailable:
                break  # booked all the same; the link reaches the caller in the invite
        return CreatedEvent(event_id=event.id, online_meeting_url=event.meet_url)

    async def find_event(self, idempotency_key: str, start: datetime | None = None,
                         end: datetime | None = None) -> CreatedEvent | None:
        """The live event a booking with this key made, or ``None``.

        Its id is derived from the key, so ``start`` and ``end`` (where other calendars must
        search) are not needed: one ``events.get`` answers.
        """
        found = await self._get(event_id(idempotency_key))
        return None if found is None else CreatedEvent(event_id=found.id,
                                                       online_meeting_url=found.meet_url)

    async def withdraw(self, idempotency_key: str, start: datetime, end: datetime,
                       message: str) -> bool:
        """Cancel the event a create reported as failed may still have made; True if found."""
        found = await self._get(event_id(idempotency_key))
        return await cancel_found(found.id if found else None, self.cancel_event, message)

    async def move_event(self, event_id: str, start: datetime, end: datetime) -> CreatedEvent:
        """Move the event (attendees get the update)."""
        body = EventMove(start=EventDateTime.utc(start), end=EventDateTime.utc(end))
        try:
            response = await self._api.request("PATCH", self._event_path(event_id),
                                               params=SEND_UPDATES, json=body.google())
        except GoogleApiError as exc:
            raise _translate(exc) from None
        moved = ApiEvent.model_validate(response.json())
        if moved.status == "cancelled":
            raise EventNotFound("the event was cancelled on the calendar")
        return CreatedEvent(event_id=moved.id, online_meeting_url=moved.meet_url)

    async def cancel_event(self, event_id: str, message: str) -> None:
        """Delete the event; attendees get Google's cancellation, carrying ``message``.

        Google's delete takes no note, so the note replaces the description first (quietly)
        and the cancellation mail shows it.
        """
        try:
            await self._api.request("PATCH", self._event_path(event_id),
                                    params={"sendUpdates": "none"},
                                    json=EventNote(description=message).google())
            await self._api.request("DELETE", self._event_path(event_id), params=SEND_UPDATES)
        except GoogleApiError as exc:
            raise _translate(exc) from None

    async def upcoming_events(self, start: datetime, end: datetime) -> list[UpcomingEvent]:
        """The calendar's events overlapping ``[start, end)`` by start (events.list with
        ``singleEvents=true``: recurring series expanded; cancelled ones left out), for the
        operator's listing."""
        try:
            items = await self._api.get_all(self._events_path, params={
                "timeMin": rfc3339(start), "timeMax": rfc3339(end), "singleEvents": "true",
                "orderBy": "startTime", "maxResults": "250"})
        except GoogleApiError as exc:
            raise _translate(exc) from None
        zone = ZoneInfo(self._owner_zone or "UTC")
        events = []
        for item in items:
            event = ListedEvent.model_validate(item)
            if event.status == "cancelled":
                continue
            events.append(UpcomingEvent(
                id=event.id, subject=event.summary, start=_listed_instant(event.start, zone),
                end=_listed_instant(event.end, zone), all_day=event.start.date is not None,
                show_as="free" if event.transparency == "transparent" else "busy"))
        return events

    async def time_zone(self) -> str | None:
        """The owner's IANA zone, from the calendar's ``timeZone``."""
        return self._owner_zone

    async def can_add_online_meeting(self) -> bool:
        """Whether this calendar allows Google Meet conferences."""
        return self._meet_allowed


def _listed_instant(value: ListedTime, zone: ZoneInfo) -> datetime:
    """A listed start or end as an aware instant (an all-day date: midnight in ``zone``)."""
    if value.date_time is not None:
        return value.date_time if value.date_time.tzinfo else value.date_time.replace(
            tzinfo=zone)
    return datetime.combine(date.fromisoformat(value.date or "1970-01-01"), time(), zone)


def _translate(exc: GoogleApiError) -> Exception:
    if exc.status in _GONE:
        return EventNotFound(f"the event is no longer on the calendar ({exc.reason})")
    return CalendarUnavailable(f"Google refused the change ({exc.reason})")
